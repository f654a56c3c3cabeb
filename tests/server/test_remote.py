"""Remote engines: `OpenAICompletionsEngine` against a real `autan engine --http`, and both
clients against a small stand-in for Mistral's FIM API that records what it received, so the
tests can check that a secret in the buffer never leaves the machine. Proxies, CA bundles and
connect retries are exercised with real local servers: a forwarding HTTP proxy, a TLS server
with its own certificate, a server that starts listening after a first refused connect."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import pytest

from autan.model.io.fim import CODESTRAL, STARCODER
from autan.server.remote import (
    MAX_ERROR_BODY,
    MAX_LINE,
    MistralFimEngine,
    OpenAICompletionsEngine,
    RemoteError,
)
from autan.wire.protocol import Event, Finished, SamplingParams, Token
from tests.server.test_engine_process import demo_model, run
from tests.server.test_http_api import http_engine, post

GITHUB_TOKEN = "ghp_" + "Zq7Xw2" * 6
AWS_KEY_ID = "AKIA" + "QX7Z2WPL9RT4MB3N"
WAIT_S = 60.0  # a bound on waits for events, so that a failure cannot hang the suite

Engine = OpenAICompletionsEngine | MistralFimEngine


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The engines read proxies from the environment: tests start from none, so that the
    machine running them cannot send the local servers' traffic elsewhere."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy"):
            monkeypatch.delenv(name)


async def collect(stream: AsyncIterator[Event]) -> tuple[list[Token], Finished]:
    tokens: list[Token] = []
    async for event in stream:
        if isinstance(event, Finished):
            return tokens, event
        tokens.append(event)
    raise AssertionError("the stream ended without Finished")


async def complete(engine: Engine, prompt: str, params: SamplingParams | None = None,
                   suffix: str | None = None) -> tuple[list[Token], Finished]:
    return await collect(engine.generate(prompt, params, suffix=suffix))


def complete_once(engine: Engine, prompt: str, params: SamplingParams | None = None,
                  suffix: str | None = None) -> tuple[list[Token], Finished]:
    """One completion in an event loop of its own, closing the engine's client after it."""
    async def main() -> tuple[list[Token], Finished]:
        try:
            return await complete(engine, prompt, params, suffix)
        finally:
            await engine.aclose()

    return run(main())


