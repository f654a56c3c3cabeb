"""Type-ahead: typing the characters the shown suggestion predicted is answered from the
cache, without a model call; anything else asks the model again.

Fixture: pkg/main.py of the `repo` package, with a line `    total = ` being typed; a
scripted engine always suggests `distance(origin, origin)` and counts the requests it gets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.harness import ScriptedEngine, ServerEnv, inline, insert, lsp_server, open_doc, stats

pytestmark = pytest.mark.asyncio(loop_scope="module")

SUGGESTION = "distance(origin, origin)"
TEXT = ("from pkg.geometry import Point, distance\n\n\ndef run() -> None:\n"
        "    origin = Point(0, 0)\n    total = \n    print(total)\n")
LINE = 5
START = len("    total = ")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(scripted_env: ServerEnv, repo: Path) -> AsyncIterator[LanguageClient]:
    engine = await ScriptedEngine(scripted_env.socket,
                                  script=lambda frame: ["distance", "(origin", ", origin)"]
                                  ).start()
    async with lsp_server(scripted_env, [repo]) as client:
        client.engine = engine  # type: ignore[attr-defined]
        yield client
    await engine.stop()


async def test_typing_along_the_suggestion_is_answered_from_the_cache(
        client: LanguageClient, repo: Path) -> None:
    engine: ScriptedEngine = client.engine  # type: ignore[attr-defined]
    uri = open_doc(client, repo / "pkg" / "main.py", TEXT)
    first = await inline(client, uri, LINE, START)
    assert first is not None and first.items[0].insert_text == SUGGESTION
    asked, before = len(engine.generates), await stats(client)

    version, column = 2, START
    for typed in ("dis", "t", "a", "n", "c"):  # three characters at once, then one by one
        insert(client, uri, version, LINE, column, typed)
        version, column = version + 1, column + len(typed)
        result = await inline(client, uri, LINE, column)
        assert result is not None
        [item] = result.items
        assert item.insert_text == SUGGESTION[column - START:]
        assert item.range.start == types.Position(LINE, column)

    after = await stats(client, recent=5)
    assert len(engine.generates) == asked, "type-ahead must not call the model"
    assert after["model_calls"] == before["model_calls"]
    assert after["cache_hits"] - before["cache_hits"] == 5
    assert all(r["from_cache"] and r["model_calls"] == 0 for r in after["recent"])


async def test_typing_something_else_asks_the_model_again(client: LanguageClient,
                                                          repo: Path) -> None:
    engine: ScriptedEngine = client.engine  # type: ignore[attr-defined]
    uri = open_doc(client, repo / "pkg" / "main.py", TEXT)  # reopened: version 1 again
    await inline(client, uri, LINE, START)
    asked = len(engine.generates)
    insert(client, uri, 2, LINE, START, "x")
    await inline(client, uri, LINE, START + 1)
    assert len(engine.generates) == asked + 1


async def test_an_invoked_request_and_a_closed_document_bypass_the_cache(
        client: LanguageClient, repo: Path) -> None:
    engine: ScriptedEngine = client.engine  # type: ignore[attr-defined]
    uri = open_doc(client, repo / "pkg" / "main.py", TEXT)
    await inline(client, uri, LINE, START)
    asked = len(engine.generates)
    await inline(client, uri, LINE, START, invoked=True)  # the user asks for alternatives
    assert len(engine.generates) > asked

    asked = len(engine.generates)
    client.text_document_did_close(types.DidCloseTextDocumentParams(
        types.TextDocumentIdentifier(uri)))
    uri = open_doc(client, repo / "pkg" / "main.py", TEXT)
    await inline(client, uri, LINE, START)
    assert len(engine.generates) == asked + 1
