"""OpenAI-compatible HTTP front end of `autan engine --http HOST:PORT`.

Routes: `POST /v1/completions` (prompt, suffix, max_tokens, temperature, top_p, stop, seed,
stream with `stream_options.include_usage`), `GET /v1/models`, `GET /health`. This lets tools
that speak the OpenAI completions API (and autan's own `OpenAICompletionsEngine`) use a local
autan engine; it runs on the engine's event loop and shares its scheduler and prefix cache with
the msgpack clients.

Prompts: a string is tokenized with its special-token spellings parsed (as vLLM does), so a
client may send a raw FIM prompt; a BOS is added when the tokenizer has one. With `suffix`,
the prompt is the code before the cursor and the FIM prompt is laid out for the model's family
by `autan.model.io.fim`. A prompt may also be a list of token ids.

Standard library only (asyncio streams): one request per connection (`Connection: close`),
streamed responses use chunked transfer encoding with SSE `data: {...}` events and a final
`data: [DONE]`. A client that disconnects has its generation cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from autan.engine_process.rpc_server import EngineService, Job
from autan.model.io.fim import build_fim_prompt
from autan.wire.protocol import (
    MAX_NEW_TOKENS,
    Failed,
    Finished,
    ProtocolError,
    Reply,
    SamplingParams,
    Token,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 32 << 20
READ_TIMEOUT_S = 30.0


class HttpError(Exception):
    """A request answered with an OpenAI-style error body."""

    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.param = status, param


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class CompletionRequest:
    """A parsed /v1/completions body, ready for the scheduler."""

    prompt_ids: list[int]
    boundaries: list[int]
    params: SamplingParams
    stream: bool
    include_usage: bool


async def start_http(service: EngineService, host: str,
                     port: int) -> tuple[asyncio.AbstractServer, str]:
    """Listen on host:port (0: any free port); returns the server and its base URL."""

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        service.touch(+1)
        try:
            await _handle(service, reader, writer)
        finally:
            service.touch(-1)

    server = await asyncio.start_server(on_connect, host, port)
    bound_port = server.sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return server, f"http://{shown}:{bound_port}"


async def _handle(service: EngineService, reader: asyncio.StreamReader,
                  writer: asyncio.StreamWriter) -> None:
    """Answer one request; every failure becomes a JSON error, never a dropped connection."""
    try:
        request = await asyncio.wait_for(read_request(reader), READ_TIMEOUT_S)
        await _route(service, request, reader, writer)
    except HttpError as err:
        await _send_json(writer, err.status, error_body(err.status, str(err), err.param))
    except TimeoutError:
        await _send_json(writer, 408, error_body(408, "request not received in time"))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    except Exception as err:  # a bug answers 500; the server goes on
        log.exception("HTTP request failed")
        with contextlib.suppress(ConnectionError, RuntimeError):
            await _send_json(writer, 500, error_body(500, f"internal error: {err!r}"))
    finally:
        with contextlib.suppress(ConnectionError, RuntimeError):
            writer.close()


async def read_request(reader: asyncio.StreamReader) -> HttpRequest:
    """Parse the request line, headers and a Content-Length body."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise HttpError(431, "request headers too large") from None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, "malformed request line")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise HttpError(411, "send the body with a Content-Length")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise HttpError(400, "bad Content-Length") from None
    if not 0 <= length <= MAX_BODY_BYTES:
        raise HttpError(413, f"body larger than {MAX_BODY_BYTES} bytes")
    body = await reader.readexactly(length)
    return HttpRequest(parts[0].upper(), parts[1].split("?", 1)[0], headers, body)


