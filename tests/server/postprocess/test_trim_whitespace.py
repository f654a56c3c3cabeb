from __future__ import annotations

from autan.server.postprocess.trim_whitespace import trim_whitespace
from autan.server.postprocess.types import Completion
from tests.server.postprocess.helpers import apply, context, text_of


def test_trailing_whitespace_on_each_line_and_at_the_end() -> None:
    doc = "def f():║\n"
    completion = "\n    x = 1   \n    return x  \n\n"
    assert text_of(apply(trim_whitespace, doc, completion, "python")) == (
        "\n    x = 1\n    return x")


def test_space_before_text_after_the_cursor_is_kept() -> None:
    assert text_of(apply(trim_whitespace, "foo(a, ║b)", "x, ")) == "x, "
    assert text_of(apply(trim_whitespace, "foo(a, ║ b)", "x, ")) == "x,"


def test_leading_space_after_a_space_is_dropped() -> None:
    assert text_of(apply(trim_whitespace, "x = ║", " 1")) == "1"
    assert text_of(apply(trim_whitespace, "x =║", " 1")) == " 1"
    assert text_of(apply(trim_whitespace, "    ║", "  y = 1")) == "  y = 1"


def test_multiline_before_a_closer_ends_on_its_own_line() -> None:
    doc = "function f() {\n  if (x) {║}\n}\n"
    assert text_of(apply(trim_whitespace, doc, "\n    y();\n  ", "javascript")) == (
        "\n    y();\n  ")
    assert text_of(apply(trim_whitespace, doc, "\n    y();", "javascript")) == (
        "\n    y();\n  ")


def test_replaced_closers_are_not_text_after_the_cursor() -> None:
    ctx = context("f(() => {║})\n", "javascript")
    item = Completion("\n  g();\n});  ", replace_suffix_chars=2)
    assert trim_whitespace(item, ctx).text == "\n  g();\n});"


def test_unchanged_item_is_returned_as_is() -> None:
    item = Completion("x")
    assert trim_whitespace(item, context("y = ║")) is item
