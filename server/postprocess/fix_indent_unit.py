"""Re-indent a completion written with another indentation unit than the file's.

A model may answer with four-space steps in a two-space file. Measured from the cursor
line's indentation (the anchor), every line's depth is a whole number of the model's steps;
each step becomes one file unit. Only space-indented files are concerned (tabs have no
width to disagree on; `fix_indent_style` has already made the characters match).

The model's step is the smallest depth change it makes. A single kind of step is ambiguous
(8 spaces may be two 4-space levels or a hanging indent), so with one step size the filter
acts only when the step follows a block opener (`{`, `:`, `do`, `then`, `=>`), where one
level is certain.
"""

from __future__ import annotations

import re
from itertools import pairwise

from autan.server.postprocess._text import indent_width, is_blank, leading_ws
from autan.server.postprocess.types import Completion, CompletionContext

_BLOCK_OPENER = re.compile(r"([{:]|=>|\bdo|\bthen)\s*$")


def fix_indent_unit(item: Completion, ctx: CompletionContext) -> Completion:
    """The completion with each of the model's indentation steps made one file unit."""
    lines = item.text.split("\n")
    unit = ctx.indent_unit
    if not unit or unit == "\t" or len(lines) < 2:
        return item
    first = ctx.line_prefix + lines[0]
    anchor = indent_width(first)
    body = [line for line in lines[1:] if not is_blank(line)]
    if any("\t" in leading_ws(line) for line in body):
        return item
    depths = [indent_width(line) - anchor for line in body]
    steps = sorted({abs(depth) for depth in depths if depth})
    if not steps or steps[0] == len(unit) or any(depth % steps[0] for depth in depths):
        return item
    if len(steps) == 1 and not _opens_before_first_step([first, *lines[1:]], anchor):
        return item
    fixed = [_reindent(line, anchor, steps[0], len(unit)) for line in lines[1:]]
    return item.with_text("\n".join([lines[0], *fixed]))


def _opens_before_first_step(lines: list[str], anchor: int) -> bool:
    """True when the line before the first deeper line ends with a block opener."""
    for previous, line in pairwise(lines):
        if not is_blank(line) and indent_width(line) > anchor:
            return bool(_BLOCK_OPENER.search(previous.rstrip()))
    return False


def _reindent(line: str, anchor: int, step: int, unit: int) -> str:
    """One line moved so that each model step below the anchor is one file unit."""
    if is_blank(line):
        return line
    column = anchor + (indent_width(line) - anchor) // step * unit
    return " " * max(column, 0) + line.lstrip(" \t")
