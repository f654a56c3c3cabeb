"""The tree-sitter facts `decide_multiline` reads, and the fallback without a grammar."""

from __future__ import annotations

import pytest

import autan.indexer.languages as languages
from autan.server.postprocess._syntax import CursorSyntax, cursor_syntax
from autan.server.postprocess.decide_multiline import decide_multiline
from autan.server.postprocess.types import Completion
from tests.server.postprocess.helpers import context


def facts(doc: str, language: str) -> CursorSyntax:
    syntax = cursor_syntax(context(doc, language))
    assert syntax is not None
    return syntax


def test_strings_and_comments() -> None:
    assert facts('s = """abc\n║\n"""\n', "python").in_string
    assert facts("x = 1  # note║\n", "python").in_comment
    assert facts("/* a ║ */\n", "c").in_comment
    assert not facts("/* a */║\n", "c").in_comment
    assert not facts("print('a')║\n", "python").in_string


def test_expression_containers() -> None:
    assert facts("foo(a,\n    ║\n)\n", "python").in_expression
    assert facts("const a = [\n  1,\n  ║\n];\n", "javascript").in_expression
    assert not facts("describe('x', () => {\n  ║\n});\n", "typescript").in_expression
    assert not facts("int main()║\n{\n}\n", "c").in_expression


def test_block_headers() -> None:
    assert facts("if x:\n    pass\nelse:║\n", "python").opens_block
    assert facts("def foo║\nend\n", "ruby").opens_block
    assert facts("int main()║\n{\n}\n", "c").opens_block
    assert not facts("x = ║\n", "python").opens_block
    assert not facts("d = {'a':║}\n", "python").opens_block


def test_the_window_parsed_is_bounded() -> None:
    doc = "def f():\n    return 1\n" * 5000 + "def g():\n    x = foo(a,\n        ║\n    )\n"
    assert facts(doc, "python").in_expression


def test_unknown_language_gives_no_facts() -> None:
    assert cursor_syntax(context("x = ║", None)) is None


def test_missing_grammar_falls_back_to_text_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise ImportError(name)

    monkeypatch.setattr(languages, "get_language", missing)
    ctx = context("def f(x):║\n", "python")
    assert cursor_syntax(ctx) is None
    decide_multiline(Completion("x"), ctx)
    assert ctx.multiline is True
