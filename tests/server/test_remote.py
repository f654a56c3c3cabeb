"""Remote engines: `OpenAICompletionsEngine` against a real `autan engine --http`, and both
clients against a small stand-in for Mistral's FIM API that records what it received, so the
tests can check that a secret in the buffer never leaves the machine."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from autan.model.io.fim import CODESTRAL, STARCODER
from autan.server.remote import MistralFimEngine, OpenAICompletionsEngine, RemoteError
from autan.wire.protocol import Event, Finished, SamplingParams, Token
from tests.server.test_engine_process import demo_model, run
from tests.server.test_http_api import http_engine, post

GITHUB_TOKEN = "ghp_" + "Zq7Xw2" * 6
AWS_KEY_ID = "AKIA" + "QX7Z2WPL9RT4MB3N"


async def collect(stream: AsyncIterator[Event]) -> tuple[list[Token], Finished]:
    tokens: list[Token] = []
    async for event in stream:
        if isinstance(event, Finished):
            return tokens, event
        tokens.append(event)
    raise AssertionError("the stream ended without Finished")


class FakeRemote(BaseHTTPRequestHandler):
    """Mistral's /v1/fim/completions (chat-delta chunks) and an OpenAI-style /v1/completions
    (text chunks), streaming "x = " and "1". HTTP/1.0: the body ends when the connection
    closes, unlike autan's chunked responses, so both framings are exercised."""

    protocol_version = "HTTP/1.0"
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append({"path": self.path, "auth": self.headers.get("Authorization"),
                              "body": body})
        if self.path.startswith("/slow"):
            time.sleep(3)
        if self.headers.get("Authorization") != "Bearer key":
            return self._reply(401, "application/json", b'{"message": "Unauthorized"}')
        mistral = self.path.endswith("/fim/completions")
        events = [self._chunk(mistral, text, None) for text in ("x = ", "1")]
        events.append(self._chunk(mistral, "", "stop"))
        payload = "".join(f"data: {json.dumps(e)}\n\n" for e in events) + "data: [DONE]\n\n"
        self._reply(200, "text/event-stream", payload.encode())

    @staticmethod
    def _chunk(mistral: bool, text: str, finish: str | None) -> dict[str, Any]:
        choice = ({"index": 0, "delta": {"content": text}, "finish_reason": finish} if mistral
                  else {"index": 0, "text": text, "finish_reason": finish})
        usage = {"prompt_tokens": 12, "completion_tokens": 2, "total_tokens": 14}
        return {"id": "c", "model": "m", "choices": [choice], "usage": usage if finish else None}

    def _reply(self, status: int, kind: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and left is expected here


@pytest.fixture
def fake_remote() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    FakeRemote.received = []
    server = QuietServer(("127.0.0.1", 0), FakeRemote)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", FakeRemote.received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_model(tmp_path_factory)


@pytest.fixture(scope="module")
def autan_url(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with http_engine(model_dir, tmp_path_factory.mktemp("remote") / "engine.log") as url:
        yield url


def test_openai_engine_streams_what_autan_http_answers(autan_url: str, model_dir: Path) -> None:
    engine = OpenAICompletionsEngine(f"{autan_url}/v1", model_dir.name)
    tokens, done = run(collect(engine.generate("def add(a, b):", SamplingParams(8))))
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
    _, a = run(collect(raw.generate(prefix, SamplingParams(6), suffix=suffix)))
    _, b = run(collect(server_side.generate(prefix, SamplingParams(6), suffix=suffix)))
    assert (a.text, a.stats.prompt_tokens) == (b.text, b.stats.prompt_tokens)


def test_server_prefix_cache_hits_come_through_usage(autan_url: str, model_dir: Path) -> None:
    engine = OpenAICompletionsEngine(autan_url, model_dir.name)
    head = "import os\n" * 20
    _, cold = run(collect(engine.generate(head, SamplingParams(2))))
    _, warm = run(collect(engine.generate(head + "def main():", SamplingParams(2))))
    assert cold.stats.reused_tokens == 0
    assert warm.stats.reused_tokens == cold.stats.prompt_tokens


def test_cancelling_the_task_stops_the_remote_generation(autan_url: str,
                                                         model_dir: Path) -> None:
    engine = OpenAICompletionsEngine(autan_url, model_dir.name)

    async def main() -> float:
        first = asyncio.Event()

        async def consume() -> None:
            async for _ in engine.generate("while True:", SamplingParams(5000)):
                first.set()

        task = asyncio.create_task(consume())
        await asyncio.wait_for(first.wait(), 60)
        task.cancel()
        started = time.monotonic()
        _, done = await collect(engine.generate("x", SamplingParams(2)))
        assert done.finish_reason in ("length", "stop")
        return time.monotonic() - started

    assert run(main()) < 30  # the 5000-token request ahead of it was stopped


def test_http_failures_become_remote_errors(autan_url: str, model_dir: Path) -> None:
    with pytest.raises(RemoteError, match="no route") as err:
        run(collect(OpenAICompletionsEngine(f"{autan_url}/nope", "m").generate("x")))
    assert err.value.status == 404
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with pytest.raises(RemoteError, match="cannot reach") as err:
        run(collect(OpenAICompletionsEngine(f"http://127.0.0.1:{closed_port}", "m")
                    .generate("x")))
    assert err.value.status == 0


def test_mistral_fim_streams_and_secrets_never_leave(
        fake_remote: tuple[str, list[dict[str, Any]]]) -> None:
    url, received = fake_remote
    engine = MistralFimEngine(f"{url}/v1", "codestral-latest", api_key="key")
    prompt = f'GITHUB = "{GITHUB_TOKEN}"\ndef main():\n    '
    suffix = f"\nAWS = '{AWS_KEY_ID}'\n"
    params = SamplingParams(max_tokens=16, temperature=0.2, stop_strings=("\n\n",), seed=7)
    tokens, done = run(collect(engine.generate(prompt, params, suffix=suffix)))
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
    _, done = run(collect(engine.generate(f"token = '{GITHUB_TOKEN}'\n", SamplingParams(4),
                                          suffix="return 1\n")))
    assert done.text == "x = 1"
    body = received[0]["body"]
    assert received[0]["path"] == "/v1/completions" and "suffix" not in body
    assert body["prompt"] == "[SUFFIX]return 1\n[PREFIX]token = '«redacted»'\n"
    assert body["stream_options"] == {"include_usage": True}
    assert set(CODESTRAL.stop_strings) <= set(body["stop"])


def test_remote_refusal_and_silence_raise_remote_errors(
        fake_remote: tuple[str, list[dict[str, Any]]]) -> None:
    url, _ = fake_remote
    with pytest.raises(RemoteError, match="Unauthorized") as err:
        run(collect(MistralFimEngine(url, "codestral-latest", api_key="wrong").generate("x")))
    assert err.value.status == 401
    silent = MistralFimEngine(f"{url}/slow", "codestral-latest", api_key="key", timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(RemoteError, match="no answer"):
        run(collect(silent.generate("x")))
    assert time.monotonic() - started < 2.5
