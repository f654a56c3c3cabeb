"""Where to cut held-out code for fill-in-the-middle evaluation, and how to score a fill.

Spans are chosen by syntax where a parser is available (tree-sitter's Python grammar, a
dependency of autan): a single line is a statement's line, not the inside of a docstring; a
multi-line span is a whole block (a function or loop body) of 2 to 8 lines. Without the parser
(or for other languages) the same is approximated by indentation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

MIN_LINE_CHARS = 6
MAX_BLOCK_LINES = 8


@dataclass(frozen=True)
class FimTask:
    package: str
    path: str
    kind: str  # single-line | multi-line
    prefix: str
    middle: str
    suffix: str


def python_parser() -> object | None:
    """A tree-sitter parser for Python, or None when the bindings are missing."""
    try:
        import tree_sitter
        import tree_sitter_python
    except ImportError:
        return None
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_python.language()))


def line_offsets(text: str) -> list[int]:
    """Character offset of each line's start."""
    offsets = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            offsets.append(i + 1)
    return offsets


def string_lines(tree: object) -> set[int]:
    """Lines covered by multi-line string literals (docstrings), never used as spans."""
    lines: set[int] = set()
    stack = [tree.root_node]  # type: ignore[attr-defined]
    while stack:
        node = stack.pop()
        if node.type == "string" and node.end_point[0] > node.start_point[0]:
            lines.update(range(node.start_point[0], node.end_point[0] + 1))
        elif node.type != "string":
            stack.extend(node.children)
    return lines


def syntax_blocks(tree: object) -> list[tuple[int, int]]:
    """(first line, last line) of every `block` node of 2..MAX_BLOCK_LINES lines."""
    out: list[tuple[int, int]] = []
    stack = [tree.root_node]  # type: ignore[attr-defined]
    while stack:
        node = stack.pop()
        if node.type == "block" and 2 <= node.end_point[0] - node.start_point[0] + 1 \
                <= MAX_BLOCK_LINES:
            out.append((node.start_point[0], node.end_point[0]))
        stack.extend(node.children)
    return sorted(out)


def indent_of(line: str) -> int:
    """Leading whitespace width: where a user starts typing on that line."""
    return len(line) - len(line.lstrip(" \t"))


def indentation_blocks(lines: list[str]) -> list[tuple[int, int]]:
    """Blocks by indentation: the lines after a line ending in ':' that are indented deeper."""
    out = []
    for i, line in enumerate(lines):
        if not line.rstrip().endswith(":"):
            continue
        j, last = i + 1, None
        while j < len(lines) and (not lines[j].strip() or indent_of(lines[j]) > indent_of(line)):
            last = j if lines[j].strip() else last
            j += 1
        if last is not None and 2 <= last - i <= MAX_BLOCK_LINES:
            out.append((i + 1, last))
    return out


def triple_quoted_lines(lines: list[str]) -> set[int]:
    """Lines inside triple-quoted strings, by counting delimiters (the parser-free guess)."""
    inside, out = False, set()
    for i, line in enumerate(lines):
        marks = line.count('"""') + line.count("'''")
        if inside or marks:
            out.add(i)
        if marks % 2:
            inside = not inside
    return out


def single_line_candidates(lines: list[str], skip: set[int]) -> list[int]:
    """Lines worth completing: code of some length, not comments, not inside strings."""
    return [i for i, line in enumerate(lines) if i not in skip and i > 0
            and len(line.strip()) >= MIN_LINE_CHARS and not line.lstrip().startswith("#")]


def cut(package: str, path: str, kind: str, text: str, start: int, end: int) -> FimTask:
    """The task of filling text[start:end] back in."""
    return FimTask(package, path, kind, text[:start], text[start:end], text[end:])


def pick_spans(package: str, path: str, text: str, rng: random.Random,
               parser: object | None) -> list[FimTask]:
    """At most one single-line and one multi-line task from one file. Each span starts after
    the line's indentation (the cursor where a user starts typing) and ends at a line end."""
    lines = text.split("\n")
    offsets = line_offsets(text)
    tree = None
    if parser is not None and path.endswith((".py", ".pyi")):
        tree = parser.parse(text.encode("utf-8"))  # type: ignore[attr-defined]
    skip = string_lines(tree) if tree is not None else triple_quoted_lines(lines)
    tasks = []
    singles = single_line_candidates(lines, skip)
    if singles:
        i = rng.choice(singles)
        start = offsets[i] + indent_of(lines[i])
        tasks.append(cut(package, path, "single-line", text, start, offsets[i] + len(lines[i])))
    blocks = syntax_blocks(tree) if tree is not None else indentation_blocks(lines)
    blocks = [b for b in blocks if b[0] not in skip and all(
        lines[k].strip() for k in (b[0], b[1]))]
    if blocks:
        first, last = rng.choice(blocks)
        start = offsets[first] + indent_of(lines[first])
        tasks.append(cut(package, path, "multi-line", text, start, offsets[last] +
                         len(lines[last])))
    return tasks


def normalize(text: str) -> str:
    """Trailing spaces and surrounding blank lines do not count in a comparison."""
    return "\n".join(line.rstrip() for line in text.strip("\n").split("\n")).rstrip()


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance in characters."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def edit_similarity(prediction: str, target: str) -> float:
    """1 - distance / longer length, on normalized text (1.0 for two empty strings)."""
    a, b = normalize(prediction), normalize(target)
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - edit_distance(a, b) / longest


def exact_match(prediction: str, target: str) -> bool:
    """Equal after `normalize`."""
    return normalize(prediction) == normalize(target)
