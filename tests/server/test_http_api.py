"""`autan engine --http`: the official `openai` client and raw HTTP against a real engine
process on 127.0.0.1, streaming and not, FIM through `suffix`, errors in OpenAI's shape,
keep-alive, the body limit; and, against an engine served in this process (so its log can be
awaited), a client that hangs up cancelling its generation and a shutdown mid-stream."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import logging
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import openai
import pytest

from autan.engine_process import http_api
from autan.engine_process.rpc_server import EngineService, ServeConfig, serve
from autan.model.io.fim import FimFamily, build_fim_prompt, detect_family
from autan.model.io.loader import load_model
from autan.model.io.tokenizer import Tokenizer
from autan.model.runtime.engine import Engine, EngineOptions
from tests.server.test_engine_process import demo_model, engine_process, run, wait_for_line

TIMEOUT_S = 120.0


@contextmanager
def http_engine(model_dir: Path, log: Path) -> Iterator[str]:
    """`autan engine --http 127.0.0.1:0`; yields its base URL (the port it picked)."""
    with engine_process("--model", str(model_dir), "--http", "127.0.0.1:0", log=log) as proc:
        line = wait_for_line(log, "autan engine: http ", proc)
        yield line.rsplit(" ", 1)[1].strip()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_model(tmp_path_factory)


@pytest.fixture(scope="module")
def base_url(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with http_engine(model_dir, tmp_path_factory.mktemp("http") / "engine.log") as url:
        yield url


@pytest.fixture
def client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="x", timeout=TIMEOUT_S,
                         max_retries=0)


def post(base_url: str, body: bytes | dict[str, Any],
         method: str = "POST", path: str = "/v1/completions") -> tuple[int, dict[str, Any]]:
    """Status and JSON body of a plain (non-streaming) request."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data if method == "POST" else None,
                                     method=method)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_listens_only_where_it_was_told(base_url: str) -> None:
    assert base_url.startswith("http://127.0.0.1:") and urlsplit(base_url).port


def test_openai_client_completion_and_stream_agree(client: openai.OpenAI,
                                                   model_dir: Path) -> None:
    args: dict[str, Any] = {"model": model_dir.name, "prompt": "def add(a, b):",
                            "max_tokens": 8, "temperature": 0}
    whole = client.completions.create(**args)
    choice = whole.choices[0]
    assert whole.object == "text_completion" and whole.model == model_dir.name
    assert choice.finish_reason in ("length", "stop") and choice.text
    assert whole.usage is not None and 0 < whole.usage.completion_tokens <= 8
    assert whole.usage.prompt_tokens > 0
    chunks = list(client.completions.create(**args, stream=True))
    assert "".join(c.choices[0].text for c in chunks) == choice.text
    assert [c.choices[0].finish_reason for c in chunks][-1] == choice.finish_reason
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])


def test_stream_reports_usage_when_asked(client: openai.OpenAI, model_dir: Path) -> None:
    chunks = list(client.completions.create(
        model=model_dir.name, prompt="import os\n", max_tokens=5, temperature=0, stream=True,
        stream_options={"include_usage": True}))
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens <= 5
    assert all(c.usage is None for c in chunks[:-1])


def test_suffix_builds_the_models_fim_prompt(client: openai.OpenAI, model_dir: Path) -> None:
    prefix, suffix = "def area(r):\n    return ", "\n\nprint(area(2))\n"
    tokenizer = Tokenizer.from_dir(model_dir)
    config = json.loads((model_dir / "config.json").read_text())
    family = detect_family(tokenizer, config)
    assert family is not None
    expected = build_fim_prompt(family, tokenizer, prefix, suffix)
    result = client.completions.create(model=model_dir.name, prompt=prefix, suffix=suffix,
                                       max_tokens=4, temperature=0)
    assert result.usage is not None and result.usage.prompt_tokens == len(expected.ids)


def test_token_id_prompts_are_used_as_they_are(client: openai.OpenAI, model_dir: Path) -> None:
    result = client.completions.create(model=model_dir.name, prompt=[40, 41, 42, 43],
                                       max_tokens=3, temperature=0.8, top_p=0.9, seed=3)
    assert result.usage is not None and result.usage.prompt_tokens == 4


