"""`autan index` and `autan context` as a user runs them, on the polyglot fixture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.indexer.fixtures import POLYGLOT_HISTORY, SEEDED_SECRETS, git_init, make_polyglot_repo


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_polyglot_repo(tmp_path_factory.mktemp("cli") / "repo")
    git_init(root, POLYGLOT_HISTORY)
    return root


def autan(*args: str, cwd: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    return subprocess.run([sys.executable, "-P", "-m", "autan.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


def test_index_prints_files_definitions_languages_seconds(repo: Path, tmp_path: Path) -> None:
    result = autan("index", str(repo), cwd=tmp_path, cache=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "files" in result.stdout and "definitions" in result.stdout
    assert " s" in result.stdout and "python" in result.stdout
    again = autan("index", str(repo), cwd=tmp_path, cache=tmp_path)
    assert "0 parsed" in again.stdout


def test_context_json_contract(repo: Path, tmp_path: Path) -> None:
    result = autan("context", "pkg/util/strings.py:11:12", "--budget", "2048", "--json",
                   cwd=repo, cache=tmp_path)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) == {"segments", "prefix_tokens", "suffix_tokens", "total_tokens"}
    assert out["total_tokens"] <= 2048
    for seg in out["segments"]:
        assert set(seg) == {"path", "start_line", "end_line", "kind", "tokens", "score", "why"}
        assert not seg["path"].startswith("/") and seg["start_line"] >= 1
    assert any(s["path"] == "pkg/core.py" for s in out["segments"])
    assert out["total_tokens"] == out["prefix_tokens"] + out["suffix_tokens"] + sum(
        s["tokens"] for s in out["segments"])


def test_context_text_shows_what_goes_to_the_model_without_secrets(repo: Path,
                                                                   tmp_path: Path) -> None:
    result = autan("context", "pkg/config.py:1:1", "--budget", "65536", "--text",
                   cwd=repo, cache=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not any(secret in result.stdout for secret in SEEDED_SECRETS)


@pytest.mark.parametrize("location,fragment", [("nope.py:1:1", "no such file"),
                                               ("pkg/core.py:x:1", "FILE:LINE:COL"),
                                               ("pkg/core.py:0:1", "start at 1")])
def test_context_bad_location(repo: Path, tmp_path: Path, location: str, fragment: str) -> None:
    result = autan("context", location, cwd=repo, cache=tmp_path)
    assert result.returncode == 2 and fragment in result.stderr
    assert "Traceback" not in result.stderr
