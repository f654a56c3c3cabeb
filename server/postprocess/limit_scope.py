"""In multi-line mode, stop at the end of the block the completion belongs to.

A model asked for a function body writes the body, then the next function, then a test.
Following Tabby's `limitScopeByIndentation`, the block is found from indentation, which
works for every language: the first line of the completion whose indentation drops below
the block's (`limit`) ends it.

- When the completion continues text typed on the cursor's line, the block is the one that
  line opens: anything at the cursor line's indentation or less ends it.
- Otherwise the reference is the completion's first non-blank line: deeper than the line
  above means it opens a block there; else it continues at its own depth.

The line that ends the block is kept when it closes it (`}`, `end`, `});`) and the suffix
does not continue inside the block, so `if (x) {` can be completed with its `}`;
`stop_at_suffix` then removes it again if the suffix already has that `}`. Python's blocks
have no closing line, so there the cut is always before the dedented line. `} else {` and
`else:` at the block's own level continue it.
"""

from __future__ import annotations

from autan.server.postprocess._text import (
    first_nonblank,
    indent_width,
    is_blank,
    is_closing_line,
    is_reopening_line,
    last_nonblank,
)
from autan.server.postprocess.types import Completion, CompletionContext


def limit_scope(item: Completion, ctx: CompletionContext) -> Completion:
    """The completion cut after the last line of its block."""
    lines = item.text.split("\n")
    if ctx.multiline is False or len(lines) < 2:
        return item
    full = [ctx.line_prefix + lines[0], *lines[1:]]
    start = first_nonblank(lines)
    if start >= len(lines):
        return item
    limit, may_close = _block_limit(full, start, ctx)
    for index in range(start + 1, len(full)):
        line = full[index]
        if is_blank(line) or indent_width(line) >= limit:
            continue
        if indent_width(line) == limit - 1 and is_reopening_line(line):
            continue
        keep = index + 1 if may_close and is_closing_line(line) else index
        return item.with_text("\n".join(lines[:keep]).rstrip(), "limit_scope")
    return item


def _block_limit(full: list[str], start: int, ctx: CompletionContext) -> tuple[int, bool]:
    """The smallest indentation inside the block, and whether its closing line may be kept."""
    cursor_line = indent_width(ctx.line_prefix)
    continuing = not is_blank(ctx.line_prefix) and not is_blank(full[0][len(ctx.line_prefix):])
    reference = indent_width(full[start])
    if continuing:
        limit = cursor_line + 1
    else:
        above = ctx.line_prefix if not is_blank(ctx.line_prefix) else last_nonblank(
            ctx.lines_above)
        above_width = indent_width(above) if above is not None else 0
        limit = above_width + 1 if reference > above_width else reference
    opens = any(indent_width(line) > indent_width(full[start])
                for line in full[start + 1:start + 2] if not is_blank(line))
    below = next((line for line in ctx.lines_below if not is_blank(line)), None)
    may_close = (opens or not continuing) and (below is None or indent_width(below) < limit)
    return limit, may_close
