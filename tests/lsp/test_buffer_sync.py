"""The index follows the editor's buffers end to end: after incremental didChange edits, what
the index holds for the document (`autan/indexedDocument`) is what a fresh parse of the final
text gives, the next completion's prompt (in another file) holds a definition the edits added,
and didClose gives the file on disk back.

Fixtures: a repository written here, `pkg/geometry.py` (opened and edited: an import, a rename,
a deletion, a definition typed in pieces, an insertion after an emoji, so UTF-16 columns
matter) and `pkg/main.py`, which imports from it; a scripted engine, which records prompts."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient

from autan.indexer.parse import parse_source
from autan.model.io.tokenizer import Tokenizer
from tests.lsp.harness import (
    ScriptedEngine,
    ServerEnv,
    inline,
    lsp_server,
    open_doc,
    plain,
    stats,
    until,
    within,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

GEOMETRY = '''"""Points and distances 😀."""
import math


class Point:
    def __init__(self, x: float, y: float) -> None:
        self.x = x
        self.y = y


def distance(a: Point, b: Point) -> float:
    return math.hypot(a.x - b.x, a.y - b.y)
'''
MAIN = "from pkg.geometry import Point, zorbulate\n\n\ndef run() -> int:\n    return "
# (text to find in the document, what replaces it): each is one incremental change.
EDITS = [
    ("import math\n", "import math\nimport json\n"),
    ("def distance(", "def span("),
    ("        self.y = y\n", ""),
    ("😀", "😀 and more"),
    ("b.y)\n", "b.y)\n\n\ndef zorb"),
    ("def zorb", "def zorbulate(n: int) "),
    ("def zorbulate(n: int) ", "def zorbulate(n: int) -> int:\n    return n * 4217\n"),
]


@pytest.fixture(scope="module")
def sync_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lsp-sync")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "geometry.py").write_text(GEOMETRY)
    (root / "pkg" / "main.py").write_text(MAIN)
    return root


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(scripted_env: ServerEnv, sync_repo: Path) -> AsyncIterator[LanguageClient]:
    engine = await ScriptedEngine(scripted_env.socket, script=lambda frame: [" 1"]).start()
    async with lsp_server(scripted_env, [sync_repo]) as client:
        client.engine = engine  # type: ignore[attr-defined]
        yield client
    await engine.stop()


def position(text: str, offset: int) -> types.Position:
    """The LSP position of an offset in a text with "\\n" line breaks: UTF-16 columns."""
    line_start = text.rfind("\n", 0, offset) + 1
    units = len(text[line_start:offset].encode("utf-16-le")) // 2
    return types.Position(text.count("\n", 0, offset), units)


def replace_first(client: LanguageClient, uri: str, version: int, text: str, old: str,
                  new: str) -> str:
    """Send the incremental change that replaces the first `old` by `new`; the new text."""
    start = text.index(old)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        [types.TextDocumentContentChangePartial(
            range=types.Range(position(text, start), position(text, start + len(old))),
            text=new)]))
    return text[:start] + new + text[start + len(old):]


async def indexed(client: LanguageClient, uri: str) -> dict[str, Any]:
    reply = await within(client.protocol.send_request_async(
        "autan/indexedDocument", {"textDocument": {"uri": uri}}), 30)
    assert reply is not None
    return plain(reply)


async def test_incremental_edits_reach_the_index_and_the_next_prompt(
        client: LanguageClient, scripted_env: ServerEnv, sync_repo: Path) -> None:
    async def folders_indexed() -> bool:
        return all(f["files"] is not None for f in (await stats(client))["folders"])

    await until(folders_indexed)
    uri = open_doc(client, sync_repo / "pkg" / "geometry.py", GEOMETRY)
    text = GEOMETRY
    for version, (old, new) in enumerate(EDITS, start=2):
        text = replace_first(client, uri, version, text, old, new)

    view = await indexed(client, uri)
    symbols, _ = parse_source(text, "python")
    assert view["buffer"] is True and view["path"] == "pkg/geometry.py"
    assert view["sha1"] == hashlib.sha1(text.encode("utf-8")).hexdigest()
    assert view["definitions"] == [asdict(d) for d in symbols.definitions]
    assert view["imports"] == [asdict(i) for i in symbols.imports]
    assert {"span", "zorbulate"} <= {d["name"] for d in view["definitions"]}

    engine: ScriptedEngine = client.engine  # type: ignore[attr-defined]
    main = open_doc(client, sync_repo / "pkg" / "main.py", MAIN)
    await inline(client, main, 4, len("    return "), invoked=True)
    prompt = Tokenizer.from_dir(scripted_env.model).decode(engine.generates[-1]["prompt_ids"])
    assert "def zorbulate(n: int) -> int:" in prompt  # only the edited buffer defines it
    assert "def distance(" not in prompt  # renamed in the buffer: the disk's name is gone

    client.text_document_did_close(types.DidCloseTextDocumentParams(
        types.TextDocumentIdentifier(uri=uri)))
    view = await indexed(client, uri)
    assert view["buffer"] is False
    assert "distance" in {d["name"] for d in view["definitions"]}
