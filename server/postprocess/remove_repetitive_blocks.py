"""Cut a model loop made of blocks: the same paragraph of code again and again.

Where `remove_repetitive_lines` catches one line repeated, a model can also repeat a whole
function or test case, each copy separated by a blank line. As in Tabby's
`removeRepetitiveBlocks`, blocks are split at blank lines and compared line by line from
the end (the last block may be cut off); REPETITIONS near-copies in a row mean a loop, and
only the first copy is kept.
"""

from __future__ import annotations

import re

from autan.server.postprocess._text import similar_blocks
from autan.server.postprocess.types import Completion, CompletionContext

REPETITIONS = 2  # a block followed by this many near-copies is a loop
SIMILARITY = 0.1
_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")


def remove_repetitive_blocks(item: Completion, ctx: CompletionContext) -> Completion:
    """The completion cut after the first block of a trailing run of near-identical blocks."""
    if "\n" not in item.text:
        return item
    starts = [0] + [match.end() for match in _BLANK_LINES.finditer(item.text)]
    blocks = [item.text[start:end].strip() for start, end in
              zip(starts, [*starts[1:], len(item.text)], strict=True)]
    index, count = len(blocks) - 2, 0
    while index >= 1 and blocks[index] and similar_blocks(blocks[index], blocks[index - 1],
                                                   SIMILARITY):
        count, index = count + 1, index - 1
    if count < REPETITIONS:
        return item
    return item.with_text(item.text[: starts[index + 1]].rstrip(), "remove_repetitive_blocks")
