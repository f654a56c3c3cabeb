"""What `LspDocument` hands the repository index: the edits it applied, converted from LSP
positions (LSP line breaks, the client's units) to the indexer's `TextEdit` (lines split at
"\\n" only, columns in code points). Applied to the old text by the indexer's own `reparse`,
they must make exactly the document's new text. No server.

Fixtures: a Python text with CRLF, a lone CR, a form feed, emoji and an e-acute; random edits
with a fixed seed, in UTF-16, UTF-8 and UTF-32 units."""

from __future__ import annotations

import random

import pytest
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from autan.indexer.parse import parse_source, parse_tree, reparse
from autan.server.documents import UTF8, UTF16, UTF32, LineIndex, LspDocument, newline_position

TEXT = ('import os\r\nfrom pkg import thing\n\x0c\nclass A:\r    x = "😀é"\n'
        "def f(a):\r\n    return a  # 😀\n")
SNIPPETS = ["", "x", "\n", "\r\n", "\r", "😀", "é", "\x0c", "def g(b):\n    return b\n",
            "import json\r\n", "    ", ":"]


def lsp_change(text: str, start: int, end: int, new: str, encoding: str
               ) -> types.TextDocumentContentChangePartial:
    index = LineIndex(text, encoding)
    return types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(*index.position(start)),
                          types.Position(*index.position(end))), text=new)


def boundary(rng: random.Random, text: str) -> int:
    """A random offset that is an LSP position: not between the CR and LF of a CRLF."""
    while True:
        offset = rng.randint(0, len(text))
        if not (0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n"):
            return offset


@pytest.mark.parametrize("encoding", [UTF16, UTF8, UTF32])
def test_edits_in_index_units_make_the_documents_text(encoding: str) -> None:
    rng = random.Random(7)
    doc = LspDocument("file:///t.py", TEXT, position_codec=PositionCodec(encoding))
    assert doc.take_index_edits() is None  # just opened: the index needs the whole text
    text, tree = TEXT, parse_tree(TEXT, "python")
    for _ in range(200):
        expected = doc.source
        for _ in range(rng.randint(1, 3)):
            a, b = sorted((boundary(rng, expected), boundary(rng, expected)))
            new = rng.choice(SNIPPETS)
            doc.apply_change(lsp_change(expected, a, b, new, encoding))
            expected = expected[:a] + new + expected[b:]
        assert doc.source == expected
        edits = doc.take_index_edits()
        assert edits is not None and edits
        for edit in edits:
            text, tree = reparse(text, tree, edit, "python")
        assert text == expected
        assert parse_source(text, "python", tree) == parse_source(text, "python")
    assert doc.take_index_edits() == []  # nothing applied since


def test_a_full_change_asks_for_the_whole_text() -> None:
    doc = LspDocument("file:///t.py", "a\n")
    doc.take_index_edits()
    doc.apply_change(types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(1, 0), types.Position(1, 0)), text="b"))
    doc.apply_change(types.TextDocumentContentChangeWholeDocument(text="c\n"))
    assert doc.take_index_edits() is None and doc.take_index_edits() == []


def test_newline_position_counts_lf_only_and_code_points() -> None:
    text = "a\r\nb\rc\x0cd\n😀x"
    assert newline_position(text, 0) == (0, 0)
    assert newline_position(text, text.index("b")) == (1, 0)
    assert newline_position(text, text.index("d")) == (1, 4)  # CR and form feed: same line
    assert newline_position(text, len(text)) == (2, 2)  # the emoji is one code point