def test_raw_sse_stream_is_chunked_and_ends_with_done(base_url: str) -> None:
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT_S)
    body = {"prompt": "class Stack:\n", "max_tokens": 6, "temperature": 0, "stream": True,
            "stop": ["\n\n"], "stream_options": {"include_usage": True}}
    conn.request("POST", "/v1/completions", json.dumps(body),
                 {"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream"
    assert response.getheader("Transfer-Encoding") == "chunked"
    text = response.read().decode()
    conn.close()
    assert text.endswith("data: [DONE]\n\n")
    events = [block[len("data: "):] for block in text.split("\n\n") if block]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] <= 6
    finishes = [c["choices"][0]["finish_reason"] for c in chunks[:-1]]
    assert finishes[-1] in ("length", "stop") and set(finishes[:-1]) <= {None}
    assert all(c["object"] == "text_completion" for c in chunks)


def test_models_and_health(client: openai.OpenAI, base_url: str, model_dir: Path) -> None:
    assert [m.id for m in client.models.list().data] == [model_dir.name]
    status, health = post(base_url, b"", method="GET", path="/health")
    assert status == 200 and health["ok"] and health["model"] == model_dir.name
    assert health["device"] == "cpu" and health["pid"] > 0


def test_bad_requests_get_openai_style_errors(client: openai.OpenAI, base_url: str,
                                              model_dir: Path) -> None:
    with pytest.raises(openai.BadRequestError):
        client.completions.create(model=model_dir.name, prompt="x", n=2)
    for body, param in ((b"{not json", None), ({"prompt": 7}, "prompt"),
                        ({"prompt": "x", "max_tokens": "many"}, "max_tokens"),
                        ({"prompt": [10**6]}, "prompt"),
                        ({"prompt": "x", "max_tokens": 10**9}, "max_tokens")):
        status, error = post(base_url, body)
        assert status == 400 and error["error"]["type"] == "invalid_request_error"
        assert error["error"]["param"] == param and error["error"]["message"]
    assert post(base_url, b"", method="GET")[0] == 405
    assert post(base_url, {"prompt": "x"}, path="/v2/nothing")[0] == 404


def test_one_connection_serves_many_requests(base_url: str) -> None:
    """Keep-alive: health, a stream, a whole completion and an error on one socket."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT_S)
    requests: list[tuple[str, str, dict[str, Any] | None, int]] = [
        ("GET", "/health", None, 200),
        ("POST", "/v1/completions", {"prompt": "def f():", "max_tokens": 3, "stream": True}, 200),
        ("POST", "/v1/completions", {"prompt": "def g():", "max_tokens": 3}, 200),
        ("POST", "/v1/completions", {"prompt": 7}, 400),
        ("GET", "/v1/models", None, 200),
    ]
    first_socket = None
    try:
        for method, path, body, status in requests:
            conn.request(method, path, None if body is None else json.dumps(body),
                         {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            assert response.status == status and not response.will_close
            first_socket = first_socket or conn.sock
            assert conn.sock is not None and conn.sock is first_socket  # never reconnected
    finally:
        conn.close()


def _send_chunks_until_refused(sock: socket.socket) -> None:
    """An endless chunked body: only a server that stops reading ends it."""
    chunk = b"%x\r\n%s\r\n" % (1 << 20, b" " * (1 << 20))
    try:
        while True:
            sock.sendall(chunk)
    except OSError:
        pass  # the server closed the connection after its 413


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_body_over_the_limit_gets_413_unread(base_url: str, framing: str) -> None:
    parts = urlsplit(base_url)
    head = b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT_S) as sock:
        sender = None
        if framing == "content-length":  # announces far more than it sends
            sock.sendall(head + b"Content-Length: %d\r\n\r\n{}" % (http_api.MAX_BODY_BYTES + 1))
        else:
            sock.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
            sender = threading.Thread(target=_send_chunks_until_refused, args=(sock,))
            sender.start()
        response = http.client.HTTPResponse(sock)
        response.begin()
        error = json.loads(response.read())
        assert response.status == 413 and response.will_close
        assert error["error"] == {"message": f"body larger than {http_api.MAX_BODY_BYTES} bytes",
                                  "type": "invalid_request_error", "param": None, "code": None}
        if sender is not None:
            with contextlib.suppress(OSError):  # already closed by the server: nothing to undo
                sock.shutdown(socket.SHUT_RDWR)  # unblocks a sender the server never refused
            sender.join(TIMEOUT_S)
    status, health = post(base_url, b"", method="GET", path="/health")
    assert status == 200 and health["ok"]


class LogLines(logging.Handler):
    """The messages of a logger, and a way to wait for one (records may come from any
    thread; the waiter runs on the loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self._loop = loop
        self._changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self._loop.call_soon_threadsafe(self._changed.set)

    async def wait_for(self, *needles: str) -> str:
        while True:
            for message in self.messages:
                if all(n in message for n in needles):
                    return message
            self._changed.clear()
            await self._changed.wait()


@dataclass(frozen=True)
class Loaded:
    """The demo model loaded in this process, as `autan engine` loads it."""

    engine: Engine
    family: FimFamily | None
    name: str


@pytest.fixture(scope="module")
def loaded(model_dir: Path) -> Loaded:
    model, checkpoint = load_model(model_dir)
    tokenizer = Tokenizer.from_dir(model_dir)
    engine = Engine(model, tokenizer, EngineOptions(cache_budget_bytes=64 << 20))
    return Loaded(engine, detect_family(tokenizer, checkpoint.raw), model_dir.name)


@asynccontextmanager
async def served(loaded: Loaded) -> AsyncIterator[tuple[EngineService, str]]:
    """`serve()` with only --http 127.0.0.1:0, on this loop; yields the service and URL, and
    on the way out stops it and waits for serve() to return."""
    service = EngineService(loaded.engine, loaded.name, loaded.family)
    url = asyncio.get_running_loop().create_future()

    def announce(line: str) -> None:
        if line.startswith("autan engine: http "):
            url.set_result(line.rsplit(" ", 1)[1])

    serving = asyncio.create_task(serve(service, ServeConfig(http=("127.0.0.1", 0),
                                                             announce=announce)))
    await asyncio.wait({url, serving}, return_when=asyncio.FIRST_COMPLETED)
    assert url.done(), serving.exception()
    try:
        yield service, url.result()
    finally:
        service.stop()
        await serving


@contextmanager
def log_lines(caplog: pytest.LogCaptureFixture) -> Iterator[LogLines]:
    caplog.set_level(logging.DEBUG, logger=http_api.log.name)
    lines = LogLines(asyncio.get_running_loop())
    http_api.log.addHandler(lines)
    try:
        yield lines
    finally:
        http_api.log.removeHandler(lines)


async def open_request(url: str, body: dict[str, Any]) -> tuple[asyncio.StreamReader,
                                                                asyncio.StreamWriter]:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    data = json.dumps(body).encode()
    writer.write(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                 b"\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data))
    return reader, writer


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("stream", [True, False], ids=["streaming", "whole"])
def test_hanging_up_cancels_the_generation(loaded: Loaded, stream: bool,
                                           caplog: pytest.LogCaptureFixture) -> None:
    """The scheduler's own `cancelled` reaches the front end after the client went away,
    nothing is logged as an error, and the next request is served."""

    async def main() -> dict[str, Any]:
        async with served(loaded) as (_, url):
            with log_lines(caplog) as lines:
                reader, writer = await open_request(url, {
                    "prompt": "while True:", "max_tokens": 5000, "stream": stream})
                queued = await lines.wait_for(": queued, ")
                if stream:
                    await reader.readuntil(b"data: {")
                writer.close()
                await writer.wait_closed()
                request_id = queued.split(":", 1)[0]
                ended = await lines.wait_for(request_id, "client went away")
                assert "ended cancelled after" in ended
            async with httpx.AsyncClient(base_url=url, trust_env=False,
                                         timeout=TIMEOUT_S) as client:
                response = await client.post("/v1/completions",
                                             json={"prompt": "x", "max_tokens": 2})
            assert response.status_code == 200
            return response.json()

    assert run(main())["choices"][0]["finish_reason"] in ("length", "stop")
    assert errors_logged(caplog) == []


def test_shutdown_ends_streams_and_stops_listening(loaded: Loaded,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    """`service.stop()` mid-stream: the stream still ends properly, serve() returns, and the
    port no longer takes connections."""

    async def main() -> tuple[bytes, str]:
        async with served(loaded) as (service, url):
            reader, writer = await open_request(url, {
                "prompt": "while True:", "max_tokens": 5000, "stream": True})
            await reader.readuntil(b"data: {")
            service.stop()
        rest = await reader.read()  # to EOF: the server closes once the stream is over
        writer.close()
        return rest, url

    rest, url = run(main())
    assert rest.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n")  # the last event, the last chunk
    last_event = json.loads(rest.split(b"data: ")[-2].split(b"\n\n")[0])
    assert last_event["choices"][0]["finish_reason"] == "stop"
    parts = urlsplit(url)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT_S).close()
    assert errors_logged(caplog) == []
