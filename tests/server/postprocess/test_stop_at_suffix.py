from __future__ import annotations

from autan.server.postprocess.stop_at_suffix import stop_at_suffix
from tests.server.postprocess.helpers import apply, inline, text_of


def test_stops_at_the_line_below() -> None:
    doc = """
        def f(x):
            ║
            return y
    """
    completion = "y = x + 1\n    return y\n\ndef g():"
    result = apply(stop_at_suffix, doc, completion, "python")
    assert text_of(result) == "y = x + 1"
    assert result is not None and result.stop_reason == "stop_at_suffix"


def test_duplicated_closing_line_is_removed() -> None:
    doc = """
        function log(obj) {║
        }
    """
    completion = inline("""
        ├
          console.log(obj);
        };┤
    """)
    assert text_of(apply(stop_at_suffix, doc, completion, "javascript")) == (
        "\n  console.log(obj);")


def test_a_completion_that_only_retypes_the_suffix_becomes_empty() -> None:
    doc = "def f(x):\n    ║\n    return x\n"
    assert text_of(apply(stop_at_suffix, doc, "return x", "python")) == ""


def test_repetition_with_other_indentation_needs_two_lines() -> None:
    doc = "if x:\n    ║\n    a = 1\n    b = 2\n"
    assert text_of(apply(stop_at_suffix, doc, "c = 0\na = 1\nb = 2")) == "c = 0"
    assert text_of(apply(stop_at_suffix, doc, "c = 0\na = 1\nd = 2")) == "c = 0\na = 1\nd = 2"


def test_a_closing_line_at_another_depth_is_not_a_repetition() -> None:
    doc = "class A {\n  f() {\n    ║\n  }\n}\n"
    completion = "if (x) {\n      y();\n    }"
    assert text_of(apply(stop_at_suffix, doc, completion, "javascript")) == completion


def test_text_after_the_cursor_is_not_retyped() -> None:
    assert text_of(apply(stop_at_suffix, "foo(a, ║, b)", "x, b)", "python")) == "x"
    assert text_of(apply(stop_at_suffix, "foo(║)", "x)", "python")) == "x)"  # brackets only


def test_no_suffix_no_change() -> None:
    assert text_of(apply(stop_at_suffix, "x = ║", "1\ny = 2")) == "1\ny = 2"


def test_closing_lines_at_other_depths_are_not_a_repetition() -> None:
    doc = "class Q {\n  drain() {║\n  }\n}\n"
    completion = "\n    while (x) {\n      y();\n    }\n  }"
    assert text_of(apply(stop_at_suffix, doc, completion, "typescript")) == (
        "\n    while (x) {\n      y();\n    }")
