"""The repository index end to end on the polyglot fixture: what is indexed, persistence and
incremental refresh, editor buffers, and secrets that never reach any text it hands out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autan.indexer import store
from autan.indexer.index import RepoIndex
from tests.indexer.fixtures import (
    POLYGLOT_HISTORY,
    SEEDED_SECRETS,
    git_init,
    make_polyglot_repo,
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_polyglot_repo(tmp_path / "repo")
    git_init(root, POLYGLOT_HISTORY)
    return root


def test_index_holds_symbols_and_resolved_imports(repo: Path) -> None:
    index, stats = RepoIndex.open(repo)
    assert stats.files == len(index.records) and stats.parsed == stats.files
    assert {"python", "typescript", "javascript", "go", "rust", "java"} <= set(stats.languages)
    names = {d.name for _, d in index.definitions["add"]}
    assert names == {"add"} and index.definitions["add"][0][0] == "pkg/core.py"
    assert "pkg/core.py" in index.graph.imports_of("pkg/util/strings.py")
    assert "web/src/helpers.js" in index.graph.imports_of("web/src/api.ts")
    assert "go/internal/store/store.go" in index.graph.imports_of("go/cmd/server/main.go")
    assert "rust/src/parser.rs" in index.graph.imports_of("rust/src/main.rs")
    assert "pkg/app.py" in index.graph.importers_of("pkg/util/strings.py")


def test_no_secret_reaches_any_indexed_text(repo: Path) -> None:
    index, _ = RepoIndex.open(repo)
    texts = [index.text_of(p) or "" for p in index.records]
    symbols = [repr(r.symbols) for r in index.records.values()]
    stored = store.store_path(repo).read_bytes().decode("utf-8", "replace")
    for secret in SEEDED_SECRETS:
        for blob in (*texts, *symbols, stored):
            assert secret not in blob
    assert not any(p.endswith((".env", "id_rsa")) for p in index.records)


def test_restart_reparses_only_changed_files(repo: Path) -> None:
    RepoIndex.open(repo)
    _, warm = RepoIndex.open(repo)
    assert warm.parsed == 0 and warm.reused == warm.files
    core = repo / "pkg" / "core.py"
    core.write_text(core.read_text() + "\n\ndef subtract(a, b):\n    return a - b\n")
    os.utime(repo / "README.md")  # touched, content unchanged: the hash keeps it
    index, after = RepoIndex.open(repo)
    assert after.parsed == 1
    assert index.definitions["subtract"][0][0] == "pkg/core.py"


def test_deleted_file_disappears_and_is_not_read(repo: Path) -> None:
    index, _ = RepoIndex.open(repo)
    (repo / "pkg" / "util" / "strings.py").unlink()
    assert index.text_of("pkg/util/strings.py") is None  # no crash on the stale record
    index.refresh()
    assert "pkg/util/strings.py" not in index.records
    assert "slugify" not in index.definitions


def test_corrupt_store_is_rebuilt(repo: Path) -> None:
    RepoIndex.open(repo)
    store.store_path(repo).write_bytes(b"\x00garbage")
    _, stats = RepoIndex.open(repo)
    assert stats.parsed == stats.files and "rebuilding" in (stats.store_note or "")


def test_update_buffer_indexes_unsaved_text(repo: Path) -> None:
    index, _ = RepoIndex.open(repo)
    text = (repo / "pkg" / "app.py").read_text()
    index.update_buffer(repo / "pkg" / "app.py", text + "\ndef render_report():\n    pass\n")
    assert index.definitions["render_report"][0][0] == "pkg/app.py"
    assert "render_report" in (index.text_of("pkg/app.py") or "")
    key = "AK" + "IA" + "ABCDEFGHIJKLMNOP"
    index.update_buffer("pkg/app.py", f'AWS = "{key}"\n')
    assert key not in (index.text_of("pkg/app.py") or "")
    assert index.update_buffer(".env", "TOKEN=abc") is None


def test_progress_is_reported(repo: Path) -> None:
    seen: list[tuple[int, int]] = []
    RepoIndex.open(repo, progress=lambda done, total, _: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1]


def test_folder_that_is_not_a_repository(tmp_path: Path) -> None:
    root = make_polyglot_repo(tmp_path / "plain")
    index, stats = RepoIndex.open(root)
    assert stats.files > 10 and not index.git.available


def test_buffer_edits_reparse_incrementally_to_the_same_symbols(repo: Path) -> None:
    from autan.indexer.parse import TextEdit, parse_source

    index, _ = RepoIndex.open(repo)
    text = (repo / "pkg" / "core.py").read_text()
    index.update_buffer("pkg/core.py", text)
    lines = text.split("\n")
    end = (len(lines) - 1, 0)
    edits = [TextEdit(end, end, "def mul(a, b):\n    return a * b\n"),
             TextEdit((3, 4), (3, 7), "plus")]  # rename add -> plus
    record = index.update_buffer("pkg/core.py", edits=edits)
    assert record is not None and record.symbols is not None
    names = {d.name for d in record.symbols.definitions}
    assert {"plus", "mul"} <= names and "add" not in names
    expected, _ = parse_source(index.buffers["pkg/core.py"], "python")
    assert record.symbols == expected  # the incremental tree gives what a full parse gives
