"""What tree-sitter says about the cursor, for `decide_multiline`.

Only a window around the cursor is parsed (PARSE_BEFORE characters before it, PARSE_AFTER
after it): a parse of 3.5 KB takes about a millisecond, and what decides between one line and
several (are we in a string, in an argument list, at the end of a block header) is local.
The window starts at an unindented line when it can, so that Python's indentation-sensitive
grammar does not begin with an "unexpected indent" error.

Node types differ between grammars, so they are matched by name patterns (`..._statement`,
`argument_list`, `arguments`) rather than listed per language. Any failure (no grammar
wheel, an unknown language) gives None and the caller falls back on text rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node, Parser

import autan.indexer.languages as languages
from autan.server.postprocess._text import tail_window
from autan.server.postprocess.types import CompletionContext

PARSE_BEFORE = 2_500
PARSE_AFTER = 1_000

# Nodes that hold statements: walking up from the cursor, reaching one of these means the
# cursor is at statement level, whatever expression encloses that block further out.
_STATEMENT_LEVEL = re.compile(
    r"(block|statement|body|definition|declaration|_item|module|program|source_file|chunk|"
    r"translation_unit|compilation_unit|declaration_list|method|class|function|"
    r"function_expression|lambda|closure_expression|case|clause|do_block)$"
)
# Nodes whose inside is one expression: an argument list, an array, a parenthesised or
# binary expression. A completion there should finish the line, not add lines.
_EXPRESSION_CONTAINER = re.compile(
    r"(argument_list|arguments|parameters|parameter_list|formal_parameters|type_arguments|"
    r"type_parameters|array|list|tuple|subscript|index_expression|subscript_expression|"
    r"parenthesized_expression|binary_expression|token_tree|array_expression|"
    r"tuple_expression|comprehension|generator_expression|conditional_expression|"
    r"ternary_expression|template_substitution|interpolation)$"
)
# Parents of a `:` that ends a block header (Python compound statements, `case x:`).
_COLON_BLOCK = re.compile(r"(_statement|_definition|_clause|switch_case|switch_default|_label)$")
# Nodes a header line opens when it does not end with `{` or `:` (Ruby `def`, Lua
# `function`, C's `int main()` with its brace on the next line).
_KEYWORD_BLOCK = re.compile(
    r"^(method|singleton_method|class|module|do_block|function_definition|"
    r"function_declaration|local_function|function_item|if|unless|while|until|for|case|"
    r"begin|if_statement|while_statement|for_statement|for_in_statement|do_statement|"
    r"repeat_statement|method_declaration|class_declaration)$"
)


@dataclass(frozen=True)
class CursorSyntax:
    """The syntactic facts about the cursor position that decide the completion's shape."""

    in_string: bool
    in_comment: bool
    in_expression: bool
    opens_block: bool


def cursor_syntax(ctx: CompletionContext) -> CursorSyntax | None:
    """The facts for this context, parsed once; None when no grammar can read the file."""
    return ctx.cached("syntax.cursor", lambda: _analyse(ctx))


def _analyse(ctx: CompletionContext) -> CursorSyntax | None:
    """Parse the window around the cursor and read the nodes at and before it."""
    if ctx.language is None:
        return None
    try:
        parser = Parser(languages.get_language(ctx.language))
    except Exception:  # a missing grammar wheel degrades to the text rules
        return None
    before, after = _window(ctx)
    head = before.encode("utf-8", "replace")
    root = parser.parse(head + after.encode("utf-8", "replace")).root_node
    cursor = len(head)
    at = root.descendant_for_byte_range(cursor, cursor) or root
    end = len(head.rstrip())
    last = root.descendant_for_byte_range(max(end - 1, 0), end) if end else None
    chains = [_ancestors(at)] + ([_ancestors(last)] if last is not None else [])
    return CursorSyntax(
        in_string=any(_inside(n, cursor, "string") for c in chains for n in c),
        in_comment=any(_in_comment(n, cursor, head) for c in chains for n in c),
        in_expression=any(_in_expression(chain, cursor) for chain in chains),
        opens_block=last is not None and _opens_block(last, before.count("\n")),
    )


def _window(ctx: CompletionContext) -> tuple[str, str]:
    """The text parsed: a bounded piece of the prefix and suffix, cut at line boundaries."""
    before = tail_window(ctx.prefix, PARSE_BEFORE)
    after = ctx.suffix
    if len(after) > PARSE_AFTER:
        after = after[:PARSE_AFTER]
        after = after[: max(after.rfind("\n"), 0)]
    return before, after


def _ancestors(node: Node | None) -> list[Node]:
    """The node and its ancestors, innermost first."""
    chain = []
    while node is not None:
        chain.append(node)
        node = node.parent
    return chain


def _inside(node: Node, cursor: int, kind: str) -> bool:
    """True when a node of this kind strictly encloses the cursor."""
    return kind in node.type and node.start_byte < cursor < node.end_byte


def _in_comment(node: Node, cursor: int, source: bytes) -> bool:
    """True inside a comment, or at the end of a line comment (which the line continues)."""
    if "comment" not in node.type or not node.start_byte < cursor <= node.end_byte:
        return False
    closed = source[node.end_byte - 2:node.end_byte] in (b"*/", b"]]", b"-}")
    return cursor < node.end_byte or not closed


def _in_expression(chain: list[Node], cursor: int) -> bool:
    """True when an expression container encloses the cursor before any statement does.

    A container ending at the cursor encloses it only if it is unfinished (`foo(a,` at the
    end of the window); `int main()` followed by the cursor is finished.
    """
    for node in chain:
        if node.start_byte >= cursor or node.end_byte < cursor:
            continue
        if _STATEMENT_LEVEL.search(node.type):
            return False
        if _EXPRESSION_CONTAINER.search(node.type) and (
                node.end_byte > cursor or node.has_error):
            return True
    return False


def _opens_block(last: Node, cursor_row: int) -> bool:
    """True when the token before the cursor ends a header whose block comes next."""
    if last.type == "{":
        return True
    if last.type == ":" and last.parent is not None:
        return bool(_COLON_BLOCK.search(last.parent.type))
    for node in _ancestors(last):
        if node.start_point.row < cursor_row or node.parent is None:
            return False
        if node.end_point.row > cursor_row and _KEYWORD_BLOCK.match(node.type):
            return True
    return False
