"""A small bracket and string scanner, one lexical profile per language.

`balance_brackets` must know which brackets are open at the cursor and which of them the
suffix closes; `decide_multiline` falls back on the same facts when no grammar is available.
A full parse is not needed for that, and a regular-expression scan over the bounded windows
costs a fraction of a millisecond. Brackets inside strings and comments are skipped, since
`print("(")` must not count as an open parenthesis.

Known simplifications: a one-line string ends at the end of its line even if unterminated
(prose apostrophes then cannot swallow the rest of the file); JavaScript `${...}`
interpolation, regular-expression literals, Lua long strings, heredocs and Ruby `%w()` are
read as plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from autan.server.postprocess._text import tail_window
from autan.server.postprocess.types import CompletionContext

OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {")": "(", "]": "[", "}": "{"}
SCAN_BEFORE = 4_000  # characters of prefix scanned for open brackets


@dataclass(frozen=True)
class Lexicon:
    """How one language writes comments and strings, as far as bracket counting cares.

    `strict_brackets` is False where a closing bracket may stand alone in valid code
    (bash `case` patterns such as `start)`) or where we do not know the language; an
    unmatched closer then does not mean the completion escaped its block.
    """

    line_comments: tuple[str, ...] = ()
    block_comments: tuple[tuple[str, str], ...] = ()
    quotes: tuple[str, ...] = ('"', "'")
    multiline_quotes: frozenset[str] = frozenset()
    lifetimes: bool = False  # Rust: `'a` is a lifetime; only `'x'` is a character
    strict_brackets: bool = True


_C_LIKE = Lexicon(("//",), (("/*", "*/"),))
_JS_LIKE = Lexicon(("//",), (("/*", "*/"),), ('"', "'", "`"), frozenset({"`"}))
LEXICONS: dict[str, Lexicon] = {
    "python": Lexicon(("#",), (), ('"""', "'''", '"', "'"), frozenset({'"""', "'''"})),
    "javascript": _JS_LIKE,
    "typescript": _JS_LIKE,
    "tsx": _JS_LIKE,
    "go": _JS_LIKE,
    "rust": Lexicon(("//",), (("/*", "*/"),), ('"', "'"), lifetimes=True),
    "java": _C_LIKE,
    "c": _C_LIKE,
    "cpp": _C_LIKE,
    "c_sharp": _C_LIKE,
    "php": Lexicon(("//", "#"), (("/*", "*/"),)),
    "ruby": Lexicon(("#",)),
    "bash": Lexicon(("#",), strict_brackets=False),
    "lua": Lexicon(("--",), (("--[[", "]]"),)),
}
DEFAULT_LEXICON = Lexicon(strict_brackets=False)
_RUST_CHAR = re.compile(r"'(?:\\.[^'\n]{0,8}|[^'\\\n])'")


def lexicon_for(language: str | None) -> Lexicon:
    """The profile of a grammar name; unknown languages only get quotes and brackets."""
    return LEXICONS.get(language or "", DEFAULT_LEXICON)


@dataclass
class ScanState:
    """What is open at the end of a scanned text: brackets, and maybe a string or comment."""

    stack: list[str] = field(default_factory=list)
    string: str | None = None  # the quote of the string the text ends inside
    comment: str | None = None  # the end marker of the comment the text ends inside

    def copy(self) -> ScanState:
        """An independent copy, so one prefix scan can seed several later scans."""
        return ScanState(list(self.stack), self.string, self.comment)


@dataclass
class ScanResult:
    """A scan's end state and what the text did to the state it started from.

    `outer_closes` lists (offset, token) for each string or bracket the text closed that was
    open before it started, innermost first. `escape` is the offset of the first closing
    bracket that closes nothing (or the wrong kind of bracket).
    """

    state: ScanState
    outer_closes: list[tuple[int, str]] = field(default_factory=list)
    escape: int | None = None


@cache
def _token_pattern(lexicon: Lexicon) -> re.Pattern[str]:
    """One regex that finds the next comment start, quote or bracket."""
    starts = [start for start, _ in lexicon.block_comments] + list(lexicon.line_comments)
    tokens = sorted(starts + list(lexicon.quotes), key=len, reverse=True)
    return re.compile("|".join(re.escape(token) for token in tokens) + r"|[()\[\]{}]")


