"""Stop where the completion starts repeating the text that follows the cursor.

Fill-in-the-middle models often run past the hole and re-type the code below it. Like
Continue (which stops at the line below the cursor) and Tabby (which drops lines duplicating
the suffix), the completion is cut at the first of its lines that repeats the first
non-blank line below the cursor, compared with its indentation (`};` and `}` at the same
depth count as the same closing line). A repetition with other indentation is recognised
when MATCH_LINES lines in a row, not all closing lines, repeat the lines below. On the
cursor's own line, a completion ending with the text after the cursor (`a, b)` before
`, b)`) loses that tail; closing brackets alone are left to `balance_brackets`.
"""

from __future__ import annotations

from autan.server.postprocess._text import TRAILING_PUNCTUATION, is_blank, is_closing_line
from autan.server.postprocess.types import Completion, CompletionContext

LOOKAHEAD = 40  # lines below the cursor searched for the next non-blank ones
MATCH_LINES = 2  # lines in a row that must repeat the suffix when indentation differs


def stop_at_suffix(item: Completion, ctx: CompletionContext) -> Completion:
    """The completion cut before its first line that repeats the suffix."""
    lines = item.text.split("\n")
    tail = ctx.line_suffix.strip()
    if any(char not in TRAILING_PUNCTUATION for char in tail):
        first = lines[0].rstrip()
        if len(first) >= len(tail) and first.endswith(tail):
            return item.with_text(first[: len(first) - len(tail)], "stop_at_suffix")
    below = [line for line in ctx.lines_below[:LOOKAHEAD] if not is_blank(line)]
    if not below:
        return item
    for index, line in enumerate(lines):
        if index == 0 and not is_blank(ctx.line_prefix):
            continue
        full = ctx.line_prefix + line if index == 0 else line
        if _same_line(full, below[0]) or _repeats(lines[index:], below):
            return item.with_text("\n".join(lines[:index]).rstrip(), "stop_at_suffix")
    return item


def _same_line(line: str, other: str) -> bool:
    """True for equal non-blank lines, or closing lines that agree at the same depth."""
    if is_blank(line):
        return False
    if line.rstrip() == other.rstrip():
        return True
    if not (is_closing_line(line) and is_closing_line(other)):
        return False
    a, b = line.rstrip(), other.rstrip()
    return a.startswith(b) or b.startswith(a)


def _repeats(lines: list[str], below: list[str]) -> bool:
    """True when the next MATCH_LINES non-blank lines equal the lines below, stripped.

    Closing lines alone prove nothing without their indentation (`}` then `}` ends most
    nested blocks), so at least one of the lines must be code.
    """
    written = [line for line in lines if not is_blank(line)][:MATCH_LINES]
    return (len(written) == MATCH_LINES and not all(map(is_closing_line, written))
            and [line.strip() for line in written] == [line.strip() for line in
                                                      below[:MATCH_LINES]])
