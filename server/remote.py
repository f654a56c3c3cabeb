"""Remote engines: completions from an OpenAI-compatible server or from Mistral's FIM API.

For users who run the model elsewhere (vLLM, SGLang, llama.cpp's server, `autan engine
--http` on a GPU box) or use Codestral through Mistral's API. Both clients stream like
`EngineClient.generate`: `Token` events (token_id -1: servers send text, not ids), then one
`Finished`; errors raise `RemoteError` (an `EngineError`). Cancel by cancelling the consuming task
or closing the generator: the HTTP connection is then aborted, which makes these servers stop
generating.

Everything sent passes through `autan.indexer.secrets.redact_secrets` first: code leaves the
machine here, and a credential in the buffer must not go with it.

Standard library only (asyncio streams, ssl): no HTTP client dependency in the LSP process.
`base_url` may be given with or without its trailing `/v1` (`http://gpu:8000/v1`,
`https://api.mistral.ai`). HTTP proxies are not supported.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from autan.indexer.secrets import redact_secrets
from autan.model.io.fim import FimFamily
from autan.wire.protocol import EngineError, Event, Finished, RequestStats, SamplingParams, Token

MAX_ERROR_BODY = 64 << 10
MAX_LINE = 4 << 20

ChunkReader = Callable[[dict[str, Any]], tuple[str, str | None]]


class RemoteError(EngineError):
    """A remote server refused, failed or timed out; `status` is the HTTP status (0: none)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Endpoint:
    """Where to POST: parsed once from the base URL."""

    https: bool
    host: str
    port: int
    root: str  # path prefix before /v1, without a trailing slash

    @classmethod
    def parse(cls, base_url: str) -> Endpoint:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        root = parts.path.rstrip("/")
        root = root[: -len("/v1")] if root.endswith("/v1") else root
        https = parts.scheme == "https"
        return cls(https, parts.hostname, parts.port or (443 if https else 80), root)


def redact(text: str) -> str:
    """`text` with every secret-looking span replaced (see autan.indexer.secrets)."""
    return redact_secrets(text)[0]


def _marker(names: tuple[str, ...]) -> str:
    """A control token's spelling as text: the variant without SentencePiece's '▁'."""
    return next((n for n in names if not n.startswith("▁")), names[0]) if names else ""


def fim_prompt_text(family: FimFamily, prefix: str, suffix: str) -> str:
    """The raw FIM prompt of `family` as text, for servers that tokenize special-token
    spellings (vLLM, SGLang, llama.cpp's /v1/completions); BOS is left to the server."""
    pre, suf, mid = _marker(family.prefix), _marker(family.suffix), _marker(family.middle)
    if family.suffix_first:
        return f"{suf}{suffix}{pre}{prefix}"
    return f"{pre}{prefix}{suf}{suffix}{mid}"


