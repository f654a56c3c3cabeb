"""`autan bench index` keeps its own index store: the caller's environment and cache are left
as they were."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from autan.bench.index import bench_index


def test_bench_index_leaves_the_callers_cache_and_environment_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user_cache = tmp_path / "user-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(user_cache))
    tree = tmp_path / "work" / "stdlib"
    (tree / "json").mkdir(parents=True)
    body = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(120))
    (tree / "json" / "decoder.py").write_text(body)
    (tree / "json" / "__init__.py").write_text("from json.decoder import f1\n")

    result = bench_index(tree, lambda text: len(text) // 4, [256])

    assert os.environ["XDG_CACHE_HOME"] == str(user_cache)
    assert not user_cache.exists()
    assert [p.suffix for p in (tree.parent / "cache").iterdir()] == [".msgpack"]
    assert result.files == 2 and result.one_edit_parsed == 1