def scan(text: str, lexicon: Lexicon, start: ScanState | None = None,
         until_closed: bool = False) -> ScanResult:
    """Scan `text` from `start` (a copy is taken), tracking brackets, strings and comments.

    With `until_closed`, stop once everything open at the start has been closed: a caller
    that only wants `outer_closes` then reads no further than it must.
    """
    result = ScanResult(start.copy() if start else ScanState())
    state = result.state
    floor = len(state.stack)  # stack items below this index were open before the text
    pos = _resume(text, lexicon, result)
    pattern = _token_pattern(lexicon)
    block_ends = dict(lexicon.block_comments)
    while pos is not None and (floor or not until_closed) and (
            match := pattern.search(text, pos)):
        token, pos = match.group(), match.end()
        if token in block_ends:
            pos = _comment_end(text, pos, block_ends[token], state)
        elif token in lexicon.line_comments:
            pos = _line_end(text, pos, state)
        elif token in lexicon.quotes:
            pos = _skip_string(text, match.start(), token, lexicon, state)
        elif token in OPENERS:
            state.stack.append(token)
        elif state.stack and state.stack[-1] == CLOSERS[token]:
            state.stack.pop()
            if len(state.stack) < floor:
                floor -= 1
                result.outer_closes.append((match.start(), token))
        elif result.escape is None:
            result.escape = match.start()
    return result


def _resume(text: str, lexicon: Lexicon, result: ScanResult) -> int | None:
    """Finish a string or comment left open by the previous text; the offset after it."""
    state = result.state
    if state.comment is not None:
        marker, state.comment = state.comment, None
        if marker == "\n":
            return _line_end(text, 0, state)
        return _comment_end(text, 0, marker, state)
    if state.string is not None:
        quote, state.string = state.string, None
        end = _string_end(text, 0, quote, quote in lexicon.multiline_quotes)
        if end is None:
            state.string = quote
            return None
        if text[end - len(quote):end] == quote:
            result.outer_closes.append((end - len(quote), quote))
        return end
    return 0


def _comment_end(text: str, pos: int, marker: str, state: ScanState) -> int | None:
    """The offset after a block comment's end marker, or None (and the state) if none."""
    end = text.find(marker, pos)
    if end < 0:
        state.comment = marker
        return None
    return end + len(marker)


def _line_end(text: str, pos: int, state: ScanState) -> int | None:
    """The offset of the newline ending a line comment, or None when the text ends first."""
    end = text.find("\n", pos)
    if end < 0:
        state.comment = "\n"
        return None
    return end


def _skip_string(text: str, start: int, quote: str, lexicon: Lexicon,
                 state: ScanState) -> int | None:
    """The offset after the string starting at `start`, or None when the text ends in it."""
    if lexicon.lifetimes and quote == "'":
        char = _RUST_CHAR.match(text, start)
        return char.end() if char else start + 1
    end = _string_end(text, start + len(quote), quote, quote in lexicon.multiline_quotes)
    if end is None:
        state.string = quote
    return end


def _string_end(text: str, pos: int, quote: str, multiline: bool) -> int | None:
    """Where a string whose body starts at `pos` ends (after its quote), None if it does not.

    A one-line string with no closing quote ends at its newline (the newline's offset).
    """
    while True:
        end = text.find(quote, pos)
        newline = -1 if multiline else text.find("\n", pos, end if end >= 0 else len(text))
        if newline >= 0:
            return newline
        if end < 0:
            return None
        if not _escaped(text, end):
            return end + len(quote)
        pos = end + 1


def _escaped(text: str, index: int) -> bool:
    """True when the character at `index` follows an odd run of backslashes."""
    run = index
    while run > 0 and text[run - 1] == "\\":
        run -= 1
    return (index - run) % 2 == 1


def scan_prefix(ctx: CompletionContext) -> ScanResult:
    """What is open at the cursor, from the last SCAN_BEFORE characters, once per context.

    A bracket opened further up (a class body) is then unknown: a completion closing it
    counts as escaping its block, which is what we want anyway.
    """
    return ctx.cached("lexer.prefix", lambda: scan(
        tail_window(ctx.prefix, SCAN_BEFORE), lexicon_for(ctx.language)))


def scan_suffix(ctx: CompletionContext) -> ScanResult:
    """The suffix scanned from the cursor's state, up to where it has closed everything."""
    return ctx.cached("lexer.suffix", lambda: scan(
        ctx.suffix, lexicon_for(ctx.language), scan_prefix(ctx).state, until_closed=True))
