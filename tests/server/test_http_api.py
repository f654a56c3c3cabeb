"""`autan engine --http`: the official `openai` client and raw HTTP against a real engine
process on 127.0.0.1, streaming and not, FIM through `suffix`, errors in OpenAI's shape, and a
client that hangs up mid-stream cancelling its generation."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import openai
import pytest

from autan.model.io.fim import build_fim_prompt, detect_family
from autan.model.io.tokenizer import Tokenizer
from tests.server.test_engine_process import demo_model, engine_process, wait_for_line

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


def test_hanging_up_mid_stream_cancels_the_generation(client: openai.OpenAI, base_url: str,
                                                      model_dir: Path) -> None:
    parts = urlsplit(base_url)
    body = json.dumps({"prompt": "while True:", "max_tokens": 5000, "stream": True,
                       "temperature": 0}).encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT_S) as sock:
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                     b"application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        received = b""
        while b"data: {" not in received:
            piece = sock.recv(4096)
            assert piece, "the server closed before streaming"
            received += piece
    started = time.monotonic()
    result = client.completions.create(model=model_dir.name, prompt="x", max_tokens=2)
    assert result.choices[0].finish_reason in ("length", "stop")
    assert time.monotonic() - started < 30  # 5000 tokens ahead of it would take minutes
