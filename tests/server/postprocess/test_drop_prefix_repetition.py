from __future__ import annotations

from autan.server.postprocess.drop_prefix_repetition import drop_prefix_repetition
from tests.server.postprocess.helpers import apply, inline, text_of


def test_repeating_the_lines_above_is_dropped() -> None:
    doc = """
        import os
        import sys
        ║
    """
    assert apply(drop_prefix_repetition, doc, "import os\nimport sys", "python") is None


def test_repeating_one_long_line_completed_from_the_cursor_is_dropped() -> None:
    doc = """
        result = compute(a, b)
        result = ║
    """
    assert apply(drop_prefix_repetition, doc, "compute(a, b)", "python") is None


def test_short_repeated_lines_are_legitimate() -> None:
    doc = """
        function f() {
          if (a) {
            g();
          }
          ║
    """
    assert text_of(apply(drop_prefix_repetition, doc, "}", "javascript")) == "}"


def test_new_code_is_kept() -> None:
    doc = """
        import os
        ║
    """
    completion = inline("""├import sys┤""")
    assert text_of(apply(drop_prefix_repetition, doc, completion)) == "import sys"
    assert text_of(apply(drop_prefix_repetition, "║", "x = 1")) == "x = 1"
