"""Evaluation: span picking by syntax and by indentation, metrics on toy cases, the context
budget, and a whole (tiny) evaluation with its report."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest
import torch

from autan.model.io.fim import AUTAN
from autan.model.io.tokenizer import Tokenizer
from autan.model.runtime.engine import Engine
from autan.train.corpus import Document
from autan.train.evaluate import (
    EvalOptions,
    evaluate_fim,
    fit_tokens,
    format_report,
    make_tasks,
    perplexity,
    simple_context,
)
from autan.train.loop import build_model, model_config
from autan.train.spans import (
    FimTask,
    edit_similarity,
    exact_match,
    pick_spans,
    python_parser,
)
from tests.train.fixtures import make_docs, make_tokenizer

CODE = '''def total(items):
    """Sum the items.

    A docstring line long enough to be picked if strings were not skipped.
    """
    result = 0
    for item in items:
        result += item
        print(item)
    return result
'''


def test_metrics_on_toy_cases() -> None:
    assert exact_match("return x  \n", "return x")
    assert not exact_match("return y", "return x")
    assert edit_similarity("abc", "abd") == pytest.approx(2 / 3)
    assert edit_similarity("", "") == 1.0 and edit_similarity("abc", "") == 0.0


@pytest.mark.parametrize("parser", [python_parser(), None], ids=["syntax", "indentation"])
def test_spans_cut_lines_and_blocks(parser: object) -> None:
    for seed in range(20):
        tasks = pick_spans("p", "p/m.py", CODE, random.Random(seed), parser)
        kinds = {t.kind: t for t in tasks}
        assert set(kinds) == {"single-line", "multi-line"}
        for task in tasks:
            assert task.prefix + task.middle + task.suffix == CODE
            assert task.suffix.startswith("\n") and not task.middle.startswith(" ")
        line = kinds["single-line"].middle
        assert "\n" not in line and "docstring" not in line
        assert kinds["multi-line"].middle == "result += item\n        print(item)"


def test_context_fits_the_budget_and_skips_the_file(tmp_path: Path) -> None:
    docs = make_docs(packages=1, files=6)
    tok = Tokenizer.from_file(make_tokenizer(tmp_path, docs))
    count = lambda text: len(tok.encode(text))  # noqa: E731
    task = FimTask("pkg0", docs[0].path, "single-line", docs[0].text[:50], "x",
                   docs[0].text[51:])
    context = simple_context(task, docs, 300, count)
    assert context and docs[0].path not in {p for p, _ in context}
    assert sum(count(f"{p}\n") + 1 + count(t) for p, t in context) <= 300
    assert fit_tokens("a = 1\n" * 100, 20, count, keep_end=True).endswith("a = 1\n")


def test_a_tiny_evaluation_end_to_end(tmp_path: Path) -> None:
    docs = make_docs(packages=2, files=3)
    tok_path = make_tokenizer(tmp_path, docs)
    model = build_model(model_config("tiny-hybrid", tok_path), 0, torch.device("cpu")).eval()
    engine = Engine(model.requires_grad_(False), Tokenizer.from_file(tok_path))
    opts = EvalOptions(tasks=2, budgets=(0, 256), single_max_tokens=4, multi_max_tokens=6,
                       ppl_files=3)
    tasks = make_tasks(docs, opts)
    assert sorted(t.kind for t in tasks) == ["multi-line"] * 2 + ["single-line"] * 2
    report = evaluate_fim(engine, AUTAN, tasks, docs, opts)
    assert set(report.fim) == {0, 256} and report.fim[0]["single-line"].n == 2
    assert report.fim[256]["single-line"].prompt_tokens > report.fim[0]["single-line"].prompt_tokens
    report.bits_per_byte, report.token_loss, report.ppl_bytes = perplexity(engine, docs, opts)
    assert math.isfinite(report.bits_per_byte) and report.ppl_bytes > 0
    text = format_report(report)
    assert "| none |" in text and "Lift from 256 context" in text and "bits per byte" in text


def test_tasks_come_only_from_the_given_documents() -> None:
    docs = [Document("held", "held/a.py", CODE), Document("held", "held/b.py", CODE + "\n")]
    tasks = make_tasks(docs, EvalOptions(tasks=5))
    assert {t.path for t in tasks} <= {"held/a.py", "held/b.py"} and len(tasks) == 4
