from __future__ import annotations

from autan.server.postprocess.limit_to_line import limit_to_line
from tests.server.postprocess.helpers import apply, inline, text_of


def test_single_line_mode_keeps_the_first_line() -> None:
    completion = inline("""
        ├a, b)
        print(c)┤
    """)
    result = apply(limit_to_line, "foo(║", completion, multiline=False)
    assert text_of(result) == "a, b)"
    assert result is not None and result.stop_reason == "limit_to_line"


def test_multiline_or_undecided_mode_keeps_everything() -> None:
    assert text_of(apply(limit_to_line, "x = ║", "1\ny = 2", multiline=True)) == "1\ny = 2"
    assert text_of(apply(limit_to_line, "x = ║", "1\ny = 2")) == "1\ny = 2"


def test_a_completion_starting_with_a_newline_becomes_empty() -> None:
    assert text_of(apply(limit_to_line, "x = 1║", "\ny = 2", multiline=False)) == ""
