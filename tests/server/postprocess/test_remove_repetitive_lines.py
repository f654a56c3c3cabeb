from __future__ import annotations

from autan.server.postprocess.remove_repetitive_lines import remove_repetitive_lines
from tests.server.postprocess.helpers import apply, inline, text_of

DOC = """
def setup():
    ║
"""


def test_a_looping_line_is_cut_to_its_first_copy() -> None:
    completion = inline("""
        ├x = 1
            items.append(1)
            items.append(1)
            items.append(1)
            items.append(2)
            items.append(1)
            items.appe┤
    """)
    assert text_of(apply(remove_repetitive_lines, DOC, completion, "python")) == (
        "x = 1\n    items.append(1)")


def test_near_copies_with_blank_lines_count() -> None:
    completion = "a()\n" + "print('hello world')\n\n" * 6 + "print('hel"
    assert text_of(apply(remove_repetitive_lines, DOC, completion)) == (
        "a()\nprint('hello world')")


def test_a_few_similar_lines_are_legitimate() -> None:
    completion = inline("""
        ├self.a = a
            self.b = b
            self.c = c
            self.d = d┤
    """)
    assert text_of(apply(remove_repetitive_lines, DOC, completion)) == completion


def test_short_completions_are_untouched() -> None:
    assert text_of(apply(remove_repetitive_lines, DOC, "")) == ""
    assert text_of(apply(remove_repetitive_lines, DOC, "x\nx\nx")) == "x\nx\nx"
