"""Bad input never stops the server: malformed JSON, values that are not JSON-RPC messages,
unknown methods and invalid params get JSON-RPC errors and the next request is answered; a
10 MB document and text that was not UTF-8 are completed, from a prompt within the token
budget, and the requests that follow are still answered.

Fixtures: a raw stdio client written here (pytest-lsp's client cannot send broken bytes), the
`repo` package of conftest.py, and two documents made by the test: `huge.py` (10 MB of
distinct lines) and `latin.py` (text as a client sends undecodable bytes: lone surrogates,
U+FFFD, NEL and LINE SEPARATOR characters)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.conftest import MAIN
from tests.lsp.harness import (
    REQUEST_TIMEOUT_S,
    ServerEnv,
    init_options,
    inline,
    insert,
    lsp_server,
    open_doc,
    stats,
    within,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


class RawClient:
    """JSON-RPC over the server's stdin/stdout, bytes written by hand."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.ids = 0

    @classmethod
    async def start(cls, env: ServerEnv, log: Path) -> RawClient:
        with open(log, "wb") as stderr:  # a pipe nobody reads could fill up and block it
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-P", "-m", "autan.cli", "lsp", stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=stderr, env=env.environ())
        return cls(proc)

    def write(self, body: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def request(self, method: str, params: Any = None) -> int:
        self.ids += 1
        self.write(json.dumps({"jsonrpc": "2.0", "id": self.ids, "method": method,
                               "params": params}).encode())
        return self.ids

    async def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        length = 0
        while (line := await self.proc.stdout.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(await self.proc.stdout.readexactly(length))

    async def response(self, rid: int | None, timeout_s: float = 30.0) -> dict[str, Any]:
        """The next response with id `rid`, skipping notifications."""
        async def wait() -> dict[str, Any]:
            while True:
                message = await self.read()
                if "method" not in message and message.get("id") == rid:
                    return message

        return await asyncio.wait_for(wait(), timeout_s)

    async def still_serving(self) -> None:
        """The next well-formed request reaches its handler and is answered: a completion for
        a document that is not open is counted as one request and answered null."""
        before = (await self.response(self.request("autan/stats", {})))["result"]
        completion = await self.response(self.request("textDocument/inlineCompletion", {
            "textDocument": {"uri": "file:///not-open.py"},
            "position": {"line": 0, "character": 0}, "context": {"triggerKind": 1}}))
        assert "error" not in completion and completion["result"] is None, completion
        after = (await self.response(self.request("autan/stats", {})))["result"]
        assert (after["requests"], after["empty"]) == (before["requests"] + 1,
                                                       before["empty"] + 1)
        assert self.proc.returncode is None

    async def close(self) -> None:
        await self.response(self.request("shutdown"))
        self.write(json.dumps({"jsonrpc": "2.0", "method": "exit"}).encode())
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def raw(shared_env: ServerEnv, tmp_path_factory: pytest.TempPathFactory
              ) -> AsyncIterator[RawClient]:
    client = await RawClient.start(shared_env, tmp_path_factory.mktemp("raw") / "stderr.log")
    rid = client.request("initialize", {"processId": None, "rootUri": None,
                                        "capabilities": {},
                                        "initializationOptions": init_options(shared_env)})
    assert "result" in await client.response(rid, 120)
    client.write(json.dumps({"jsonrpc": "2.0", "method": "initialized",
                             "params": {}}).encode())
    yield client
    await client.close()


@pytest.mark.parametrize("body", [b'{"jsonrpc": "2.0", "id": 1, "method": ',
                                  b'{"jsonrpc": "2.0", "id": 1, "method": "x\xff\xfe"}',
                                  b"\x00\x01garbage"],
                         ids=["truncated", "not-utf8", "binary"])
async def test_malformed_json_gets_a_parse_error(raw: RawClient, body: bytes) -> None:
    raw.write(body)
    reply = await raw.response(None)
    assert reply["error"]["code"] == -32700
    await raw.still_serving()


@pytest.mark.parametrize("body", [b"[1, 2, 3]", b'"hello"', b'{"id": 9, "method": "x"}'],
                         ids=["array", "string", "no-jsonrpc"])
async def test_json_that_is_not_a_request_gets_invalid_request(raw: RawClient,
                                                              body: bytes) -> None:
    raw.write(body)
    reply = await raw.response(9 if b"id" in body else None)
    assert reply["error"]["code"] == -32600
    await raw.still_serving()


async def test_unknown_methods_get_method_not_found(raw: RawClient) -> None:
    raw.write(json.dumps({"jsonrpc": "2.0", "method": "autan/noSuchNotification"}).encode())
    reply = await raw.response(raw.request("autan/noSuchMethod", {}))
    assert reply["error"]["code"] == -32601
    await raw.still_serving()


@pytest.mark.parametrize("params", [{"textDocument": 5}, {"position": {"line": "x"}}, None],
                         ids=["wrong-type", "missing-fields", "null"])
async def test_invalid_params_get_invalid_params(raw: RawClient, params: Any) -> None:
    reply = await raw.response(raw.request("textDocument/inlineCompletion", params))
    assert reply["error"]["code"] == -32602, reply
    await raw.still_serving()


# --- big and undecodable documents, through pytest-lsp's client ---------------------------


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(shared_env: ServerEnv, repo: Path) -> AsyncIterator[LanguageClient]:
    async with lsp_server(shared_env, [repo]) as client:
        yield client


async def small_request_is_answered(client: LanguageClient, repo: Path,
                                    timeout_s: float = REQUEST_TIMEOUT_S) -> None:
    """A completion in the small file is answered, at its cursor (`timeout_s` only turns a
    stalled server into a failure instead of a hang; how fast it answers is not the test)."""
    uri = open_doc(client, repo / "pkg" / "main.py", MAIN)
    result = await inline(client, uri, 4, 10, timeout_s=timeout_s)
    assert result is None or result.items[0].range.start == types.Position(4, 10)


async def test_a_10_mb_document_does_not_stall_the_server(client: LanguageClient,
                                                          repo: Path) -> None:
    await small_request_is_answered(client, repo, 120)  # the engine is up (or started)
    lines = [f"value_{i} = compute({i}, 'row {i:07d}')\n" for i in range(260_000)]
    text = "".join(lines)
    assert len(text) > 10_000_000
    uri = open_doc(client, repo / "huge.py", text)  # inside the workspace folder
    last = len(lines)
    result = await inline(client, uri, last, 0)
    assert result is None or result.items[0].range.start == types.Position(last, 0)
    insert(client, uri, 2, last, 0, "total = ")  # typing at the end of the 10 MB buffer
    typed = await inline(client, uri, last, 8)
    assert typed is None or typed.items[0].range.start == types.Position(last, 8)
    await small_request_is_answered(client, repo)
    recent = (await stats(client, recent=3))["recent"]
    assert all(r["prompt_tokens"] <= 4096 + 64 for r in recent)  # the budget, not 10 MB


async def test_text_that_was_not_utf8_is_completed(client: LanguageClient, repo: Path) -> None:
    """What a client sends for a latin-1 file it could not decode: lone surrogates (VS Code's
    and Python's escapes), U+FFFD, and characters that str.splitlines would take for line
    breaks but LSP does not (NEL, LINE SEPARATOR)."""
    errors = (await stats(client))["errors"]
    text = "s = 'caf\udce9 \ufffd'\nt = '\x85 \u2028 ok'\nu = \n"
    uri = open_doc(client, repo / "pkg" / "latin.py", text)
    result = await within(inline(client, uri, 2, 4), 60)
    assert result is None or result.items[0].range.start == types.Position(2, 4)
    assert (await stats(client))["errors"] == errors
    await small_request_is_answered(client, repo)
