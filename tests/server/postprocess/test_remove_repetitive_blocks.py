from __future__ import annotations

from autan.server.postprocess.remove_repetitive_blocks import remove_repetitive_blocks
from tests.server.postprocess.helpers import apply, inline, text_of

DOC = "import pytest\n\n║\n"


def test_a_looping_block_is_cut_to_its_first_copy() -> None:
    completion = inline("""
        ├def test_a():
            assert f(1) == 1

        def test_a():
            assert f(2) == 1

        def test_a():
            assert f(1) == 1

        def test_a():
            assert f(┤
    """)
    assert text_of(apply(remove_repetitive_blocks, DOC, completion, "python")) == (
        "def test_a():\n    assert f(1) == 1")


def test_different_blocks_are_kept() -> None:
    completion = inline("""
        ├def test_a():
            assert f(1) == 1

        def test_b():
            assert g(2) == [1, 2, 3]

        def test_c():
            with pytest.raises(ValueError):
                h()┤
    """)
    assert text_of(apply(remove_repetitive_blocks, DOC, completion)) == completion


def test_one_line_is_untouched() -> None:
    assert text_of(apply(remove_repetitive_blocks, DOC, "x = 1")) == "x = 1"
