"""Small text helpers shared by the filters: indentation, blank lines, closing lines, distance.

Everything here works on "\n"-separated text (the context and `normalize_newlines` make sure
of that) and on plain strings, so the filters stay short and read the same way.
"""

from __future__ import annotations

import re

TAB_WIDTH = 4  # columns a tab counts for when comparing indentation
MAX_FUZZY_CHARS = 160  # longer strings are compared exactly, not by edit distance
CLOSING_CHARS = frozenset(")]}")
# What may follow the cursor and still count as "nothing left to write on this line".
TRAILING_PUNCTUATION = frozenset(")]}\"'`;, \t")

_UNINDENTED_LINE = re.compile(r"^\S", re.MULTILINE)
# A line that only closes blocks: `}`, `});`, `end`, `fi`, ... (the rest is punctuation).
_CLOSING_LINE = re.compile(r"^\s*(?:[)\]}]|end\b|fi\b|done\b|esac\b)[)\]};,.\s]*$")
# A line that closes a block and opens the next part of the same statement.
_REOPENING_LINE = re.compile(
    r"^\s*(?:[)\]}].*[{(\[:]\s*$|(?:else|elif|elsif|except|catch|finally|rescue|ensure)\b)"
)


def tail_window(text: str, size: int) -> str:
    """The end of `text`, at most `size` characters, starting at an unindented line if any.

    Scanners and parsers start with nothing open; an unindented line (a top-level
    statement) is the likeliest place where that is true, and Python's grammar needs it.
    """
    if len(text) <= size:
        return text
    window = text[-size:]
    top = _UNINDENTED_LINE.search(window, window.find("\n") + 1)
    return window[top.start():] if top else window[window.find("\n") + 1:]


def is_blank(text: str) -> bool:
    """True for an empty or whitespace-only string."""
    return not text.strip()


def leading_ws(line: str) -> str:
    """The spaces and tabs a line starts with."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def indent_width(line: str) -> int:
    """The indentation of a line in columns, a tab counting TAB_WIDTH columns."""
    indent = leading_ws(line)
    return len(indent) + indent.count("\t") * (TAB_WIDTH - 1)


def is_closing_line(line: str) -> bool:
    """True for a line that only closes blocks (`}`, `});`, `end`)."""
    return bool(_CLOSING_LINE.match(line))


def is_reopening_line(line: str) -> bool:
    """True for `} else {`, `else:`, `except E:`: it ends one branch and starts the next."""
    return bool(_REOPENING_LINE.match(line))


def first_nonblank(lines: list[str], start: int = 0) -> int:
    """The index of the first non-blank line at or after `start`, or len(lines)."""
    index = start
    while index < len(lines) and is_blank(lines[index]):
        index += 1
    return index


def last_nonblank(lines: list[str]) -> str | None:
    """The last non-blank line, or None when all are blank."""
    for line in reversed(lines):
        if not is_blank(line):
            return line
    return None


def similar(a: str, b: str, ratio: float) -> bool:
    """True when the edit distance of a and b is at most `ratio` of the longer one.

    Used to spot a model loop, where copies differ by a number or a name. The distance is
    computed with an early exit, and lines longer than MAX_FUZZY_CHARS must be equal, so a
    pathological completion cannot make this quadratic in its length.
    """
    if max(len(a), len(b)) > MAX_FUZZY_CHARS:
        return a == b
    limit = int(max(len(a), len(b)) * ratio)
    if abs(len(a) - len(b)) > limit:
        return False
    return _bounded_distance(a, b, limit) <= limit


def _bounded_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance within a band of `limit` around the diagonal; limit + 1 beyond."""
    if a == b:
        return 0
    too_far = limit + 1
    previous = [j if j <= limit else too_far for j in range(len(b) + 1)]
    for i, char in enumerate(a, 1):
        current = [i if i <= limit else too_far] + [too_far] * len(b)
        for j in range(max(1, i - limit), min(len(b), i + limit) + 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1,
                             previous[j - 1] + (char != b[j - 1]), too_far)
        if min(current) > limit:
            return too_far
        previous = current
    return previous[-1]


def similar_blocks(a: str, b: str, ratio: float) -> bool:
    """True when two blocks have as many lines and each pair of lines is `similar`."""
    lines_a, lines_b = a.split("\n"), b.split("\n")
    return len(lines_a) == len(lines_b) and all(
        similar(x.strip(), y.strip(), ratio) for x, y in zip(lines_a, lines_b, strict=True))
