from __future__ import annotations

from autan.server.postprocess.drop_empty import drop_empty
from autan.server.postprocess.types import Completion
from tests.server.postprocess.helpers import apply, context, text_of


def test_empty_and_blank_are_dropped() -> None:
    assert apply(drop_empty, "x = ║", "") is None
    assert apply(drop_empty, "x = ║", " \n\t\n") is None


def test_retyping_only_the_replaced_closers_is_dropped() -> None:
    ctx = context("print(║)")
    assert drop_empty(Completion(")", replace_suffix_chars=1), ctx) is None
    assert drop_empty(Completion("x)", replace_suffix_chars=1), ctx) is not None


def test_content_is_kept() -> None:
    assert text_of(apply(drop_empty, "x = ║", "1")) == "1"
