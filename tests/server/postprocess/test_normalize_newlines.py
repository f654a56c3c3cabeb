from __future__ import annotations

from autan.server.postprocess.normalize_newlines import normalize_newlines
from autan.server.postprocess.restore_newlines import restore_newlines
from autan.server.postprocess.types import Completion
from tests.server.postprocess.helpers import apply, context, text_of


def test_crlf_and_lone_cr_become_lf() -> None:
    assert text_of(apply(normalize_newlines, "x = ║", "1\r\ny = 2\rz")) == "1\ny = 2\nz"


def test_lf_text_is_returned_as_is() -> None:
    item = Completion("a\nb")
    assert normalize_newlines(item, context("║")) is item


def test_restore_uses_the_files_line_ending() -> None:
    ctx = context("a = 1\r\nb = ║\r\n")
    assert restore_newlines(Completion("1\nc = 2"), ctx).text == "1\r\nc = 2"
    assert restore_newlines(Completion("1\nc = 2"), context("b = ║\n")).text == "1\nc = 2"
