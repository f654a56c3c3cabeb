"""Record, once per context, whether the cursor wants one line or a block.

The decision and its rules are `_multiline.wants_multiline`, which the completer calls itself
before generating; this filter makes the same decision for a pipeline run on a fresh context.
It comes before `limit_to_line` and `limit_scope`, which act on it. A caller's preset
`ctx.multiline` is kept.
"""

from __future__ import annotations

from autan.server.postprocess._multiline import wants_multiline
from autan.server.postprocess.types import Completion, CompletionContext


def decide_multiline(item: Completion, ctx: CompletionContext) -> Completion:
    """Set `ctx.multiline` once per context (unless preset); the completion is unchanged."""
    if ctx.multiline is None:
        ctx.multiline = wants_multiline(ctx)
    return item
