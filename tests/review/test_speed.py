"""The review speed benchmark's diff is what it says: N files, L changed lines, a real git
history; and one small measurement runs through every phase (its timings are not checked)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch

from autan.model.io.demo import default_or_demo
from autan.model.io.loader import load_model
from autan.model.io.tokenizer import Tokenizer
from autan.model.runtime.engine import Engine, EngineOptions
from autan.review.diff import read_diff
from autan.review.speed import build_repository, measure, pick_files

TEXTS = [(f"pkg/m{i}.py", "".join(f"x{i}_{n} = {n}\n" for n in range(40))) for i in range(3)]


def test_the_built_repository_changes_exactly_the_asked_lines(tmp_path: Path) -> None:
    build_repository(tmp_path, TEXTS, 25, unchanged=[("pkg/other.py", "y = 1\n")])
    diff = read_diff(tmp_path, base="main")
    assert [f.path for f in diff.files] == [p for p, _ in TEXTS]
    assert sum(len(f.changed_lines) for f in diff.files) == 25
    assert {f.path: f.text for f in diff.files} == dict(TEXTS)
    log = subprocess.run(["git", "log", "--oneline"], cwd=tmp_path, capture_output=True,
                         text=True, check=True).stdout
    assert len(log.splitlines()) == 2


def test_pick_files_prefers_the_longest_files_above_the_floor() -> None:
    docs = [("a.py", "x\n" * 200), ("b.py", "x\n" * 400), ("c.py", "x\n" * 10)]
    assert [p for p, _ in pick_files(docs, 5)] == ["a.py", "b.py"]
    assert [p for p, _ in pick_files(docs, 1)] == ["b.py"]


@pytest.mark.slow
def test_a_small_measurement_runs_every_phase() -> None:
    folder = default_or_demo()
    model, _ = load_model(folder, torch.float32, torch.device("cpu"))
    tokenizer = Tokenizer.from_dir(folder)
    engine = Engine(model, tokenizer)
    uncached = Engine(model, tokenizer, EngineOptions(cache_budget_bytes=0))
    result = measure(engine, uncached, TEXTS, 12, [("pkg/other.py", "def y():\n    return 1\n")])
    assert (result.files, result.changed_lines) == (3, 12)
    assert result.tokens_scored > 0 and result.candidates_confirmed >= 0
    assert result.review_s > 0 and result.uncached_review_s > 0
