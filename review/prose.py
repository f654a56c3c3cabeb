"""Lines that hold no code: comments, docstrings and the inside of multi-line strings.

The model may well prefer code to a comment at some place, and prose is not where bugs live,
so such lines are never candidates. The syntax tree decides, for every language the indexer
parses; a file it cannot parse keeps all its lines.
"""

from __future__ import annotations

from collections.abc import Iterator

from tree_sitter import Node

from autan.indexer.languages import language_for
from autan.indexer.parse import parse_tree

PROSE_NODES = frozenset({"comment", "line_comment", "block_comment", "string",
                         "template_string", "raw_string_literal", "heredoc_body"})


def prose_nodes(root: Node) -> Iterator[Node]:
    """Comments, strings over more than one line (text blocks), and strings that stand alone
    as a statement (docstrings)."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in PROSE_NODES and (
                "comment" in node.type or node.end_point[0] > node.start_point[0]
                or _alone(node)):
            yield node
            continue
        stack.extend(node.children)


def _alone(node: Node) -> bool:
    parent = node.parent
    return (parent is not None and parent.type == "expression_statement"
            and parent.named_child_count == 1)


def prose_lines(path: str, text: str) -> frozenset[int]:
    """0-based lines whose every non-blank character lies inside a comment or a multi-line
    string."""
    lines = text.split("\n")
    language = language_for(path, lines[0] if lines else None)
    if language is None:
        return frozenset()
    try:
        tree = parse_tree(text, language)
    except Exception:  # a grammar that fails on a file costs only this filter
        return frozenset()
    covered: dict[int, list[tuple[int, int]]] = {}
    for node in prose_nodes(tree.root_node):
        (r0, c0), (r1, c1) = node.start_point, node.end_point
        for row in range(r0, r1 + 1):
            covered.setdefault(row, []).append((c0 if row == r0 else 0,
                                                c1 if row == r1 else 1 << 30))
    return frozenset(row for row, spans in covered.items()
                     if row < len(lines) and _covered(lines[row], spans))


def _covered(line: str, spans: list[tuple[int, int]]) -> bool:
    """Whether the spans (byte columns) cover every non-blank character of `line`."""
    data = line.encode("utf-8")
    return all(any(a <= i < b for a, b in spans)
               for i, ch in enumerate(data) if ch not in b" \t\r")
