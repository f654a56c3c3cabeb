"""Remote engines: completions from an OpenAI-compatible server or from Mistral's FIM API.

For users who run the model elsewhere (vLLM, SGLang, llama.cpp's server, `autan engine
--http` on a GPU box) or use Codestral through Mistral's API. Both clients stream like
`EngineClient.generate`: `Token` events (token_id -1: servers send text, not ids), then one
`Finished`; errors raise `RemoteError` (an `EngineError`). Cancel by cancelling the consuming task
or closing the generator: the HTTP connection is then closed, not kept for reuse, which makes
these servers stop generating.

Everything sent passes through `autan.indexer.secrets.redact_secrets` first: code leaves the
machine here, and a credential in the buffer must not go with it.

HTTP is httpx, server-sent events are parsed by httpx-sse. Each engine holds one client, so a
server that keeps connections alive is reached without a new handshake per completion; the
engine's owner ends it with `aclose()`. Read from the environment when an engine is made, as
curl and pip do:
- proxies: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` (also lower-case) and `NO_PROXY`, through
  httpx's `trust_env` (http and https proxies; SOCKS needs the optional `socksio` package);
- CA certificates: `SSL_CERT_FILE` and `SSL_CERT_DIR`, else the system's store.
`base_url` may be given with or without its trailing `/v1` (`http://gpu:8000/v1`,
`https://api.mistral.ai`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import ssl
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from httpx_sse import EventSource, SSEError

from autan.indexer.secrets import redact_secrets
from autan.model.io.fim import FimFamily
from autan.wire.protocol import EngineError, Event, Finished, RequestStats, SamplingParams, Token

MAX_ERROR_BODY = 64 << 10
MAX_LINE = 4 << 20
# After `[DONE]` the body should end at once; reading that end lets the connection be reused,
# but a server that leaves the stream open must not hold a finished completion back.
DRAIN_S = 1.0
RETRY_BACKOFF_S = 0.5  # waits before connect retries: 0, 0.5 s, 1 s, 2 s...

ChunkReader = Callable[[dict[str, Any]], tuple[str, str | None]]


class RemoteError(EngineError):
    """A remote server refused, failed or timed out; `status` is the HTTP status (0: none)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


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


def post_url(base_url: str, path: str) -> httpx.URL:
    """Where to POST `path` (which starts with /v1) on the server at `base_url`."""
    url = httpx.URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"not an http(s) URL: {base_url!r}")
    root = url.path.rstrip("/")
    root = root[: -len("/v1")] if root.endswith("/v1") else root
    return url.copy_with(path=root + path, query=None, fragment=None)


