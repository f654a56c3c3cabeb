"""The planted-bug benchmark's parts: mutants are single-line, parsing and deterministic;
the ranking metrics are right on hand-made scores; each baseline does what it says."""

from __future__ import annotations

import ast
import random

import pytest

from autan.review.baselines import (
    TrigramBaseline,
    length_scores,
    random_scores,
    ruff_scores,
)
from autan.review.evaluation import Ranking, auc_pairs, function_spans, make_tasks, rank_of
from autan.review.mutations import MUTATORS, plant
from autan.review.types import ChangedFile

FUNCTION = '''def scale_all(values, factor, limit=10):
    result = []
    for index in range(len(values)):
        if values[index] > limit and factor != 0:
            result.append(max(values[index] * factor, 1))
    done = True
    return sorted(result, key=abs)
'''
FILE = "import os\n\n\n" + FUNCTION + "\n\ndef other(x):\n    return os.path.join(x, x)\n"


@pytest.mark.parametrize("category", sorted(MUTATORS))
def test_every_category_plants_one_parsing_line_and_is_deterministic(category: str) -> None:
    lines = FUNCTION.rstrip("\n").split("\n")
    first = plant(lines, category, random.Random(3))
    assert first is not None, category
    assert first == plant(lines, category, random.Random(3))
    assert first.mutated != first.original and lines[first.line] == first.original
    mutated = list(lines)
    mutated[first.line] = first.mutated
    ast.parse("\n".join(mutated))
    assert first.line > 0  # never the `def` line


def test_tasks_add_one_function_and_plant_inside_it() -> None:
    tasks = make_tasks([("pkg/m.py", FILE)], 8, seed=1)
    assert tasks
    [(first, last)] = [s for s in function_spans(FILE) if s[0] == 3]
    for task in tasks:
        assert task.clean.text == FILE and task.clean.changed_lines == task.buggy.changed_lines
        assert first <= task.line <= last and task.line in task.buggy.changed_lines
        diff = [n for n, (a, b) in enumerate(zip(FILE.split("\n"),
                                                 task.buggy.text.split("\n"), strict=True))
                if a != b]
        assert diff == [task.line]
    assert make_tasks([("pkg/m.py", FILE)], 8, seed=1) == tasks


def test_auc_and_ranks_on_hand_made_scores() -> None:
    assert auc_pairs(5.0, [1.0, 2.0, 3.0]) == (3.0, 3)
    assert auc_pairs(0.0, [1.0, 2.0]) == (0.0, 2)
    assert auc_pairs(1.0, [1.0, 1.0]) == (1.0, 2)  # ties count a half
    assert rank_of(5.0, [1.0, 6.0]) == 1 and rank_of(1.0, [1.0]) == 0.5
    r = Ranking()
    r.add(9.0, [1.0, 2.0], clean_same_line=3.0)
    r.add(0.0, [1.0, 2.0], clean_same_line=3.0)
    assert (r.auc, r.rate(r.top1), r.rate(r.top5), r.rate(r.paired_wins)) == (0.5, 0.5, 1.0,
                                                                               0.5)


def test_simple_baselines_score_only_changed_lines() -> None:
    file = ChangedFile("m.py", "a = 1\nbb = 22\nccc = 333\n", frozenset({1, 2}))
    assert length_scores(file) == {1: 7.0, 2: 9.0}
    assert set(random_scores(file)) == {1, 2} and random_scores(file) == random_scores(file)


def test_trigram_with_cache_finds_the_line_that_breaks_the_pattern() -> None:
    rows = [f"total = total + values[{i}]" for i in range(20)]
    rows[11] = "total = values ** total [11] +"
    text = "\n".join(rows) + "\n"
    model = TrigramBaseline.train(["x = x + y[0]\n" * 50])
    scores = model(ChangedFile("m.py", text, frozenset(range(20))))
    assert max(scores, key=scores.get) == 11


def test_ruff_flags_an_undefined_name() -> None:
    text = "def f(value):\n    return valeu + 1\n\n\ndef g():\n    return 2\n"
    scores = ruff_scores(ChangedFile("m.py", text, frozenset({0, 1, 4, 5})))
    assert max(scores, key=scores.get) == 1 and scores[1] >= 1.0 > scores[5]


@pytest.mark.slow
def test_bench_review_runs_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from autan.cli.main import main

    code = main(["bench", "review", "--diffs", "2", "--speed-files", "2", "--speed-lines",
                 "10", "--device", "cpu", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["diffs"] == 2
    assert set(report["methods"]) == {"autan", "random", "line length", "trigram+cache",
                                      "ruff (pyflakes)"}
    assert report["speed"]["files"] == 2 and report["speed"]["changed_lines"] > 0
    assert [t["threshold"] for t in report["thresholds"]] == sorted(
        t["threshold"] for t in report["thresholds"])
