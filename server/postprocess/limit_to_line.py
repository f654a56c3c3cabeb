"""In single-line mode, keep only the completion's first line.

Models rarely stop at the end of the line: asked to finish `foo(a, ` they go on to write
the next statements. Once `decide_multiline` has said this cursor wants one line, anything
after the first newline is noise the user would have to delete. An unknown decision (None)
cuts nothing.
"""

from __future__ import annotations

from autan.server.postprocess.types import Completion, CompletionContext


def limit_to_line(item: Completion, ctx: CompletionContext) -> Completion:
    """The text up to its first newline when `ctx.multiline` is False."""
    if ctx.multiline is not False or "\n" not in item.text:
        return item
    return item.with_text(item.text.split("\n", 1)[0], "limit_to_line")
