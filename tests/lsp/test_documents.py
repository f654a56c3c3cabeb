"""The server's view of an open document (`autan.server.documents`): LSP line breaks only,
columns in the client's units, edits applied by slicing. No server: pure functions and
`LspDocument` against pygls's own `TextDocument`, which splits lines with str.splitlines.

Fixtures: inline strings with a form feed, NEL, LINE SEPARATOR, CRLF, emoji and a lone
surrogate."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pygls.workspace import TextDocument

from autan.server.documents import (
    UTF8,
    UTF16,
    UTF32,
    LineIndex,
    LspDocument,
    index_of_units,
    line_starts,
    units_of,
)

ODD = "import os\n\x0c\ndef f():\x85 \u2028 x\r\n    return 1\rend"


def change(line: int, character: int, end_line: int, end_character: int,
           text: str) -> types.TextDocumentContentChangePartial:
    return types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(line, character),
                          types.Position(end_line, end_character)), text=text)


def test_lines_break_at_lf_crlf_and_cr_only() -> None:
    assert line_starts(ODD) == [0, 10, 12, 27, 40]
    index = LineIndex(ODD)
    assert [index.line_text(i) for i in range(5)] == [
        "import os", "\x0c", "def f():\x85 \u2028 x", "    return 1", "end"]
    assert line_starts("a\n") == [0, 2] and line_starts("") == [0]


@pytest.mark.parametrize(("encoding", "column"), [(UTF16, 8), (UTF8, 11), (UTF32, 7)])
def test_columns_in_the_clients_units(encoding: str, column: int) -> None:
    line = 's = "😀é"'
    cursor = line.index('"', 5)  # the closing quote: after an emoji and an e-acute
    assert units_of(line[:cursor], encoding) == column
    assert index_of_units(line, column, encoding) == cursor
    index = LineIndex(f"x\n{line}\n", encoding)
    assert index.position(index.offset(1, column)) == (1, column)


def test_positions_past_the_end_are_clamped() -> None:
    index = LineIndex("ab\ncd")
    assert index.offset(0, 99) == 2 and index.offset(9, 0) == 5 and index.offset(-1, 0) == 0
    assert index.position(99) == (1, 2)
    assert index_of_units("a\udcffb", 2) == 2  # a lone surrogate is one UTF-16 unit


def test_pygls_textdocument_miscounts_what_lspdocument_gets_right() -> None:
    """Why documents.py exists: an edit on the line after a form feed."""
    edit = change(3, 4, 3, 4, "x")  # "    return 1" -> "    xreturn 1"
    ours = LspDocument("file:///t.py", ODD)
    ours.apply_change(edit)
    assert ours.source == ODD.replace("    return 1", "    xreturn 1")
    theirs = TextDocument("file:///t.py", ODD)
    theirs.apply_change(edit)
    assert theirs.source != ours.source


def test_edits_across_lines_and_at_the_end() -> None:
    doc = LspDocument("file:///t.py", "one\ntwo\nthree")
    doc.apply_change(change(0, 1, 2, 2, "X"))
    assert doc.source == "oXree"
    doc.apply_change(change(5, 0, 5, 0, "!"))  # past the last line: appended
    assert doc.source == "oXree!"
    assert doc.offset_at_position(types.Position(0, 3)) == 3
    assert doc.client_position_at_offset(3) == types.Position(0, 3)
    assert list(doc.lines) == ["oXree!"]
