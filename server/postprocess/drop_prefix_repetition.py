"""Drop a completion that only copies the lines right above the cursor.

A model stuck in a loop across requests re-types what it just wrote: the import above, the
previous test case. Such a suggestion adds nothing the user wants, so it is dropped rather
than cut. The comparison ignores indentation and blank lines; a single repeated line must
be at least MIN_SINGLE_LINE characters long, because short lines (`}`, `i++;`, `pass`)
legitimately follow copies of themselves.
"""

from __future__ import annotations

from autan.server.postprocess._text import is_blank
from autan.server.postprocess.types import Completion, CompletionContext

MIN_SINGLE_LINE = 12


def drop_prefix_repetition(item: Completion, ctx: CompletionContext) -> Completion | None:
    """None when the completed lines equal the same number of lines just above them."""
    written = [line.strip() for line in (ctx.line_prefix + item.text).split("\n")
               if not is_blank(line)]
    if not written or (len(written) == 1 and len(written[0]) < MIN_SINGLE_LINE):
        return item
    above: list[str] = []
    for line in reversed(ctx.lines_above):
        if len(above) == len(written):
            break
        if not is_blank(line):
            above.insert(0, line.strip())
    return None if above == written else item
