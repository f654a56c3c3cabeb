"""Drop a suggestion that would change nothing.

After the other filters have cut, a completion may be empty, whitespace only, or exactly the
characters it replaces after the cursor (the model re-typed `)` and nothing else). Showing
it would cost the user a keystroke to dismiss and gain them nothing.
"""

from __future__ import annotations

from autan.server.postprocess._text import is_blank
from autan.server.postprocess.types import Completion, CompletionContext


def drop_empty(item: Completion, ctx: CompletionContext) -> Completion | None:
    """None for an empty, whitespace-only or no-op completion."""
    if is_blank(item.text):
        return None
    if item.text == ctx.line_suffix[: item.replace_suffix_chars]:
        return None
    return item
