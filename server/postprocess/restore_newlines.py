"""Give the completion the file's own line ending, the last step of the pipeline.

The filters work on "\n" only (see `normalize_newlines`); an editor inserting "\n" into a
CRLF file would leave mixed line endings behind.
"""

from __future__ import annotations

from autan.server.postprocess.types import Completion, CompletionContext


def restore_newlines(item: Completion, ctx: CompletionContext) -> Completion:
    """The completion with "\n" replaced by `ctx.eol` when the file uses "\r\n"."""
    if ctx.eol == "\n" or "\n" not in item.text:
        return item
    return item.with_text(item.text.replace("\n", ctx.eol))
