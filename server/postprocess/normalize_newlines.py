"""Make the completion's line endings "\n", as the context's windows already are.

Every later filter splits on "\n"; a model that learned CRLF files writes "\r\n", and a
stray "\r" would then sit at the end of each line, defeat every line comparison and survive
into the editor. `restore_newlines` puts the file's own line ending back at the end.
"""

from __future__ import annotations

from autan.server.postprocess.types import Completion, CompletionContext


def normalize_newlines(item: Completion, ctx: CompletionContext) -> Completion:
    """The completion with "\r\n" and lone "\r" replaced by "\n"."""
    if "\r" not in item.text:
        return item
    return item.with_text(item.text.replace("\r\n", "\n").replace("\r", "\n"))
