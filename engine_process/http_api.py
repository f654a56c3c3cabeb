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

Transport: an ASGI app (Starlette's requests and responses) that uvicorn's h11 protocol serves
from a task on the engine's own event loop, with HTTP/1.1 keep-alive for the clients that send
a request per keystroke. A body over MAX_BODY_BYTES is refused with 413 before it is read
whole. Streamed responses are SSE `data: {...}` events ending in `data: [DONE]`. A client that
disconnects, streaming or not, has its generation cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Message, Receive, Scope, Send

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
MAX_HEADER_BYTES = 64 << 10  # what the asyncio reader this replaced accepted
READ_TIMEOUT_S = 30.0  # for the body: a client that stalls mid-upload gets a 408
# Longer than the clients' own idle expiry (httpx: 5 s), so a client rarely reuses a
# connection at the moment the server drops it.
KEEP_ALIVE_S = 30
SHUTDOWN_GRACE_S = 3  # for responses in flight once the scheduler has ended their jobs
ROUTES = {"/health": "GET", "/v1/models": "GET", "/v1/completions": "POST"}
CLOSE_AFTER = {408, 413}  # the rest of such a request is not worth reading
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
CLIENT_GONE = 499  # the status nginx logs for it; the client never sees this response


class HttpError(Exception):
    """A request answered with an OpenAI-style error body."""

    def __init__(self, status: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.param = status, param


@dataclass(frozen=True)
class CompletionRequest:
    """A parsed /v1/completions body, ready for the scheduler."""

    prompt_ids: list[int]
    boundaries: list[int]
    params: SamplingParams
    stream: bool
    include_usage: bool


class HttpServer:
    """uvicorn serving the API from a task on the engine's loop: `close()` stops taking
    connections; `wait_closed()` lets the responses in flight end (bounded)."""

    def __init__(self, server: _EmbeddedServer, sockets: list[socket.socket], url: str) -> None:
        self.url = url
        self._server = server
        self._task = asyncio.create_task(server.serve(sockets), name="autan-http")
        self._task.add_done_callback(_report_crash)

    def close(self) -> None:
        self._server.should_exit = True

    async def wait_closed(self) -> None:
        done, _ = await asyncio.wait({self._task}, timeout=SHUTDOWN_GRACE_S + 1.0)
        if not done:
            self._task.cancel()


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (err := task.exception()) is not None:
        log.error("the HTTP server stopped", exc_info=err)


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the signals alone: the engine's loop already turns them
    into `service.stop()`, and uvicorn would replace those handlers and restore the defaults
    when it stops, so a second SIGTERM during shutdown would kill the process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def start_http(service: EngineService, host: str, port: int) -> HttpServer:
    """Listen on host:port (0: any free port) and serve from a task on the running loop."""
    _route_uvicorn_logs()
    sockets = _listen(host, port)
    try:
        config = uvicorn.Config(
            HttpApi(service), http="h11", ws="none", lifespan="off", log_config=None,
            access_log=False, proxy_headers=False, server_header=False, date_header=False,
            headers=[("Server", "autan")], timeout_keep_alive=KEEP_ALIVE_S,
            timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
            h11_max_incomplete_event_size=MAX_HEADER_BYTES)
        config.load()  # here, so a bad setting fails the start instead of the server task
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    shown = f"[{host}]" if ":" in host else host
    return HttpServer(_EmbeddedServer(config), sockets,
                      f"http://{shown}:{sockets[0].getsockname()[1]}")


def _listen(host: str, port: int) -> list[socket.socket]:
    """Listening sockets on each address `host` resolves to (as asyncio.start_server binds),
    all on one port: with port 0, the one the first socket got."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # else "::" would take the IPv4 port too
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if len(sockets) > 1:
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock.bind(address)
            sock.listen(2048)
            sock.setblocking(False)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class _ToModuleLog(logging.Handler):
    """uvicorn's own records, told through this module's logger: its chatter (startup,
    shutdown, connections) at debug, its warnings and errors as they are. Nothing reaches
    stdout, which carries the RPC stream under --stdio."""

    def emit(self, record: logging.LogRecord) -> None:
        level = record.levelno if record.levelno >= logging.WARNING else logging.DEBUG
        if log.isEnabledFor(level):
            log.log(level, "uvicorn: %s", record.getMessage(), exc_info=record.exc_info)


def _route_uvicorn_logs() -> None:
    root = logging.getLogger("uvicorn")  # the parent of uvicorn.error and uvicorn.access
    if not any(isinstance(h, _ToModuleLog) for h in root.handlers):
        root.addHandler(_ToModuleLog())
    root.propagate = False


class HttpApi:
    """The ASGI app. Its three routes are a table rather than Starlette routing, so 404 and
    405 keep their OpenAI-style bodies and messages and a trailing slash still matches."""

    def __init__(self, service: EngineService) -> None:
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # uvicorn runs with lifespan and websockets off
            return
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.service.touch(+1)  # a request in progress counts as a client for --idle-exit
        try:
            response = await self.dispatch(Request(scope, receive))
            await response(scope, receive, sending)
        finally:
            self.service.touch(-1)
            client = scope.get("client") or ("?", 0)
            log.debug('%s:%d "%s %s" %d', *client, scope["method"], scope["path"], status)

    async def dispatch(self, request: Request) -> Response:
        """Answer one request; every failure becomes a JSON error, never a dropped connection."""
        try:
            return await self._route(request)
        except HttpError as err:
            return _json(err.status, error_body(err.status, str(err), err.param))
        except ClientDisconnect:
            return Response(status_code=CLIENT_GONE)
        except Exception as err:  # a bug answers 500; the server goes on
            log.exception("HTTP request failed")
            return _json(500, error_body(500, f"internal error: {err!r}"))

    async def _route(self, request: Request) -> Response:
        path = request.scope["path"]  # not request.url: a bad Host header must not matter
        _check_declared_length(request)  # before routing, so a huge body is never awaited
        expected = ROUTES.get(path.rstrip("/") or "/")
        if expected is None:
            raise HttpError(404, f"no route {path}")
        if request.method != expected:
            raise HttpError(405, f"{path} takes {expected}")
        if path.startswith("/health"):
            return _json(200, self.service.health())
        if path.startswith("/v1/models"):
            return _json(200, models_body(self.service))
        completion = parse_completion(self.service, _json_object(await read_body(request)))
        run = _Run(self.service, completion)
        if completion.stream:
            return _EventStream(run, completion.include_usage)
        return await _respond_whole(run, request)


def _check_declared_length(request: Request) -> None:
    declared = request.headers.get("content-length")
    if declared is None:
        return
    try:
        length = int(declared)
    except ValueError:
        raise HttpError(400, "bad Content-Length") from None
    if not 0 <= length <= MAX_BODY_BYTES:
        raise _too_large()


def _too_large() -> HttpError:
    return HttpError(413, f"body larger than {MAX_BODY_BYTES} bytes")


async def read_body(request: Request) -> bytes:
    """The body, counted as it arrives: a chunked one (no Content-Length) is refused with 413
    as soon as it passes MAX_BODY_BYTES, without reading the rest."""
    parts: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(READ_TIMEOUT_S):
            async for part in request.stream():
                size += len(part)
                if size > MAX_BODY_BYTES:
                    raise _too_large()
                parts.append(part)
    except TimeoutError:
        raise HttpError(408, "request not received in time") from None
    return b"".join(parts)


def _json(status: int, body: dict[str, Any]) -> Response:
    headers = {"Connection": "close"} if status in CLOSE_AFTER else None
    return Response(json.dumps(body, ensure_ascii=False).encode(), status, headers,
                    media_type="application/json")


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


class _Run:
    """One completion on the scheduler, submitted at once; its replies reach `queue` on the
    loop. `abandon()` is called whenever its response stops, however it stops."""

    def __init__(self, service: EngineService, req: CompletionRequest) -> None:
        self.scheduler = service.scheduler
        self.queue: asyncio.Queue[Reply] = asyncio.Queue()
        self.meta = {"id": f"cmpl-{uuid.uuid4().hex}", "object": "text_completion",
                     "created": int(time.time()), "model": service.model_name}
        self.job = Job("generate", req.prompt_ids, req.boundaries, req.params,
                       service.threadsafe(self._deliver))
        self.ended = False
        self.abandoned = False
        try:
            self.scheduler.submit(self.job)
        except ProtocolError as err:
            raise HttpError(503, str(err)) from None
        log.debug("%s: queued, %d prompt tokens, at most %d new", self.meta["id"],
                  len(req.prompt_ids), req.params.max_tokens)

    def _deliver(self, reply: Reply) -> None:
        if isinstance(reply, Finished | Failed):
            self.ended = True
            if self.abandoned:  # the scheduler's word that the job is over
                outcome = reply.finish_reason if isinstance(reply, Finished) else "failed"
                tokens = reply.stats.generated_tokens if isinstance(reply, Finished) else 0
                log.debug("%s: its client went away; ended %s after %d tokens",
                          self.meta["id"], outcome, tokens)
        self.queue.put_nowait(reply)

    def abandon(self) -> None:
        """The response is over: a job still running has lost its reader, so cancel it."""
        if not self.ended and not self.abandoned:
            self.abandoned = True
            self.scheduler.cancel(self.job)


def _choice(text: str, finish_reason: str | None) -> dict[str, Any]:
    if finish_reason == "cancelled":
        finish_reason = "stop"
    return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason}


def _usage(done: Finished) -> dict[str, Any]:
    s = done.stats
    return {"prompt_tokens": s.prompt_tokens, "completion_tokens": s.generated_tokens,
            "total_tokens": s.prompt_tokens + s.generated_tokens,
            "prompt_tokens_details": {"cached_tokens": s.reused_tokens}}


async def _respond_whole(run: _Run, request: Request) -> Response:
    """Wait for the end of the run or of the client, whichever comes first."""
    final = asyncio.ensure_future(_final_reply(run.queue))
    gone = asyncio.ensure_future(_disconnected(request.receive))
    try:
        await asyncio.wait({final, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        final.cancel()
        gone.cancel()
        run.abandon()
    if not final.done() or final.cancelled():
        raise ClientDisconnect
    reply = final.result()
    if isinstance(reply, Failed):
        return _json(500, error_body(500, reply.message))
    return _json(200, {**run.meta, "choices": [_choice(reply.text, reply.finish_reason)],
                       "usage": _usage(reply)})


async def _final_reply(queue: asyncio.Queue[Reply]) -> Finished | Failed:
    while True:
        reply = await queue.get()
        if isinstance(reply, Finished | Failed):
            return reply


async def _disconnected(receive: Receive) -> None:
    """Returns when the client closes the connection (the body has been read already)."""
    while (await receive())["type"] != "http.disconnect":
        pass


class _EventStream(StreamingResponse):
    """The SSE response of one run; when it stops (done, client gone, server shutting down),
    the run is abandoned, which cancels a generation that nobody reads any more."""

    def __init__(self, run: _Run, include_usage: bool) -> None:
        super().__init__(_events(run, include_usage), headers=SSE_HEADERS)
        self.run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)  # ends early when the client goes
        finally:
            self.run.abandon()


async def _events(run: _Run, include_usage: bool) -> AsyncIterator[bytes]:
    """A chunk per released text, the finish, the usage when asked, then [DONE]."""
    usage_field = {"usage": None} if include_usage else {}
    while True:
        reply = await run.queue.get()
        if isinstance(reply, Token):
            if reply.text:
                yield _event({**run.meta, "choices": [_choice(reply.text, None)],
                              **usage_field})
            continue
        if isinstance(reply, Failed):
            yield _event(error_body(500, reply.message))
        else:
            yield _event({**run.meta, "choices": [_choice("", reply.finish_reason)],
                          **usage_field})
            if include_usage:
                yield _event({**run.meta, "choices": [], "usage": _usage(reply)})
        yield b"data: [DONE]\n\n"
        return


def _event(payload: dict[str, Any]) -> bytes:
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return f"data: {data}\n\n".encode()
