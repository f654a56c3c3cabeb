"""`textDocument/inlineCompletion` end to end: items, their ranges and `insertText`, the text
the engine is given for the cursor, and the requests autan does not answer.

Fixtures: the `repo` package of conftest.py (the real engine completes in pkg/main.py), and
documents written here: pkg/main.py with an open call (a suggestion that re-types the `)`
after the cursor), pkg/feeds.py with a form feed and emoji before the cursor (LSP line breaks
and UTF-16 columns), pkg/.env (a secret file)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient

from autan.model.io.tokenizer import Tokenizer
from tests.lsp.conftest import MAIN
from tests.lsp.harness import (
    ScriptedEngine,
    ServerEnv,
    inline,
    insert,
    lsp_server,
    open_doc,
    stats,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def real(shared_env: ServerEnv, repo: Path) -> AsyncIterator[LanguageClient]:
    async with lsp_server(shared_env, [repo]) as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scripted(scripted_env: ServerEnv, repo: Path) -> AsyncIterator[LanguageClient]:
    engine = await ScriptedEngine(scripted_env.socket).start()
    async with lsp_server(scripted_env, [repo]) as client:
        client.engine = engine  # type: ignore[attr-defined]
        yield client
    await engine.stop()


def check_items(result: types.InlineCompletionList | None, line: int, character: int,
                line_length: int) -> None:
    """Every item: a string, a single-line range from the cursor to at most the line end."""
    for item in result.items if result else []:
        assert isinstance(item.insert_text, str) and item.insert_text
        assert item.range is not None
        assert item.range.start == types.Position(line, character)
        assert item.range.end.line == line
        assert character <= item.range.end.character <= line_length


async def test_real_engine_answers_with_items_at_the_cursor(real: LanguageClient,
                                                            repo: Path) -> None:
    uri = open_doc(real, repo / "pkg" / "main.py", MAIN)
    lines = MAIN.split("\n")
    cursors = [(4, len(lines[4])), (5, 10), (3, 4), (5, len(lines[5]) - 2)]
    answered = 0
    for line, character in cursors:
        result = await inline(real, uri, line, character)
        check_items(result, line, character, len(lines[line]))
        answered += result is not None
    assert answered >= 1, "random weights, but some text should survive post-processing"
    assert (await stats(real))["model_calls"] >= len(cursors)


async def test_invoked_requests_may_cycle_through_distinct_items(real: LanguageClient,
                                                                 repo: Path) -> None:
    uri = (repo / "pkg" / "main.py").as_uri()
    before = (await stats(real))["model_calls"]
    result = await inline(real, uri, 5, 10, invoked=True)
    check_items(result, 5, 10, len(MAIN.split("\n")[5]))
    texts = [item.insert_text for item in result.items] if result else []
    assert len(texts) == len(set(texts)) <= 3  # maxItems: 3 by default
    assert (await stats(real))["model_calls"] - before == 3  # one greedy, two sampled


async def test_a_suggestion_that_retypes_the_closer_replaces_it(scripted: LanguageClient,
                                                                repo: Path) -> None:
    engine: ScriptedEngine = scripted.engine  # type: ignore[attr-defined]
    engine.script = lambda frame: ["Point", "(3, 4", "))"]
    text = MAIN.replace("Point(3, 4)))", ")")
    uri = open_doc(scripted, repo / "pkg" / "main.py", text)
    character = text.split("\n")[5].index(")")
    result = await inline(scripted, uri, 5, character)
    assert result is not None
    [item] = result.items
    assert item.insert_text == "Point(3, 4))"
    assert item.range == types.Range(types.Position(5, character),
                                     types.Position(5, character + 1))


def decoded_prompt(env: ServerEnv, frame: dict[str, Any]) -> str:
    return Tokenizer.from_dir(env.model).decode(frame["prompt_ids"])


async def test_the_engine_gets_the_text_around_the_cursor_with_lsp_lines_and_utf16(
        scripted: LanguageClient, scripted_env: ServerEnv, repo: Path) -> None:
    """A form feed is not a line break in LSP (pygls's own document would count one), and
    an emoji is two UTF-16 units: the prompt must still end exactly at the cursor."""
    engine: ScriptedEngine = scripted.engine  # type: ignore[attr-defined]
    engine.script = lambda frame: [" 1"]
    text = 'import os\n\x0c\ndef f():\n    s = "😀😀" + \n    return s\n'
    uri = open_doc(scripted, repo / "pkg" / "feeds.py", text)
    line3 = text.split("\n")[3]
    character = len(line3) + 2  # two characters outside the BMP: one more unit each
    result = await inline(scripted, uri, 3, character)
    assert result is not None and result.items[0].range.start == types.Position(3, character)
    cursor = text.index(line3) + len(line3)
    expected = f"{text[:cursor]}<fim_suffix>{text[cursor:]}<fim_middle>"
    assert decoded_prompt(scripted_env, engine.generates[-1]).endswith(expected)

    insert(scripted, uri, 2, 4, 4, "x")  # after the form feed: "    xreturn s"
    await inline(scripted, uri, 4, 5)
    edited = text.replace("    return s", "    xreturn s")
    cursor = edited.index("    x") + 5
    expected = f"{edited[:cursor]}<fim_suffix>{edited[cursor:]}<fim_middle>"
    assert decoded_prompt(scripted_env, engine.generates[-1]).endswith(expected)


async def test_unopened_and_secret_documents_get_null_without_asking_the_engine(
        scripted: LanguageClient, repo: Path) -> None:
    engine: ScriptedEngine = scripted.engine  # type: ignore[attr-defined]
    asked = len(engine.generates)
    assert await inline(scripted, (repo / "pkg" / "geometry.py").as_uri(), 3, 0) is None
    uri = open_doc(scripted, repo / "pkg" / ".env", "API_KEY=", language="dotenv")
    assert await inline(scripted, uri, 0, 8) is None
    assert len(engine.generates) == asked
