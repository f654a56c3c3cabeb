"""The pipeline as a whole: its shape, its guarantees (never raise, stay fast), CRLF files."""

from __future__ import annotations

import ast
import importlib
import logging
import random
from pathlib import Path

import pytest

import autan.server.postprocess as postprocess
from autan.server.postprocess import PIPELINE, run_pipeline
from autan.server.postprocess.types import (
    PREFIX_WINDOW,
    SUFFIX_WINDOW,
    Completion,
    CompletionContext,
)

PACKAGE = Path(postprocess.__file__).parent
HELPERS = {"__init__", "types"}


def filter_modules() -> list[str]:
    """Every filter module: the package's public modules other than types."""
    return sorted(p.stem for p in PACKAGE.glob("*.py")
                  if not p.stem.startswith("_") and p.stem not in HELPERS)


def test_each_filter_module_holds_one_public_function_named_after_it() -> None:
    for name in filter_modules():
        tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
        public = [node.name for node in tree.body
                  if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")]
        assert public == [name], f"{name}.py defines {public}"
        assert ast.get_docstring(tree), f"{name}.py has no module docstring"


def test_pipeline_runs_every_filter_once() -> None:
    names = [step.__name__ for step in PIPELINE]
    assert sorted(names) == filter_modules()
    for step in PIPELINE:
        module = importlib.import_module(f"autan.server.postprocess.{step.__name__}")
        assert getattr(module, step.__name__) is step


def test_pipeline_order_constraints() -> None:
    names = [step.__name__ for step in PIPELINE]
    assert names[0] == "normalize_newlines" and names[-1] == "restore_newlines"
    assert names.index("decide_multiline") < names.index("limit_to_line")
    assert names.index("decide_multiline") < names.index("limit_scope")
    assert names.index("fix_indent_unit") < names.index("stop_at_suffix")
    assert names.index("balance_brackets") < names.index("trim_whitespace")
    assert names.index("trim_whitespace") < names.index("drop_empty")


def test_a_raising_filter_is_skipped_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    def broken(item: Completion, ctx: CompletionContext) -> Completion:
        raise RuntimeError("bug")

    ctx = CompletionContext("x = ", "")
    with caplog.at_level(logging.ERROR):
        out = run_pipeline(Completion("1"), ctx, [broken, *PIPELINE])
    assert out is not None and out.text == "1"
    assert "broken" in caplog.text


def test_crlf_file_end_to_end() -> None:
    ctx = CompletionContext("def f(x):\r\n    if x:", "\r\n    return 0\r\n", language="python")
    out = run_pipeline(Completion("\r\n        return 1\r\n    return 0\r\n"), ctx)
    assert out is not None and out.text == "\r\n        return 1"


def test_the_completion_keeps_unicode() -> None:
    ctx = CompletionContext("greeting = ", "\n", language="python")
    out = run_pipeline(Completion('"héllo wörld ✓ 𝄞"  '), ctx)
    assert out is not None and out.text == '"héllo wörld ✓ 𝄞"'


ODD_TEXTS = ["", "\n", "\r\n", "\r", "\t", " ", "║", "\x00", "\ud800", "(", ")", "}", "]]",
             '"', "'''", "`", "/*", "*/", "#", "//", "--", "\\", "é", "𝄞", "\u2028",
             "\t\t}\n", "    x\n", "x" * 300, "(" * 500, ")" * 500, "\n" * 200]


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(ODD_TEXTS + ["a", "b = 1", ":", "{", " if x:"])
                   for _ in range(rng.randint(0, 12)))


@pytest.mark.parametrize("language", [None, "python", "typescript", "go", "rust", "ruby",
                                      "bash", "lua", "c", "tsx", "php"])
def test_no_filter_raises_on_odd_input(language: str | None) -> None:
    rng = random.Random(language or "none")
    for _ in range(150):
        ctx = CompletionContext(random_text(rng), random_text(rng), language=language,
                                multiline=rng.choice([None, True, False]))
        item = Completion(random_text(rng), rng.choice([0, 0, 1, 3]))
        for step in PIPELINE:
            result = step(item, ctx)  # called directly: the guard must not hide bugs
            assert result is None or isinstance(result, Completion)
            if result is None:
                break
            item = result


def test_a_10mb_suffix_is_read_only_through_its_bounded_window() -> None:
    """Why a 10 MB suffix costs what a small one does: filters only see a bounded window.
    (Speed itself is measured in benchmarks, not asserted here.)"""
    prefix = "import os\n\n\ndef main(argv):\n    if argv:"
    small = "\n    return 0\n"
    huge = small + "x = (1 + 2)  # ( [ {\n" * 500_000
    assert len(huge) > 10_000_000
    completion = Completion("\n        return len(argv)\n    return 0\n")
    outs = []
    for suffix in (small, huge):
        ctx = CompletionContext(prefix, suffix, language="python")
        assert len(ctx.suffix) <= SUFFIX_WINDOW
        outs.append(run_pipeline(completion, ctx))
    assert outs[0] is not None and outs[0].text == "\n        return len(argv)"
    assert outs[1] == outs[0]


def test_typical_completion_reads_a_bounded_prefix() -> None:
    prefix = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(400))
    prefix += "class A:\n    def run(self, items):║"
    doc_prefix, _ = prefix.split("║")
    completion = Completion("\n        for item in items:\n            self.handle(item)\n"
                            "        return len(items)\n\n    def stop(self):\n        pass")
    ctx = CompletionContext(doc_prefix, "\n", language="python")
    assert len(ctx.prefix) <= PREFIX_WINDOW
    assert run_pipeline(completion, ctx) is not None


@pytest.mark.parametrize(("prefix", "suffix"), [
    ("", ""),
    ("x\r", "\ny"),
    ("\ud800(", "\udfff)"),
    ("\x00" * 100, "\x00"),
    ("\t" * 10_000, "\t"),
    ("é" * 50_000 + "(", ")" + "ü" * 50_000),
    ("{" * 20_000, "}" * 20_000),
    ('"' * 30_001, "'" * 30_001),
])
def test_pipeline_survives_odd_documents(prefix: str, suffix: str) -> None:
    for language in (None, "python", "javascript", "rust"):
        ctx = CompletionContext(prefix, suffix, language=language)
        for text in ("", "x", "\r\n\t)", "}\n}\n}", "\ud800"):
            item: Completion | None = Completion(text)
            for step in PIPELINE:
                assert item is not None
                item = step(item, ctx)
                if item is None:
                    break
