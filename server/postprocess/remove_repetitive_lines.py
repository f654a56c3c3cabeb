"""Cut a model loop: the same line (give or take a digit or a name) over and over.

A small model that loses its way often repeats one line until it runs out of tokens. As in
Tabby's `removeRepetitiveLines`, we walk back from the end (the very last line may be cut
off mid-way, so it is not compared) over near-identical neighbours; a run of
REPETITIONS or more means a loop, and the completion keeps the run's first line only.
Short runs are legitimate code (`self.a = a`, `self.b = b`) and are left alone.
"""

from __future__ import annotations

from autan.server.postprocess._text import is_blank, similar
from autan.server.postprocess.types import Completion, CompletionContext

REPETITIONS = 4  # a line followed by this many near-copies is a loop
SIMILARITY = 0.1  # near-copies differ by at most this share of their characters


def remove_repetitive_lines(item: Completion, ctx: CompletionContext) -> Completion:
    """The completion cut after the first line of a trailing run of near-identical lines."""
    lines = item.text.split("\n")
    index, count = len(lines) - 2, 0
    while index >= 1:
        if is_blank(lines[index]):
            index -= 1
            continue
        previous = index - 1
        while previous >= 0 and is_blank(lines[previous]):
            previous -= 1
        if previous < 0 or not similar(lines[index].strip(), lines[previous].strip(),
                                       SIMILARITY):
            break
        count, index = count + 1, previous
    if count < REPETITIONS:
        return item
    return item.with_text("\n".join(lines[: index + 1]).rstrip(), "remove_repetitive_lines")
