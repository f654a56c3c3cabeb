"""`build_context` reads the index and changes nothing in it: not for a cursor in an editor
buffer whose text differs from the disk, and not when the caller passes the cursor file's
text itself (`open_buffers`, read and never indexed).

Fixture: the polyglot repository with its git history; `pkg/core.py` opened as a buffer with
a definition the disk does not have."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from autan.indexer.context import build_context
from autan.indexer.index import RepoIndex
from tests.indexer.fixtures import POLYGLOT_HISTORY, git_init, make_polyglot_repo

BUFFER = "pkg/core.py"


def count(text: str) -> int:
    return max(len(text) // 4, len(text.split()))


@pytest.fixture
def index(tmp_path_factory: pytest.TempPathFactory) -> RepoIndex:
    root = make_polyglot_repo(tmp_path_factory.mktemp("pure") / "repo")
    git_init(root, POLYGLOT_HISTORY)
    idx, _ = RepoIndex.open(root, persist=False)
    disk = idx.text_of(BUFFER) or ""
    idx.update_buffer(BUFFER, disk + "\n\ndef only_in_the_editor(x: int) -> int:\n    return x\n")
    return idx


def state(index: RepoIndex) -> dict[str, Any]:
    """Everything the index holds, copied: records, buffers, definitions, import edges."""
    return copy.deepcopy({
        "records": index.records, "buffers": index.buffers,
        "definitions": index.definitions,
        "imports": {p: index.graph.imports_of(p) for p in index.records},
        "importers": {p: sorted(index.graph.importers_of(p)) for p in index.records},
    })


@pytest.mark.parametrize("budget", [256, 4096, 262144])
def test_build_context_leaves_the_index_unchanged(index: RepoIndex, budget: int) -> None:
    before = state(index)
    line = (index.text_of(BUFFER) or "").split("\n").index("    return x")
    ctx = build_context(index, BUFFER, line, 4, budget, count)
    assert "only_in_the_editor" in ctx.prefix + ctx.suffix  # the buffer, not the disk
    for path in ("pkg/app.py", BUFFER):
        build_context(index, path, 6, 0, budget, count, recent=[BUFFER])
    assert state(index) == before


def test_a_text_passed_in_is_read_and_not_indexed(index: RepoIndex) -> None:
    before = state(index)
    text = "def passed_in_only() -> None:\n    pass\n"
    ctx = build_context(index, BUFFER, 1, 4, 4096, count, open_buffers={BUFFER: text})
    assert ctx.prefix + ctx.suffix == text
    assert state(index) == before
    assert "passed_in_only" not in index.definitions