class _SseEngine:
    """POST a JSON body, read an SSE stream of JSON chunks; subclasses say what to send
    and where the text is in a chunk."""

    path = ""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *,
                 timeout_s: float = 60.0, connect_timeout_s: float = 10.0) -> None:
        self.endpoint = Endpoint.parse(base_url)
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s

    def _body(self, prompt: str, suffix: str | None, params: SamplingParams) -> dict[str, Any]:
        raise NotImplementedError

    def _chunk(self, chunk: dict[str, Any]) -> tuple[str, str | None]:
        """(text, finish_reason or None) of one streamed chunk."""
        raise NotImplementedError

    async def generate(self, prompt: str, params: SamplingParams | None = None,
                       suffix: str | None = None) -> AsyncIterator[Event]:
        """Stream a completion of `prompt` (the code before the cursor, or a raw prompt),
        with `suffix` (after the cursor) when the API takes one. Secrets are redacted."""
        params = params or SamplingParams()
        body = self._body(redact(prompt), None if suffix is None else redact(suffix), params)
        start = time.perf_counter()
        reader, writer, headers = await self._post(json.dumps(body).encode())
        try:
            stream = _Stream(start)
            async for data in _sse_data(_lines(self._body_bytes(reader, headers))):
                if data.strip() == "[DONE]":
                    break
                text = stream.feed(self._parse(data), self._chunk)
                if text:
                    yield Token(text, -1)
            yield stream.done()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError) as err:
            raise RemoteError(f"the response broke off: {err!r}") from None
        finally:
            writer.transport.abort()  # stops the server's generation on early exit

    def _parse(self, data: str) -> dict[str, Any]:
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError:
            raise RemoteError(f"not a JSON event: {data[:200]!r}") from None
        if not isinstance(chunk, dict):
            raise RemoteError(f"not a JSON object event: {data[:200]!r}")
        if chunk.get("error") or chunk.get("object") == "error":
            raise RemoteError(f"server error: {_error_message(chunk)}")
        return chunk

    async def _post(self, body: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter,
                                                dict[str, str]]:
        """Connect, send the request, and check the status; raises RemoteError on failure."""
        ep = self.endpoint
        ctx = ssl.create_default_context() if ep.https else None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                ep.host, ep.port, ssl=ctx, limit=MAX_LINE), self.connect_timeout_s)
        except (OSError, TimeoutError) as err:
            raise RemoteError(f"cannot reach {ep.host}:{ep.port}: {err!r}") from None
        try:
            writer.write(self._request_head(len(body)) + body)
            await writer.drain()
            status, headers = await self._timed(_read_head(reader))
            if status != 200:
                raise RemoteError(await self._error(status, reader, headers), status)
        except BaseException:
            writer.transport.abort()
            raise
        return reader, writer, headers

    def _request_head(self, length: int) -> bytes:
        ep = self.endpoint
        default_port = 443 if ep.https else 80
        host = ep.host if ep.port == default_port else f"{ep.host}:{ep.port}"
        lines = [f"POST {ep.root}{self.path} HTTP/1.1", f"Host: {host}",
                 "Content-Type: application/json", "Accept: text/event-stream",
                 f"Content-Length: {length}", "Connection: close", "User-Agent: autan"]
        if self.api_key:
            lines.append(f"Authorization: Bearer {self.api_key}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def _timed(self, awaitable: Any) -> Any:
        """Await with the idle timeout: a server silent this long is treated as gone."""
        try:
            return await asyncio.wait_for(awaitable, self.timeout_s)
        except TimeoutError:
            raise RemoteError(f"no answer in {self.timeout_s:g} s") from None

    async def _error(self, status: int, reader: asyncio.StreamReader,
                     headers: dict[str, str]) -> str:
        raw = b""
        async for piece in self._body_bytes(reader, headers):
            raw += piece
            if len(raw) > MAX_ERROR_BODY:
                break
        text = raw.decode("utf-8", "replace")
        try:
            detail = _error_message(json.loads(text))
        except (json.JSONDecodeError, AttributeError):
            detail = text[:500]
        return f"HTTP {status} from {self.endpoint.host}: {detail}"

    async def _body_bytes(self, reader: asyncio.StreamReader,
                          headers: dict[str, str]) -> AsyncIterator[bytes]:
        """The response body, de-chunked, each read bounded by the idle timeout."""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                size_line = await self._timed(reader.readline())
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    return
                yield await self._timed(reader.readexactly(size))
                await self._timed(reader.readexactly(2))
        remaining = int(headers.get("content-length", "-1"))
        while remaining != 0:
            piece = await self._timed(reader.read(65536 if remaining < 0 else
                                                  min(remaining, 65536)))
            if not piece:
                return
            remaining -= len(piece) if remaining > 0 else 0
            yield piece


class _Stream:
    """Accumulates one streamed completion: text, finish reason, usage and timings."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.parts: list[str] = []
        self.finish = "length"
        self.usage: dict[str, Any] = {}
        self.first: float | None = None

    def feed(self, chunk: dict[str, Any], pick: ChunkReader) -> str:
        text, finish = pick(chunk)
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        if finish:
            self.finish = {"model_length": "length"}.get(finish, finish)
        if text:
            self.first = self.first or time.perf_counter()
            self.parts.append(text)
        return text

    def done(self) -> Finished:
        now = time.perf_counter()
        first = self.first or now
        details = self.usage.get("prompt_tokens_details") or {}
        stats = RequestStats(prompt_tokens=int(self.usage.get("prompt_tokens") or 0),
                      reused_tokens=int(details.get("cached_tokens") or 0),
                      generated_tokens=int(self.usage.get("completion_tokens") or
                                           len(self.parts)),
                      ttft_ms=round((first - self.start) * 1000, 3),
                      decode_ms=round((now - first) * 1000, 3))
        return Finished("".join(self.parts), self.finish, stats)


class OpenAICompletionsEngine(_SseEngine):
    """`POST /v1/completions` with `stream: true`: vLLM, SGLang, llama.cpp, autan --http.

    With `fim_family`, `generate(prefix, suffix=...)` sends the raw FIM prompt of that
    family (what vLLM and SGLang need); without it a suffix is sent as the `suffix` field
    (OpenAI's own API and `autan engine --http` build the FIM prompt themselves).
    """

    path = "/v1/completions"

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *,
                 fim_family: FimFamily | None = None, timeout_s: float = 60.0,
                 connect_timeout_s: float = 10.0) -> None:
        super().__init__(base_url, model, api_key, timeout_s=timeout_s,
                         connect_timeout_s=connect_timeout_s)
        self.fim_family = fim_family

    def _body(self, prompt: str, suffix: str | None, params: SamplingParams) -> dict[str, Any]:
        stops = list(params.stop_strings)
        if suffix is not None and self.fim_family is not None:
            prompt, suffix = fim_prompt_text(self.fim_family, prompt, suffix), None
            stops += [s for s in self.fim_family.stop_strings if s not in stops]
        body: dict[str, Any] = {
            "model": self.model, "prompt": prompt, "max_tokens": params.max_tokens,
            "temperature": params.temperature, "top_p": params.top_p, "stream": True,
            "stream_options": {"include_usage": True}}
        if suffix is not None:
            body["suffix"] = suffix
        if stops:
            body["stop"] = stops
        if params.seed is not None:
            body["seed"] = params.seed
        return body

    def _chunk(self, chunk: dict[str, Any]) -> tuple[str, str | None]:
        choices = chunk.get("choices") or [{}]
        return str(choices[0].get("text") or ""), choices[0].get("finish_reason")


class MistralFimEngine(_SseEngine):
    """Mistral's `POST /v1/fim/completions` (Codestral): prompt and suffix are sent apart and
    the server lays out the FIM prompt; chunks look like chat deltas."""

    path = "/v1/fim/completions"

    def __init__(self, base_url: str, model: str, api_key: str, *, timeout_s: float = 60.0,
                 connect_timeout_s: float = 10.0) -> None:
        super().__init__(base_url, model, api_key, timeout_s=timeout_s,
                         connect_timeout_s=connect_timeout_s)

    def _body(self, prompt: str, suffix: str | None, params: SamplingParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model, "prompt": prompt, "suffix": suffix or "",
            "max_tokens": params.max_tokens, "temperature": params.temperature,
            "top_p": params.top_p, "stream": True}
        if params.stop_strings:
            body["stop"] = list(params.stop_strings)
        if params.seed is not None:
            body["random_seed"] = params.seed
        return body

    def _chunk(self, chunk: dict[str, Any]) -> tuple[str, str | None]:
        choice = (chunk.get("choices") or [{}])[0]
        content = (choice.get("delta") or {}).get("content") or ""
        if isinstance(content, list):  # newer API versions send typed content parts
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        return str(content), choice.get("finish_reason")


def _error_message(payload: Any) -> str:
    """The message of an OpenAI-, Mistral- or FastAPI-style error body."""
    if isinstance(payload, dict):
        error = payload.get("error", payload)
        if isinstance(error, dict):
            return str(error.get("message") or error.get("detail") or error)
        return str(payload.get("message") or payload.get("detail") or error)
    return str(payload)


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """The status code and lower-cased headers of a response."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        raise RemoteError("the server closed the connection before answering") from None
    except asyncio.LimitOverrunError:
        raise RemoteError("response headers too large") from None
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise RemoteError(f"not an HTTP response: {lines[0][:100]!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """Split a byte stream into text lines (LF or CRLF), however the chunks fall."""
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        if len(buffer) > MAX_LINE and b"\n" not in buffer:
            raise RemoteError("an event line is too long")
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            yield line.rstrip(b"\r").decode("utf-8", "replace")
    if buffer:
        yield buffer.rstrip(b"\r").decode("utf-8", "replace")


async def _sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The `data` of each server-sent event (multi-line data joined with newlines)."""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
            data = []
        elif line.startswith("data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)