class FakeRemote(BaseHTTPRequestHandler):
    """Mistral's /v1/fim/completions (chat-delta chunks) and an OpenAI-style /v1/completions
    (text chunks), streaming "x = " and "1". HTTP/1.0: the connection ends with each response,
    unlike autan's chunked responses and `KeepAliveRemote`, so all framings are exercised.
    Paths starting with /slow answer only once `release` is set, /hangup closes the connection
    without answering; /endless sends one event, /longline a line longer than MAX_LINE and
    /hugeerror the start of a 1 GiB error body, each then waiting for the client to hang up
    (`hung_up`)."""

    protocol_version = "HTTP/1.0"
    received: ClassVar[list[dict[str, Any]]] = []
    release: ClassVar[threading.Event] = threading.Event()
    hung_up: ClassVar[threading.Event] = threading.Event()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append({"path": self.path, "auth": self.headers.get("Authorization"),
                              "body": body, "port": self.client_address[1]})
        if self.path.startswith("/slow"):
            self.release.wait(WAIT_S)
        if self.path.startswith("/hangup"):
            self.close_connection = True
            return
        if self.headers.get("Authorization") != "Bearer key":
            return self._reply(401, "application/json", b'{"message": "Unauthorized"}')
        mistral = self.path.endswith("/fim/completions")
        if self.path.startswith("/endless"):
            return self._hold(200, sse(self._chunk(mistral, "x", None)))
        if self.path.startswith("/longline"):
            return self._hold(200, b"data: " + b"a" * (MAX_LINE + 1))
        if self.path.startswith("/hugeerror"):
            return self._hold(500, b"e" * (2 * MAX_ERROR_BODY), length=1 << 30)
        events = [self._chunk(mistral, text, None) for text in ("x = ", "1")]
        events.append(self._chunk(mistral, "", "stop"))
        self._reply(200, "text/event-stream", sse(*events, "[DONE]"))

    def _hold(self, status: int, data: bytes, length: int | None = None) -> None:
        """Send `data` as the start of a body that never ends, until the client hangs up."""
        self.send_response(status)
        self.send_header("Content-Type", "text/event-stream" if status == 200 else "text/plain")
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client may leave before all is written
            self.wfile.write(data)
            self.connection.recv(1)  # the client sends nothing more: this returns on hang-up
        self.hung_up.set()

    @staticmethod
    def _chunk(mistral: bool, text: str, finish: str | None) -> dict[str, Any]:
        choice = ({"index": 0, "delta": {"content": text}, "finish_reason": finish} if mistral
                  else {"index": 0, "text": text, "finish_reason": finish})
        usage = {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}
        return {"id": "c", "model": "m", "choices": [choice], "usage": usage if finish else None}

    def _reply(self, status: int, kind: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class KeepAliveRemote(FakeRemote):
    """The same answers over HTTP/1.1, keeping the connection for the next request (as vLLM's
    and Mistral's servers do); `ended` is set when the client closes it."""

    protocol_version = "HTTP/1.1"
    ended: ClassVar[threading.Event] = threading.Event()

    def finish(self) -> None:
        super().finish()
        self.ended.set()


def sse(*events: dict[str, Any] | str) -> bytes:
    """An event stream of JSON `events` (strings are sent as they are)."""
    return "".join(f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n"
                   for e in events).encode()


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and left is expected here


@contextlib.contextmanager
def serving(server: QuietServer) -> Iterator[str]:
    """Serve in a thread; yields the base URL. The handler's shared records start empty."""
    handler: Any = server.RequestHandlerClass
    handler.received = []
    for event in (handler.release, handler.hung_up, getattr(handler, "ended", None)):
        if event is not None:
            event.clear()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    scheme = "https" if isinstance(server.socket, ssl.SSLSocket) else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        handler.release.set()  # a handler still waiting on /slow may end now
        server.shutdown()
        server.server_close()
        thread.join(WAIT_S)


@pytest.fixture
def fake_remote() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    with serving(QuietServer(("127.0.0.1", 0), FakeRemote)) as url:
        yield url, FakeRemote.received


class ForwardingProxy:
    """A plain HTTP proxy on 127.0.0.1: takes absolute-form requests (`POST http://host:port/
    path HTTP/1.1`), records each request line in `seen`, sends the request on to its target
    and streams the answer back. A client that hangs up while the target is still answering
    sets `hung_up`, and the target's connection is closed, as real proxies do."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.hung_up = asyncio.Event()
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ForwardingProxy:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, target, version = head[0].split(" ")
            self.seen.append(f"{method} {target}")
            url = urlsplit(target)
            headers = [h for h in head[1:] if h and not h.lower().startswith(
                ("proxy-", "connection:", "keep-alive:"))]
            length = next((int(h.split(":", 1)[1]) for h in headers
                           if h.lower().startswith("content-length:")), 0)
            body = await reader.readexactly(length)
            up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port)
            request = [f"{method} {url.path or '/'} {version}", *headers, "Connection: close"]
            up_writer.write(("\r\n".join(request) + "\r\n\r\n").encode("latin-1") + body)
            await self._relay(reader, writer, up_reader, up_writer)
        finally:
            writer.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     up_reader: asyncio.StreamReader, up_writer: asyncio.StreamWriter) -> None:
        """The target's answer to the client until the target ends it or the client leaves."""
        answer = asyncio.create_task(pipe(up_reader, writer))
        client_left = asyncio.create_task(reader.read(1))  # the client sends nothing more
        await asyncio.wait((answer, client_left), return_when=asyncio.FIRST_COMPLETED)
        if client_left.done() and not answer.done():
            self.hung_up.set()
        for task in (answer, client_left):
            task.cancel()
        up_writer.close()


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_model(tmp_path_factory)


@pytest.fixture(scope="module")
def autan_url(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with http_engine(model_dir, tmp_path_factory.mktemp("remote") / "engine.log") as url:
        yield url


def test_openai_engine_streams_what_autan_http_answers(autan_url: str, model_dir: Path) -> None:
    engine = OpenAICompletionsEngine(f"{autan_url}/v1", model_dir.name)
    tokens, done = complete_once(engine, "def add(a, b):", SamplingParams(8))
    assert done.text == "".join(t.text for t in tokens) and done.text
    assert all(t.token_id == -1 for t in tokens)
    status, whole = post(autan_url, {"prompt": "def add(a, b):", "max_tokens": 8,
                                     "temperature": 0})
    assert status == 200 and whole["choices"][0]["text"] == done.text
    assert done.finish_reason == whole["choices"][0]["finish_reason"]
    assert done.stats.generated_tokens == whole["usage"]["completion_tokens"]
    assert done.stats.prompt_tokens == whole["usage"]["prompt_tokens"]


def test_raw_fim_prompt_matches_the_servers_own_fim(autan_url: str, model_dir: Path) -> None:
    prefix, suffix = "def area(r):\n    return ", "\n\nprint(area(2))\n"
    raw = OpenAICompletionsEngine(autan_url, model_dir.name, fim_family=STARCODER)
    server_side = OpenAICompletionsEngine(autan_url, model_dir.name)
    _, a = complete_once(raw, prefix, SamplingParams(6), suffix=suffix)
    _, b = complete_once(server_side, prefix, SamplingParams(6), suffix=suffix)
    assert (a.text, a.stats.prompt_tokens) == (b.text, b.stats.prompt_tokens)


def test_server_prefix_cache_hits_come_through_usage(autan_url: str, model_dir: Path) -> None:
    engine = OpenAICompletionsEngine(autan_url, model_dir.name)
    head = "import os\n" * 20

    async def main() -> tuple[Finished, Finished]:
        try:
            _, cold = await complete(engine, head, SamplingParams(2))
            _, warm = await complete(engine, head + "def main():", SamplingParams(2))
            return cold, warm
        finally:
            await engine.aclose()

    cold, warm = run(main())
    assert cold.stats.reused_tokens == 0
    assert warm.stats.reused_tokens == cold.stats.prompt_tokens


def test_cancelling_the_task_hangs_up_on_autan(autan_url: str, model_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Through a proxy that sees the hang-up: autan cancels a generation whose client hung
    up (tests/server/test_http_api.py), and the engine serves the next request."""

    async def main() -> Finished:
        async with ForwardingProxy() as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            engine = OpenAICompletionsEngine(autan_url, model_dir.name)
            first = asyncio.Event()

            async def consume() -> None:
                async for _ in engine.generate("while True:", SamplingParams(5000)):
                    first.set()

            task = asyncio.create_task(consume())
            await asyncio.wait_for(first.wait(), WAIT_S)
            task.cancel()
            await asyncio.wait_for(proxy.hung_up.wait(), WAIT_S)
            try:
                _, done = await complete(engine, "x", SamplingParams(2))
            finally:
                await engine.aclose()
            return done

    assert run(main()).finish_reason in ("length", "stop")


@pytest.mark.parametrize("how", ["cancel the task", "close the generator"])
def test_stopping_a_stream_closes_its_connection(
        fake_remote: tuple[str, list[dict[str, Any]]], how: str) -> None:
    url, received = fake_remote
    engine = OpenAICompletionsEngine(f"{url}/endless", "m", api_key="key")

    async def main() -> None:
        events = engine.generate("x", SamplingParams(5000))
        first = await anext(events)
        assert isinstance(first, Token) and first.text == "x"
        if how == "close the generator":
            await events.aclose()
        else:
            task = asyncio.create_task(anext(events))
            await asyncio.sleep(0)  # let it start waiting on the server
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # The server sees its client go: the connection was closed, not left open.
        assert await asyncio.to_thread(FakeRemote.hung_up.wait, WAIT_S)
        await engine.aclose()

    run(main())
    assert len(received) == 1


def test_http_failures_become_remote_errors(autan_url: str, model_dir: Path) -> None:
    with pytest.raises(RemoteError, match="no route") as err:
        complete_once(OpenAICompletionsEngine(f"{autan_url}/nope", "m"), "x")
    assert err.value.status == 404
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(RemoteError, match="cannot reach") as err:
        complete_once(OpenAICompletionsEngine(f"http://127.0.0.1:{closed_port}", "m"), "x")
    assert err.value.status == 0
    with pytest.raises(ValueError, match="not an http"):
        OpenAICompletionsEngine("ftp://example.com/v1", "m")


def test_mistral_fim_streams_and_secrets_never_leave(
        fake_remote: tuple[str, list[dict[str, Any]]]) -> None:
    url, received = fake_remote
    engine = MistralFimEngine(f"{url}/v1", "codestral-latest", api_key="key")
    prompt = f'GITHUB = "{GITHUB_TOKEN}"\ndef main():\n    '
    suffix = f"\nAWS = '{AWS_KEY_ID}'\n"
    params = SamplingParams(max_tokens=16, temperature=0.2, stop_strings=("\n\n",), seed=7)
    tokens, done = complete_once(engine, prompt, params, suffix=suffix)
    assert [t.text for t in tokens] == ["x = ", "1"] and done.text == "x = 1"
    assert done.finish_reason == "stop"
    assert (done.stats.prompt_tokens, done.stats.generated_tokens) == (12, 2)
    [request] = received
    assert request["path"] == "/v1/fim/completions" and request["auth"] == "Bearer key"
    body = request["body"]
    assert body["model"] == "codestral-latest" and body["stream"] is True
    assert (body["max_tokens"], body["random_seed"], body["stop"]) == (16, 7, ["\n\n"])
    assert body["prompt"].endswith("def main():\n    ") and "«redacted»" in body["prompt"]
    sent = json.dumps(received)
    assert GITHUB_TOKEN not in sent and AWS_KEY_ID not in sent


def test_openai_engine_spells_a_suffix_first_fim_prompt_and_redacts(
        fake_remote: tuple[str, list[dict[str, Any]]]) -> None:
    url, received = fake_remote
    engine = OpenAICompletionsEngine(url, "codestral", api_key="key", fim_family=CODESTRAL)
    _, done = complete_once(engine, f"token = '{GITHUB_TOKEN}'\n", SamplingParams(4),
                            suffix="return 1\n")
    assert done.text == "x = 1"
    body = received[0]["body"]
    assert received[0]["path"] == "/v1/completions" and "suffix" not in body
    assert body["prompt"] == "[SUFFIX]return 1\n[PREFIX]token = '«redacted»'\n"
    assert body["stream_options"] == {"include_usage": True}
    assert set(CODESTRAL.stop_strings) <= set(body["stop"])


def test_remote_refusal_and_silence_raise_remote_errors(
        fake_remote: tuple[str, list[dict[str, Any]]]) -> None:
    url, received = fake_remote
    with pytest.raises(RemoteError, match="Unauthorized") as err:
        complete_once(MistralFimEngine(url, "codestral-latest", api_key="wrong"), "x")
    assert err.value.status == 401
    silent = MistralFimEngine(f"{url}/slow", "codestral-latest", api_key="key", timeout_s=0.3)
    with pytest.raises(RemoteError, match=r"no answer in 0\.3 s"):
        complete_once(silent, "x")
    # The server had the request and holds its answer back until the test ends: the
    # client's own read timeout ended the wait.
    assert received[-1]["path"] == "/slow/v1/fim/completions"


@pytest.mark.parametrize(("path", "error"), [("/longline", "line is too long"),
                                             ("/hugeerror", "HTTP 500 from 127.0.0.1: eee")])
def test_size_limits_hold_against_a_server_that_never_stops(
        fake_remote: tuple[str, list[dict[str, Any]]], path: str, error: str) -> None:
    url, _ = fake_remote
    # A read timeout far beyond the wait below: only the limit can make the client stop.
    engine = MistralFimEngine(url + path, "codestral-latest", api_key="key",
                              timeout_s=10 * WAIT_S)

    async def main() -> tuple[bool, BaseException | tuple[list[Token], Finished]]:
        task = asyncio.create_task(complete(engine, "x"))
        hung_up = await asyncio.to_thread(FakeRemote.hung_up.wait, WAIT_S)
        if not hung_up:
            task.cancel()
        [outcome] = await asyncio.gather(task, return_exceptions=True)
        await engine.aclose()
        return hung_up, outcome

    hung_up, outcome = run(main())
    assert hung_up  # the client stopped reading the endless body and hung up
    assert isinstance(outcome, RemoteError) and re.search(error, str(outcome))
    assert len(str(outcome)) < 1000


def test_a_request_that_reached_the_server_is_not_sent_again(
        fake_remote: tuple[str, list[dict[str, Any]]]) -> None:
    url, received = fake_remote
    engine = MistralFimEngine(f"{url}/hangup", "codestral-latest", api_key="key", retries=3)
    with pytest.raises(RemoteError, match="failed") as err:
        complete_once(engine, "x")
    assert err.value.status == 0
    assert len(received) == 1


def test_one_connection_serves_successive_requests_until_aclose() -> None:
    with serving(QuietServer(("127.0.0.1", 0), KeepAliveRemote)) as url:
        engine = MistralFimEngine(url, "codestral-latest", api_key="key")

        async def main() -> list[Finished]:
            results = [(await complete(engine, "x"))[1] for _ in range(3)]
            assert not KeepAliveRemote.ended.is_set()  # the connection is kept for more
            await engine.aclose()
            assert await asyncio.to_thread(KeepAliveRemote.ended.wait, WAIT_S)
            return results

        results = run(main())
        assert [r.text for r in results] == ["x = 1"] * 3
        assert len({r["port"] for r in KeepAliveRemote.received}) == 1


class ConnectLog(logging.Handler):
    """Counts httpcore's connect attempts (its DEBUG log); `on_failure` runs at the first
    refused one, before the client can try again."""

    def __init__(self, on_failure: Callable[[], None] | None = None) -> None:
        super().__init__(logging.DEBUG)
        self.attempts = 0
        self.on_failure = on_failure

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("connect_tcp.started"):
            self.attempts += 1
        elif message.startswith("connect_tcp.failed") and self.on_failure is not None:
            self.on_failure()
            self.on_failure = None


@contextlib.contextmanager
def connect_log(caplog: pytest.LogCaptureFixture,
                on_failure: Callable[[], None] | None = None) -> Iterator[ConnectLog]:
    caplog.set_level(logging.DEBUG, logger="httpcore.connection")
    handler = ConnectLog(on_failure)
    logger = logging.getLogger("httpcore.connection")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def test_refused_connects_are_retried(caplog: pytest.LogCaptureFixture) -> None:
    with contextlib.ExitStack() as stack:
        probe = stack.enter_context(socket.socket())
        probe.bind(("127.0.0.1", 0))  # bound, not listening: a connect is refused
        port = probe.getsockname()[1]

        def start_server() -> None:  # at the first refusal, before the client tries again
            probe.close()
            stack.enter_context(serving(QuietServer(("127.0.0.1", port), FakeRemote)))

        log = stack.enter_context(connect_log(caplog, start_server))
        engine = MistralFimEngine(f"http://127.0.0.1:{port}", "codestral-latest",
                                  api_key="key", retries=2)
        _, done = complete_once(engine, "x")
        assert done.text == "x = 1"
        assert log.attempts == 2 and len(FakeRemote.received) == 1


def test_connect_retries_give_up_after_the_last(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
        with connect_log(caplog) as log, pytest.raises(RemoteError, match="cannot reach"):
            complete_once(OpenAICompletionsEngine(f"http://127.0.0.1:{closed_port}", "m",
                                                  retries=2), "x")
    assert log.attempts == 3


@pytest.mark.parametrize(("no_proxy", "proxied"), [("", True), ("example.com", True),
                                                   ("127.0.0.1", False),
                                                   ("localhost, 127.0.0.1", False)])
def test_requests_go_through_the_environments_proxy(
        fake_remote: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch,
        no_proxy: str, proxied: bool) -> None:
    url, received = fake_remote

    async def main() -> tuple[list[str], Finished]:
        async with ForwardingProxy() as proxy:
            monkeypatch.setenv("HTTP_PROXY", proxy.url)
            monkeypatch.setenv("NO_PROXY", no_proxy)
            engine = MistralFimEngine(f"{url}/v1", "codestral-latest", api_key="key")
            try:
                _, done = await complete(engine, f"key = '{GITHUB_TOKEN}'\n")
            finally:
                await engine.aclose()
            return proxy.seen, done

    seen, done = run(main())
    assert done.text == "x = 1"
    assert seen == ([f"POST {url}/v1/fim/completions"] if proxied else [])
    [request] = received
    assert request["path"] == "/v1/fim/completions" and request["auth"] == "Bearer key"
    assert GITHUB_TOKEN not in json.dumps(request)


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, made by the openssl tool."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def tls_server(cert: Path, key: Path) -> QuietServer:
    server = QuietServer(("127.0.0.1", 0), FakeRemote)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "SSL_CERT_DIR"])
def test_ca_certificates_from_the_environment(certificate: tuple[Path, Path], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              variable: str) -> None:
    cert, key = certificate
    with serving(tls_server(cert, key)) as url:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        monkeypatch.delenv("SSL_CERT_DIR", raising=False)
        with pytest.raises(RemoteError, match="CERTIFICATE_VERIFY_FAILED"):
            complete_once(MistralFimEngine(url, "codestral-latest", api_key="key",
                                           retries=0), "x")
        if variable == "SSL_CERT_FILE":
            monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        else:  # a directory of certificates named by their subject's hash, as c_rehash does
            digest = subprocess.run(["openssl", "x509", "-noout", "-hash", "-in", str(cert)],
                                    check=True, capture_output=True, text=True).stdout.strip()
            (tmp_path / "certs").mkdir()
            shutil.copy(cert, tmp_path / "certs" / f"{digest}.0")
            monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "certs"))
        _, done = complete_once(MistralFimEngine(url, "codestral-latest", api_key="key"), "x")
    assert done.text == "x = 1"
    assert url.startswith("https://")
