"""The on-disk index: round trip, atomic writes, and rebuild (never a crash) when the file is
missing, truncated, corrupt or of another format version."""

from __future__ import annotations

from pathlib import Path

import msgpack
import pytest

from autan.indexer import store
from autan.indexer.types import Definition, FileRecord, FileSymbols, ImportRef


def sample() -> dict[str, FileRecord]:
    symbols = FileSymbols("python", [Definition("add", "function", 0, 1, "def add(a, b):", "")],
                          ["add", "a", "b"], [ImportRef("os.path", ["join"], 0, 0)])
    return {"m.py": FileRecord("m.py", 10, 123, "abc", "python", symbols, ["n.py"], 2, []),
            "n.txt": FileRecord("n.txt", 3, 4, "def", None, None, [], 1, ["oops"])}


def test_round_trip(tmp_path: Path) -> None:
    store.save(tmp_path, sample())
    loaded, note = store.load(tmp_path)
    assert note is None and loaded == sample()


def test_path_is_under_the_user_cache_and_keyed_by_repository(tmp_path: Path,
                                                              cache_home: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    assert store.store_path(a).is_relative_to(cache_home / "autan" / "index")
    assert store.store_path(a) != store.store_path(b)


def test_missing_index_is_empty_not_an_error(tmp_path: Path) -> None:
    assert store.load(tmp_path) == ({}, "no index yet")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "version", "shape"])
def test_damaged_index_is_rebuilt(tmp_path: Path, damage: str) -> None:
    path = store.save(tmp_path, sample())
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\xc1" * 100)
    elif damage == "version":
        path.write_bytes(msgpack.packb({"version": -1, "records": []}))
    else:
        path.write_bytes(msgpack.packb({"version": store.FORMAT_VERSION, "records": [{"x": 1}]}))
    records, note = store.load(tmp_path)
    assert records == {} and "rebuilding" in note


def test_save_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = store.save(tmp_path, sample())
    store.save(tmp_path, sample())
    assert [p.name for p in path.parent.iterdir()] == [path.name]
