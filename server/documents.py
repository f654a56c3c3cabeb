"""Open documents as the editor sees them: lines end at "\\n", "\\r\\n" or "\\r", nowhere else.

Why not pygls's own `TextDocument` as it is: it splits lines with `str.splitlines`, which also
breaks at \\v, \\f, \\x1c-\\x1e, \\x85, \\u2028 and \\u2029. A file holding a form feed (GNU and
Python sources have them) or a Unicode line separator then has more lines on the server than in
the editor, so incremental edits land on the wrong line and the cursor offset is wrong. It also
re-splits the whole text on every position lookup and walks it line by line in Python, which a
10 MB buffer turns into a stall per keystroke.

`LspDocument` keeps pygls's interface (the workspace stores it; handlers call
`offset_at_position` and `client_position_at_offset`) but splits as LSP does and caches the
line starts of its current text, so a lookup costs a bisect. The conversions between client
units (UTF-16 by default, UTF-8 or UTF-32 when negotiated) and code points are pure functions
here, tested without a server.

It also keeps the edits it applies, converted to the indexer's units (`TextEdit`: lines split
at "\n" only, columns in code points), until the server hands them to the repository index
(`take_index_edits`), which then re-parses the buffer incrementally.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence

from lsprotocol import types
from pygls.workspace import TextDocument, Workspace

from autan.indexer.parse import TextEdit

_LINE_END = re.compile(r"\r\n|\r|\n")
UTF8, UTF16, UTF32 = (types.PositionEncodingKind.Utf8, types.PositionEncodingKind.Utf16,
                      types.PositionEncodingKind.Utf32)


def line_starts(text: str) -> list[int]:
    """Offsets where each line starts; a text ending in a line break has an empty last line."""
    return [0, *(m.end() for m in _LINE_END.finditer(text))]


def _units(char: str, encoding: str) -> int:
    """How many code units of `encoding` one code point takes (a lone surrogate: one)."""
    code = ord(char)
    if encoding == UTF8:
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    return 2 if code > 0xFFFF else 1


def index_of_units(line: str, units: int, encoding: str = UTF16) -> int:
    """The code-point index in `line` of a column given in client units, clamped to the line.
    A column inside a character (half a surrogate pair) rounds up to the character's end."""
    if encoding == UTF32 or line.isascii():
        return max(0, min(units, len(line)))
    seen = 0
    for i, char in enumerate(line):
        if seen >= units:
            return i
        seen += _units(char, encoding)
    return len(line)


def newline_position(text: str, offset: int) -> tuple[int, int]:
    """(line, column) of an offset as the indexer counts them: lines split at "\n" only (a
    lone "\r" or a form feed is inside a line), columns in code points."""
    start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset), offset - start


def units_of(text: str, encoding: str = UTF16) -> int:
    """The length of `text` in client units."""
    if encoding == UTF32 or text.isascii():
        return len(text)
    return sum(_units(c, encoding) for c in text)


class LineIndex:
    """Positions <-> offsets for one text, LSP line semantics, in the client's units."""

    def __init__(self, text: str, encoding: str = UTF16) -> None:
        self.text = text
        self.encoding = encoding
        self.starts = line_starts(text)

    def line_text(self, line: int) -> str:
        """Line `line` without its line break."""
        start = self.starts[line]
        end = self.starts[line + 1] if line + 1 < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def offset(self, line: int, character: int) -> int:
        """The offset of a client position; past the last line means the end of the text."""
        if line < 0:
            return 0
        if line >= len(self.starts):
            return len(self.text)
        return self.starts[line] + index_of_units(self.line_text(line), character,
                                                  self.encoding)

    def position(self, offset: int) -> tuple[int, int]:
        """The client position (line, character) of an offset, clamped to the text."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        return line, units_of(self.text[self.starts[line]:offset], self.encoding)


class LspDocument(TextDocument):
    """pygls's TextDocument with LSP line breaks and cached line starts, which keeps the edits
    it applies for the repository index (see the module doc)."""

    _index: LineIndex | None = None
    # The edits applied since `take_index_edits` last ran; None: the index needs the whole
    # text (a document just opened, or replaced by a full-text change).
    _index_edits: list[TextEdit] | None = None

    def take_index_edits(self) -> list[TextEdit] | None:
        """The edits applied since the last call, in order, each relative to the text the one
        before it made (the first: to the text of the last call); None instead when the
        index must be given the whole text."""
        edits, self._index_edits = self._index_edits, []
        return edits

    def line_index(self) -> LineIndex:
        """The line index of the current text (rebuilt only after the text changed)."""
        source = self.source
        # Not str(): that spells an lsprotocol enum member "PositionEncodingKind.Utf8", which
        # matches no encoding here; the member itself compares equal to its value.
        encoding = self.position_codec.encoding or UTF16
        if self._index is None or self._index.text is not source:
            self._index = LineIndex(source, encoding)
        return self._index

    @property
    def lines(self) -> Sequence[str]:
        index = self.line_index()
        ends = [*index.starts[1:], len(index.text)]
        return tuple(index.text[a:b] for a, b in zip(index.starts, ends, strict=True) if b > a)

    def _apply_incremental_change(self, change: types.TextDocumentContentChangePartial) -> None:
        """Replace the changed range by slicing: no pass over the lines in Python."""
        index = self.line_index()
        start = index.offset(change.range.start.line, change.range.start.character)
        end = max(start, index.offset(change.range.end.line, change.range.end.character))
        if self._index_edits is not None:
            self._index_edits.append(TextEdit(newline_position(index.text, start),
                                              newline_position(index.text, end), change.text))
        self._source = index.text[:start] + change.text + index.text[end:]

    def _apply_full_change(self, change: types.TextDocumentContentChangeEvent) -> None:
        super()._apply_full_change(change)
        self._index_edits = None  # no edit describes a replaced text: the index gets it whole

    def offset_at_position(self, client_position: types.Position) -> int:
        return self.line_index().offset(client_position.line, client_position.character)

    def client_position_at_offset(self, offset: int) -> types.Position:
        line, character = self.line_index().position(offset)
        return types.Position(line=line, character=character)


class LspWorkspace(Workspace):
    """pygls's Workspace, storing `LspDocument`s."""

    def _create_text_document(self, doc_uri: str, source: str | None = None,
                              version: int | None = None,
                              language_id: str | None = None) -> TextDocument:
        return LspDocument(doc_uri, source=source, version=version, language_id=language_id,
                           sync_kind=self._sync_kind, position_codec=self.position_codec)


def use_lsp_documents(workspace: Workspace) -> None:
    """Make a pygls workspace (created by pygls during `initialize`, before any document is
    opened) store `LspDocument`s. LspWorkspace adds no state, so changing the class of the
    existing object is safe and keeps whatever pygls already set up."""
    workspace.__class__ = LspWorkspace