async def _route(service: EngineService, request: HttpRequest, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
    routes = {"/health": "GET", "/v1/models": "GET", "/v1/completions": "POST"}
    expected = routes.get(request.path.rstrip("/") or "/")
    if expected is None:
        raise HttpError(404, f"no route {request.path}")
    if request.method != expected:
        raise HttpError(405, f"{request.path} takes {expected}")
    if request.path.startswith("/health"):
        await _send_json(writer, 200, service.health())
    elif request.path.startswith("/v1/models"):
        await _send_json(writer, 200, models_body(service))
    else:
        body = _json_object(request.body)
        completion = parse_completion(service, body)
        await _complete(service, completion, reader, writer)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise HttpError(400, f"body is not JSON: {err}") from None
    if not isinstance(value, dict):
        raise HttpError(400, "body must be a JSON object")
    return value


def models_body(service: EngineService) -> dict[str, Any]:
    created = int(time.time() - (time.monotonic() - service.started))
    return {"object": "list", "data": [{"id": service.model_name, "object": "model",
                                        "created": created, "owned_by": "autan"}]}


def error_body(status: int, message: str, param: str | None = None) -> dict[str, Any]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": param, "code": None}}


def _field(body: dict[str, Any], name: str, kinds: tuple[type, ...], default: Any) -> Any:
    """`body[name]` if present and of one of `kinds` (null: the default), else a 400."""
    value = body.get(name)
    if value is None:
        return default
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        raise HttpError(400, f"'{name}' has the wrong type", name)
    return value


def _refuse_unsupported(body: dict[str, Any]) -> None:
    """Options that would change the answer's shape are refused, not silently ignored."""
    if _field(body, "n", (int,), 1) != 1 or _field(body, "best_of", (int,), 1) != 1:
        raise HttpError(400, "only n = 1 is supported", "n")
    if _field(body, "echo", (bool,), False):
        raise HttpError(400, "echo is not supported", "echo")
    if body.get("logprobs"):
        raise HttpError(400, "logprobs are not supported", "logprobs")


def parse_completion(service: EngineService, body: dict[str, Any]) -> CompletionRequest:
    """Turn an OpenAI completions body into token ids, boundaries and sampling params."""
    _refuse_unsupported(body)
    stop = _field(body, "stop", (str, list), [])
    stop = [stop] if isinstance(stop, str) else stop
    if not all(isinstance(s, str) for s in stop):
        raise HttpError(400, "'stop' must be a string or a list of strings", "stop")
    ids, boundaries, stop_ids, fim_stops = _prompt(service, body)
    params = SamplingParams(
        max_tokens=_field(body, "max_tokens", (int,), 16),
        temperature=float(_field(body, "temperature", (int, float), 1.0)),
        top_p=float(_field(body, "top_p", (int, float), 1.0)),
        stop_strings=tuple(dict.fromkeys([*stop, *fim_stops])),
        stop_ids=tuple(stop_ids),
        seed=_field(body, "seed", (int,), None),
    )
    if not 0 <= params.max_tokens <= MAX_NEW_TOKENS:
        raise HttpError(400, f"max_tokens must be in 0..{MAX_NEW_TOKENS}", "max_tokens")
    if params.temperature < 0 or not 0 < params.top_p <= 1:
        raise HttpError(400, "temperature or top_p out of range")
    try:
        service.check_prompt(ids, boundaries, None)
    except ProtocolError as err:
        raise HttpError(400, str(err), "prompt") from None
    options = _field(body, "stream_options", (dict,), {})
    return CompletionRequest(ids, boundaries, params, bool(_field(body, "stream", (bool,),
                             False)), bool(options.get("include_usage", False)))


def _prompt(service: EngineService,
            body: dict[str, Any]) -> tuple[list[int], list[int], list[int], list[str]]:
    """(ids, boundaries, stop ids, extra stop strings) for the body's prompt and suffix."""
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str | list):
        prompt = prompt[0]  # a batch of one
    suffix = _field(body, "suffix", (str,), None)
    tokenizer = service.engine.tokenizer
    assert tokenizer is not None
    eos = list(tokenizer.eos_ids)
    if isinstance(prompt, list) and all(isinstance(i, int) and not isinstance(i, bool)
                                        for i in prompt):
        return list(prompt), [], eos, []
    if not isinstance(prompt, str):
        raise HttpError(400, "'prompt' must be a string or a list of token ids", "prompt")
    family = service.family
    if suffix is not None:
        if family is None:
            raise HttpError(400, "this model has no fill-in-the-middle tokens", "suffix")
        fim = build_fim_prompt(family, tokenizer, prompt, suffix)
        return fim.ids, fim.boundaries, [*eos, *fim.stop_ids], fim.stop_strings
    ids = tokenizer.encode(prompt, parse_special=True)
    if tokenizer.bos_id is not None and ids[:1] != [tokenizer.bos_id]:
        ids = [tokenizer.bos_id, *ids]
    if family is not None:  # a raw FIM prompt: stop where the family's completions end
        names = (*family.prefix, *family.suffix, *family.middle)
        markers = {tokenizer.token_id(name) for name in names} - {None}
        if markers & set(ids):
            eos = [*eos, *build_fim_prompt(family, tokenizer, "", "").stop_ids]
    return ids, [], eos, []


