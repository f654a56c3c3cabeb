"""`RepoIndex.refresh_paths`: files changed on disk outside the editor (a checkout, a
formatter, another editor) are re-read, and the index ends as a fresh index of the same disk
would be; open buffers win over the disk until they are closed.

Fixture: the polyglot project of fixtures.py (not a git repository: git plays no part here),
plus `pkg/uses.py`, which imports a module `pkg/shapes.py` that the tests create later."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from autan.indexer.index import RepoIndex
from tests.indexer.fixtures import make_polyglot_repo, write

USES = "from pkg.shapes import zorbulate\n\n\ndef area() -> int:\n    return zorbulate(2)\n"
SHAPES = "def zorbulate(n: int) -> int:\n    return n * n\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = make_polyglot_repo(tmp_path / "repo")
    write(root, "pkg/uses.py", USES)
    return root


@pytest.fixture
def index(repo: Path) -> RepoIndex:
    return RepoIndex.open(repo)[0]


def state(index: RepoIndex) -> dict[str, Any]:
    """Everything refresh_paths keeps current, comparable between two indexes."""
    return {
        "records": {p: (r.sha1, r.resolved_imports) for p, r in index.records.items()},
        "definitions": {n: sorted((p, d.start_line) for p, d in v)
                        for n, v in index.definitions.items()},
        "imports": {p: index.graph.imports_of(p) for p in index.records},
        "importers": {p: index.graph.importers_of(p) for p in index.records},
        "resolver": sorted(index.resolver.files),
    }


def assert_fresh(index: RepoIndex) -> None:
    """The refreshed index equals a new index of the same disk (and its buffers)."""
    fresh = RepoIndex(index.root)
    for path, text in index.buffers.items():
        fresh.update_buffer(path, index._raw[path][0])
        assert fresh.buffers[path] == text
    fresh.refresh(persist=False)
    assert state(index) == state(fresh)


def defined_in(index: RepoIndex, name: str) -> list[str]:
    return [path for path, _ in index.definitions.get(name, [])]


def test_a_modified_file_gains_and_loses_definitions(repo: Path, index: RepoIndex) -> None:
    text = (repo / "pkg/core.py").read_text().replace("def add(", "def multiply(")
    (repo / "pkg/core.py").write_text(text)
    assert index.refresh_paths(["pkg/core.py"]) == ["pkg/core.py"]
    assert defined_in(index, "multiply") == ["pkg/core.py"] and "add" not in index.definitions
    assert index.refresh_paths([repo / "pkg/core.py"]) == []  # nothing changed since
    os.utime(repo / "pkg/core.py", ns=(1, 1))  # touched, not changed
    assert index.refresh_paths(["pkg/core.py"]) == []
    assert_fresh(index)


def test_a_new_file_is_indexed_and_its_importers_resolve_to_it(repo: Path,
                                                               index: RepoIndex) -> None:
    assert index.records["pkg/uses.py"].resolved_imports == []
    write(repo, "pkg/shapes.py", SHAPES)
    assert index.refresh_paths([str(repo / "pkg/shapes.py")]) == ["pkg/shapes.py"]
    assert defined_in(index, "zorbulate") == ["pkg/shapes.py"]
    assert index.records["pkg/uses.py"].resolved_imports == ["pkg/shapes.py"]
    assert index.graph.importers_of("pkg/shapes.py") == ["pkg/uses.py"]
    assert_fresh(index)


def test_a_deleted_file_leaves_no_trace(repo: Path, index: RepoIndex) -> None:
    assert "pkg/util/strings.py" in index.graph.imports_of("pkg/app.py")
    (repo / "pkg/util/strings.py").unlink()
    assert index.refresh_paths(["pkg/util/strings.py"]) == ["pkg/util/strings.py"]
    assert "pkg/util/strings.py" not in index.records and "slugify" not in index.definitions
    assert "pkg/util/strings.py" not in index.resolver.files
    assert "pkg/util/strings.py" not in index.graph.imports_of("pkg/app.py")
    assert index.graph.importers_of("pkg/util/strings.py") == []
    assert index.text_of("pkg/util/strings.py") is None
    assert_fresh(index)


def test_a_deleted_folder_drops_every_file_in_it(repo: Path, index: RepoIndex) -> None:
    shutil.rmtree(repo / "pkg/util")
    assert index.refresh_paths(["pkg/util"]) == [
        "pkg/util/__init__.py", "pkg/util/local_settings.py", "pkg/util/strings.py"]
    assert_fresh(index)


def test_a_new_folder_is_walked(repo: Path, index: RepoIndex) -> None:
    write(repo, "lib2/one.py", "def first_one() -> None:\n    pass\n")
    write(repo, "lib2/deep/two.py", "def second_two() -> None:\n    pass\n")
    assert index.refresh_paths(["lib2"]) == ["lib2/deep/two.py", "lib2/one.py"]
    assert defined_in(index, "second_two") == ["lib2/deep/two.py"]
    assert_fresh(index)


def test_a_file_newly_ignored_is_dropped(repo: Path, index: RepoIndex) -> None:
    with open(repo / ".gitignore", "a", encoding="utf-8") as handle:
        handle.write("pkg/util/\n")
    changed = index.refresh_paths([".gitignore"])
    assert changed == [".gitignore", "pkg/util/__init__.py", "pkg/util/local_settings.py",
                       "pkg/util/strings.py"]
    assert "slugify" not in index.definitions
    write(repo, "pkg/util/more.py", "def more() -> None:\n    pass\n")
    assert index.refresh_paths(["pkg/util/more.py"]) == []
    assert_fresh(index)


def test_ignored_secret_and_outside_paths_are_never_indexed(repo: Path, tmp_path: Path,
                                                            index: RepoIndex) -> None:
    write(repo, "pkg/.env.local", "TOKEN=abc\n")
    write(repo, "deploy/server.pem", "key\n")
    write(repo, "cache.tmp", "def hidden() -> None:\n    pass\n")
    write(repo, "web/node_modules/x/index.js", "export function vendored() {}\n")
    write(tmp_path, "outside.py", "def outside() -> None:\n    pass\n")
    paths = ["pkg/.env.local", "deploy/server.pem", "cache.tmp", "web/node_modules/x/index.js",
             tmp_path / "outside.py", ".git/index", "missing.py"]
    assert index.refresh_paths(paths) == []
    assert "pkg/.env.local" not in index.records and "hidden" not in index.definitions
    assert_fresh(index)


def test_an_open_buffer_wins_over_the_disk_until_closed(repo: Path, index: RepoIndex) -> None:
    disk = (repo / "pkg/core.py").read_text()
    index.update_buffer("pkg/core.py", disk + "\n\ndef from_buffer() -> None:\n    pass\n")
    (repo / "pkg/core.py").write_text(disk + "\n\ndef from_disk() -> None:\n    pass\n")
    assert index.refresh_paths(["pkg/core.py"]) == []
    assert defined_in(index, "from_buffer") == ["pkg/core.py"]
    assert "from_disk" not in index.definitions
    index.refresh_paths([".gitignore"])  # a whole refresh keeps the buffer too
    assert "from_buffer" in index.definitions and "from_disk" not in index.definitions
    assert_fresh(index)
    index.close_buffer("pkg/core.py")
    assert defined_in(index, "from_disk") == ["pkg/core.py"]
    assert "from_buffer" not in index.definitions
    assert "from_disk" in (index.text_of("pkg/core.py") or "")
    assert_fresh(index)


def test_closing_an_unsaved_buffer_restores_the_disk(repo: Path, index: RepoIndex) -> None:
    disk = (repo / "pkg/app.py").read_text()
    index.update_buffer(repo / "pkg/app.py", "def unsaved_draft() -> None:\n    pass\n")
    index.update_buffer("pkg/never_saved.py", "def nowhere() -> None:\n    pass\n")
    index.close_buffer(repo / "pkg/app.py")
    index.close_buffer("pkg/never_saved.py")
    assert index.text_of("pkg/app.py") == disk
    assert "unsaved_draft" not in index.definitions and "nowhere" not in index.definitions
    assert "pkg/never_saved.py" not in index.records
    assert_fresh(index)


def test_git_signals_are_reloaded_after_a_refresh(index: RepoIndex) -> None:
    first = index.git
    index.refresh_paths(["pkg/core.py"])
    assert index.git is not first
