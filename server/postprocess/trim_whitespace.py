"""Remove whitespace nobody asked for, and keep the one newline that means something.

Trailing spaces on every line are noise (and trip linters). At the end of the completion:

- nothing written on the line after the cursor: all trailing whitespace and newlines go,
  since the document's own line break follows;
- single-line, with text after the cursor: trailing spaces stay only when that text starts
  with a non-space (`foo(a, ║b)` completed with `x, ` needs its space);
- multi-line, with text after the cursor (`{║}` completed with a body): the completion ends
  with exactly one newline and the cursor line's indentation, so that the `}` lands on its
  own line where it was. The newline is added when the model left it out.

Leading spaces go when the cursor already follows a space (`x = ║` completed with ` 1`).
The text after the cursor is what `replace_suffix_chars` leaves of it.
"""

from __future__ import annotations

from autan.server.postprocess._text import is_blank
from autan.server.postprocess.types import Completion, CompletionContext


def trim_whitespace(item: Completion, ctx: CompletionContext) -> Completion:
    """The completion with trailing whitespace trimmed per the policy above."""
    lines = [line.rstrip(" \t") for line in item.text.split("\n")[:-1]]
    lines.append(item.text.split("\n")[-1])
    if ctx.line_prefix[-1:] in (" ", "\t") and not is_blank(ctx.line_prefix):
        lines[0] = lines[0].lstrip(" \t")
    rest = ctx.line_suffix[item.replace_suffix_chars:]
    text = "\n".join(lines)
    if is_blank(rest):
        text = text.rstrip()
    elif len(lines) == 1:
        text = text if not rest[0].isspace() else text.rstrip()
    elif not is_blank(text):
        text = text.rstrip() + "\n" + ctx.cursor_indent
    return item if text == item.text else item.with_text(text)