async def _complete(service: EngineService, req: CompletionRequest,
                    reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Run the request; cancel it if the client goes away before the end."""
    queue: asyncio.Queue[Reply] = asyncio.Queue()
    job = Job("generate", req.prompt_ids, req.boundaries, req.params,
              service.threadsafe(queue.put_nowait))
    try:
        service.scheduler.submit(job)
    except ProtocolError as err:
        raise HttpError(503, str(err)) from None
    watcher = asyncio.create_task(reader.read(1))  # returns when the client closes
    watcher.add_done_callback(lambda _: service.scheduler.cancel(job))
    meta = {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion",
            "created": int(time.time()), "model": service.model_name}
    try:
        if req.stream:
            await _stream(queue, meta, req.include_usage, writer)
        else:
            await _respond_whole(queue, meta, writer)
    except ConnectionError:
        service.scheduler.cancel(job)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await watcher


def _choice(text: str, finish_reason: str | None) -> dict[str, Any]:
    if finish_reason == "cancelled":
        finish_reason = "stop"
    return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}


def _usage(done: Finished) -> dict[str, Any]:
    s = done.stats
    return {"prompt_tokens": s.prompt_tokens, "completion_tokens": s.generated_tokens,
            "total_tokens": s.prompt_tokens + s.generated_tokens,
            "prompt_tokens_details": {"cached_tokens": s.reused_tokens}}


async def _respond_whole(queue: asyncio.Queue[Reply], meta: dict[str, Any],
                         writer: asyncio.StreamWriter) -> None:
    while True:
        reply = await queue.get()
        if isinstance(reply, Failed):
            await _send_json(writer, 500, error_body(500, reply.message))
            return
        if isinstance(reply, Finished):
            body = {**meta, "choices": [_choice(reply.text, reply.finish_reason)],
                    "usage": _usage(reply)}
            await _send_json(writer, 200, body)
            return


async def _stream(queue: asyncio.Queue[Reply], meta: dict[str, Any], include_usage: bool,
                  writer: asyncio.StreamWriter) -> None:
    """SSE over chunked encoding: a chunk per released text, the finish, usage, [DONE]."""
    usage_field = {"usage": None} if include_usage else {}
    _write_head(writer, 200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                              "Transfer-Encoding": "chunked"})
    while True:
        reply = await queue.get()
        if isinstance(reply, Token):
            if reply.text:
                await _event(writer, {**meta, "choices": [_choice(reply.text, None)],
                                      **usage_field})
            continue
        if isinstance(reply, Failed):
            await _event(writer, error_body(500, reply.message))
        else:
            await _event(writer, {**meta, "choices": [_choice("", reply.finish_reason)],
                                  **usage_field})
            if include_usage:
                await _event(writer, {**meta, "choices": [], "usage": _usage(reply)})
        await _chunk(writer, b"data: [DONE]\n\n")
        await _chunk(writer, b"")
        return


async def _event(writer: asyncio.StreamWriter, payload: dict[str, Any]) -> None:
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    await _chunk(writer, f"data: {data}\n\n".encode())


async def _chunk(writer: asyncio.StreamWriter, data: bytes) -> None:
    """One chunk of a chunked body; empty data writes the terminating chunk."""
    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
    await writer.drain()


def _write_head(writer: asyncio.StreamWriter, status: int, headers: dict[str, str]) -> None:
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", "Connection: close",
             "Server: autan", *(f"{k}: {v}" for k, v in headers.items())]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))


async def _send_json(writer: asyncio.StreamWriter, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    _write_head(writer, status, {"Content-Type": "application/json",
                                 "Content-Length": str(len(data))})
    writer.write(data)
    with contextlib.suppress(ConnectionError):
        await writer.drain()
