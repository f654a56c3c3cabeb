"""Indent with tabs in a tab file and with spaces in a space file.

Go files are tab-indented, yet a model trained mostly on Python may answer with four spaces;
the editor would show a staircase of mixed indentation. This filter converts the leading
whitespace of every line after the first (the first line continues the cursor's line, whose
indentation is already in the document). Levels are kept: in a tab file, a run of spaces
becomes one tab per unit of the model's width, guessed from the cursor's tab level; in a
space file, each leading tab becomes one file unit.
"""

from __future__ import annotations

from autan.server.postprocess._text import is_blank, last_nonblank, leading_ws
from autan.server.postprocess.types import Completion, CompletionContext

_WIDTHS = (4, 2, 8)  # space widths a model may have used, most likely first


def fix_indent_style(item: Completion, ctx: CompletionContext) -> Completion:
    """The completion with its indentation characters converted to the file's."""
    lines = item.text.split("\n")
    if ctx.indent_unit is None or len(lines) < 2:
        return item
    body = [leading_ws(line) for line in lines[1:] if not is_blank(line)]
    if ctx.indent_unit != "\t":
        if not any("\t" in indent for indent in body):
            return item
        fixed = [leading_ws(line).replace("\t", ctx.indent_unit) + line.lstrip(" \t")
                 for line in lines[1:]]
        return item.with_text("\n".join([lines[0], *fixed]))
    if not body or any("\t" in indent for indent in body) or not any(body):
        return item
    width = _space_width([len(indent) for indent in body], _tab_level(ctx))
    if width is None:
        return item
    fixed = [_tabs(line, width) for line in lines[1:]]
    return item.with_text("\n".join([lines[0], *fixed]))


def _tab_level(ctx: CompletionContext) -> int:
    """How many tabs deep the cursor's block is (from the cursor line or the line above)."""
    line = ctx.line_prefix if not is_blank(ctx.line_prefix) else (
        ctx.line_prefix or last_nonblank(ctx.lines_above) or "")
    return leading_ws(line).count("\t")


def _space_width(indents: list[int], level: int) -> int | None:
    """The model's space width: divides every indent, puts the first within a level of ours."""
    for width in _WIDTHS:
        if all(n % width == 0 for n in indents) and abs(indents[0] // width - level) <= 1:
            return width
    return None


def _tabs(line: str, width: int) -> str:
    """A space-indented line re-indented with one tab per `width` spaces."""
    spaces = len(leading_ws(line))
    return "\t" * (spaces // width) + " " * (spaces % width) + line[spaces:]
