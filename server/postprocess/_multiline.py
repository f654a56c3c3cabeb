"""Whether this cursor wants one line or a block, from the syntax around it.

A completion in the middle of an expression, an argument list or a string should finish
that line; one after a block header (`def f():`, `if (x) {`) or on a fresh line at
statement level may write several lines. Deciding this once, from the context rather than
from what the model wrote, is what lets `limit_to_line` cut a rambling model in the middle
of a call, and `limit_scope` let a function body through.

The rules, first match wins:

1. code after the cursor on its line (anything but closing punctuation): one line;
2. inside a string or a comment: one line;
3. after a `{`, even inside a call (`describe("x", () => {`): a block;
4. inside an argument list, array or other expression container: one line;
5. on a blank line at statement level (an empty function body, between statements): a block;
6. after a block header (`:` of a compound statement, `do`, `then`, Ruby's `def foo`): a block;
7. right after an operator, a comma or `return` (`x = `, `a +`, `{"a":`): one line;
8. otherwise, at the end of a statement or of a header in progress (`get`): a block, as
   Tabby does at the end of a line; `limit_scope` keeps it to the block that line opens.

Facts come from tree-sitter (`_syntax`) when a grammar exists and from the bracket scanner
(`_lexer`) always, so unknown languages still get sensible answers.

`wants_multiline` is the decision, a plain function of the context: the completer calls it
before generating (the engine's stop strings depend on it), and the `decide_multiline` filter
records it in a context that has none yet.
"""

from __future__ import annotations

import re

from autan.server.postprocess._lexer import ScanState, scan_prefix
from autan.server.postprocess._syntax import CursorSyntax, cursor_syntax
from autan.server.postprocess._text import TRAILING_PUNCTUATION
from autan.server.postprocess.types import CompletionContext

# Block headers recognised from text alone: `case 1:` in C-like switches, and the keyword
# blocks of Ruby, Lua and shell (`do`, `then`, `do |x|`).
_CASE_LABEL = re.compile(r"^\s*(case\b.*|default\s*):$")
_KEYWORD_OPENER = re.compile(r"(\bdo(\s*\|[^|]*\|)?|\bthen|\bbegin|\belse)$")
# A line that stops in the middle of an expression (but `i++` and `*/` are finished).
_MID_EXPRESSION = re.compile(
    r"(?:(?<![+])\+|(?<![-])-|(?<![*])\*|(?<![*])/|[=%&|^,.?!~(\[:]|=>|->|"
    r"\b(?:return|and|or|not|in|is|await|yield|new|typeof|throw|instanceof))$"
)


def wants_multiline(ctx: CompletionContext) -> bool:
    """Whether the cursor of `ctx` wants a block rather than one line: the rules of the
    module docstring, in order. Changes nothing; a preset `ctx.multiline` plays no part."""
    if any(char not in TRAILING_PUNCTUATION for char in ctx.line_suffix):
        return False
    state = scan_prefix(ctx).state
    syntax = cursor_syntax(ctx)
    if state.string or state.comment or (syntax and (syntax.in_string or syntax.in_comment)):
        return False
    line = ctx.line_prefix.rstrip()
    if line.endswith("{"):
        return True
    if (state.stack and state.stack[-1] in "([") or (syntax and syntax.in_expression):
        return False
    if not line or _opens_block(line, ctx, state, syntax):
        return True
    return not _MID_EXPRESSION.search(line)


def _opens_block(line: str, ctx: CompletionContext, state: ScanState,
                 syntax: CursorSyntax | None) -> bool:
    """True when the text before the cursor is a block header whose body comes next."""
    if syntax is not None and syntax.opens_block:
        return True
    if _CASE_LABEL.match(line):
        return True
    if line.endswith(":") and not state.stack:
        return ctx.language in (None, "python")
    return ctx.language in (None, "ruby", "lua", "bash") and bool(_KEYWORD_OPENER.search(line))
