"""Cancellation: `$/cancelRequest` stops a generation in the engine, a newer request for a
document cancels the older one (a burst of 50 leaves only the last answered), and an answer
for text that changed meanwhile is never sent.

Fixture: a file `pkg/burst.py` of the `repo` package being typed into; a scripted engine
streams `a` tokens 20 ms apart (or one token at once, for the burst) and records the
`cancel` frames it receives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from tests.lsp.harness import (
    ScriptedEngine,
    ServerEnv,
    init_options,
    inline_params,
    insert,
    lsp_server,
    open_doc,
    stats,
    until,
    within,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

TEXT = "def f():\n    value = \n"
LINE, START = 1, len("    value = ")
CANCELLED = -32800


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(scripted_env: ServerEnv, repo: Path) -> AsyncIterator[LanguageClient]:
    engine = await ScriptedEngine(scripted_env.socket).start()
    async with lsp_server(scripted_env, [repo], init_options(scripted_env, maxTokens=500)
                          ) as client:
        client.engine = engine  # type: ignore[attr-defined]
        yield client
    await engine.stop()


def send(client: LanguageClient, uri: str, character: int, msg_id: str | None = None
         ) -> asyncio.Task[Any]:
    """An inlineCompletion request as a task, so that it can be cancelled while it runs."""
    return asyncio.create_task(client.protocol.send_request_async(
        types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri, LINE, character), msg_id))


def configure(client: LanguageClient, **completion: Any) -> None:
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"autan": {"completion": completion}}))


async def test_cancel_request_stops_the_generation_in_the_engine(client: LanguageClient,
                                                                 repo: Path) -> None:
    engine: ScriptedEngine = client.engine  # type: ignore[attr-defined]
    engine.script, engine.delay_s = (lambda frame: ["a"] * 500), 0.02
    uri = open_doc(client, repo / "pkg" / "burst.py", TEXT)
    before = await stats(client)
    task = send(client, uri, START, msg_id="cancel-me")
    await until(lambda: engine.generates and engine.streamed.get(engine.generates[-1]["id"]))
    rid = engine.generates[-1]["id"]

    client.cancel_request(types.CancelParams(id="cancel-me"))
    with pytest.raises(JsonRpcException) as err:
        await within(task, 10)
    assert err.value.code == CANCELLED
    await until(lambda: rid in engine.cancels, 5)
    await until(lambda: engine.finished.get(rid) == "cancelled", 5)
    assert engine.streamed[rid] < 400  # stopped, not run to its end (500 tokens, 10 s)
    after = await stats(client)
    assert after["cancelled"] - before["cancelled"] == 1
    assert after["engine_streams"] == 0 and after["inflight"] == 0


async def test_a_burst_of_50_requests_leaves_only_the_last_answered(client: LanguageClient,
                                                                    repo: Path) -> None:
    """Each request follows a keystroke, 10 ms apart, as when typing fast: every older
    request is cancelled by the next one (during its debounce) and none answers with text
    for a cursor that has moved on."""
    engine: ScriptedEngine = client.engine  # type: ignore[attr-defined]
    engine.script, engine.delay_s = (lambda frame: ["_end"]), 0.0
    configure(client, debounceMs=250)
    uri = open_doc(client, repo / "pkg" / "burst.py", TEXT)
    asked, before = len(engine.generates), await stats(client)
    tasks = []
    for i in range(50):
        insert(client, uri, i + 2, LINE, START + i, "b")
        tasks.append(send(client, uri, START + i + 1))
        await asyncio.sleep(0.01)
    results = await within(asyncio.gather(*tasks, return_exceptions=True), 60)
    configure(client, debounceMs=0)

    *older, last = results
    for result in older:
        assert result is None or (isinstance(result, JsonRpcException)
                                  and result.code == CANCELLED), result
    assert isinstance(last, types.InlineCompletionList), last
    [item] = last.items
    assert item.insert_text == "_end"
    assert item.range.start == types.Position(LINE, START + 50)
    assert len(engine.generates) - asked == 1  # only the last reached the model
    after = await stats(client)
    assert after["cancelled"] - before["cancelled"] == sum(
        isinstance(r, JsonRpcException) for r in older)


async def test_an_answer_for_text_that_changed_meanwhile_is_null(client: LanguageClient,
                                                                 repo: Path) -> None:
    engine: ScriptedEngine = client.engine  # type: ignore[attr-defined]
    engine.script, engine.delay_s = (lambda frame: ["a"] * 10), 0.05
    uri = open_doc(client, repo / "pkg" / "burst.py", TEXT)
    asked = len(engine.generates)
    task = send(client, uri, START)
    await until(lambda: len(engine.generates) > asked)
    insert(client, uri, 2, 0, 0, "# edited\n")  # no new request: the editor moved on
    assert await within(task, 10) is None
    assert engine.finished.get(engine.generates[-1]["id"]) in ("length", "cancelled")