def ssl_context() -> ssl.SSLContext:
    """Certificate checks against `SSL_CERT_FILE` and/or `SSL_CERT_DIR` when set (a company
    CA bundle), else the system's store, where IT departments install their CAs. httpx's own
    default would be certifi's bundle only; it is the fallback for a Python whose system store
    is empty (python.org's macOS builds)."""
    cafile = os.environ.get("SSL_CERT_FILE") or None
    capath = os.environ.get("SSL_CERT_DIR") or None
    try:
        ctx = ssl.create_default_context(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as err:
        raise ValueError(f"cannot load SSL_CERT_FILE={cafile} / SSL_CERT_DIR={capath}: "
                         f"{err}") from None
    if cafile is None and capath is None and not ctx.get_ca_certs():
        import certifi  # httpx's own dependency: always there when httpx is

        ctx.load_verify_locations(cafile=certifi.where())
    return ctx


class _LineLimit(httpx.AsyncByteStream):
    """A response body that fails on a line longer than MAX_LINE: httpx-sse buffers a line
    until it ends, and a server that never ends one must not fill the memory."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self.inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        run = 0  # bytes since the last line break
        async for chunk in self.inner:
            cut = max(chunk.rfind(b"\n"), chunk.rfind(b"\r"))
            run = len(chunk) - cut - 1 if cut >= 0 else run + len(chunk)
            if run > MAX_LINE:
                raise RemoteError("an event line is too long")
            yield chunk

    async def aclose(self) -> None:
        await self.inner.aclose()


class _SseEngine:
    """POST a JSON body, read an SSE stream of JSON chunks; subclasses say what to send
    and where the text is in a chunk."""

    path = ""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *,
                 timeout_s: float = 60.0, connect_timeout_s: float = 10.0,
                 retries: int = 2) -> None:
        """`connect_timeout_s` bounds each connection attempt: TCP connect and TLS handshake
        (to the proxy, when one is used), and the wait for a free pooled connection.
        `timeout_s` is the longest silence tolerated once connected: while sending the
        request, until the response starts, and between two streamed chunks (so a long
        completion never times out while tokens keep coming). `retries`: further attempts
        when connecting fails (refused, unreachable, timed out); a request that was sent is
        never sent again, since the server may already be generating for it."""
        self.url = post_url(base_url, self.path)
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.retries = retries
        timeout = httpx.Timeout(connect=connect_timeout_s, read=timeout_s, write=timeout_s,
                                pool=connect_timeout_s)
        # Retries are done here rather than by httpx.AsyncHTTPTransport(retries=...): giving
        # AsyncClient a transport turns off its proxies from the environment, and httpx's
        # proxy transports ignore `retries`.
        # No redirects: one would send the code to a server nobody configured.
        self._client = httpx.AsyncClient(timeout=timeout, verify=ssl_context(), trust_env=True,
                                         follow_redirects=False)

    @property
    def where(self) -> str:
        """host:port of the server, for messages."""
        return f"{self.url.host}:{self.url.port or (443 if self.url.scheme == 'https' else 80)}"

    async def aclose(self) -> None:
        """Close the kept-alive connections; the engine cannot be used afterwards."""
        await self._client.aclose()

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
        stream = _Stream(time.perf_counter())
        response = await self._post(json.dumps(body).encode())
        try:
            events = self._events(response)
            async with contextlib.aclosing(events):
                async for data in events:
                    if data.strip() == "[DONE]":
                        await self._drain(events)
                        break
                    text = stream.feed(self._parse(data), self._chunk)
                    if text:
                        yield Token(text, -1)
            yield stream.done()
        finally:
            # Before the body's end this closes the connection, which is what stops the
            # server generating for a cancelled or abandoned request.
            await response.aclose()

    async def _events(self, response: httpx.Response) -> AsyncIterator[str]:
        """The `data` of each server-sent event with data, errors turned into RemoteError."""
        response.stream = _LineLimit(response.stream)  # type: ignore[arg-type]
        try:
            async for sse in EventSource(response).aiter_sse():
                if sse.data:
                    yield sse.data
        except SSEError as err:
            raise RemoteError(f"{self.where} did not answer with an event stream: {err}"
                              ) from None
        except httpx.TimeoutException:
            raise RemoteError(f"no answer in {self.timeout_s:g} s") from None
        except httpx.RequestError as err:
            raise RemoteError(f"the response broke off: {err!r}") from None

    @staticmethod
    async def _drain(events: AsyncIterator[str]) -> None:
        """Read to the end of the body after `[DONE]` (briefly), so that the connection can
        be kept for the next request; what is left or failing there does not matter."""
        with contextlib.suppress(RemoteError, TimeoutError):
            async with asyncio.timeout(DRAIN_S):
                async for _ in events:
                    pass

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

    async def _post(self, body: bytes) -> httpx.Response:
        """Send the request and check the status: a streaming 200 response, else RemoteError."""
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream",
                   "User-Agent": "autan",
                   # Uncompressed: tokens must not wait in a decompressor's buffer, and the
                   # size limits apply to what the server actually sends.
                   "Accept-Encoding": "identity"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if self._client.is_closed:
            raise RemoteError("this remote engine was closed")
        request = self._client.build_request("POST", self.url, content=body, headers=headers)
        try:
            response = await self._send(request)
        except httpx.ProxyError as err:
            raise RemoteError(f"the proxy refused to reach {self.where}: {err}") from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as err:
            raise RemoteError(f"cannot reach {self.where}: {err!r}") from None
        except httpx.TimeoutException:
            raise RemoteError(f"no answer in {self.timeout_s:g} s") from None
        except httpx.RequestError as err:
            raise RemoteError(f"the request to {self.where} failed: {err!r}") from None
        if response.status_code == 200:
            return response
        try:
            raise RemoteError(await self._error(response), response.status_code)
        finally:
            await response.aclose()

    async def _send(self, request: httpx.Request) -> httpx.Response:
        """`request` sent, retried only while no connection could be made: a connect error
        means nothing of it reached the server."""
        attempt = 0
        while True:
            try:
                return await self._client.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                if attempt >= self.retries:
                    raise
            await asyncio.sleep(RETRY_BACKOFF_S * 2 ** (attempt - 1) if attempt else 0.0)
            attempt += 1

    async def _error(self, response: httpx.Response) -> str:
        """One line from an error response: its message, from at most MAX_ERROR_BODY bytes."""
        raw = b""
        with contextlib.suppress(httpx.RequestError):  # a partial body still says something
            async for piece in response.aiter_raw():
                raw += piece
                if len(raw) > MAX_ERROR_BODY:
                    break
        text = raw[:MAX_ERROR_BODY].decode("utf-8", "replace")
        try:
            detail = _error_message(json.loads(text))
        except (json.JSONDecodeError, AttributeError):
            detail = text[:500]
        return f"HTTP {response.status_code} from {self.url.host}: {detail}"


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
                 connect_timeout_s: float = 10.0, retries: int = 2) -> None:
        super().__init__(base_url, model, api_key, timeout_s=timeout_s,
                         connect_timeout_s=connect_timeout_s, retries=retries)
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
                 connect_timeout_s: float = 10.0, retries: int = 2) -> None:
        super().__init__(base_url, model, api_key, timeout_s=timeout_s,
                         connect_timeout_s=connect_timeout_s, retries=retries)

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
