"""Planted one-line bugs, in the categories that dominate real one-line bugs in Python.

Each mutator takes a function's source lines and a random generator and returns one
`Mutation` (a single changed line) or None when the function offers no site for it. Every
mutant still parses and differs from the original; `plant` checks both.
"""

from __future__ import annotations

import ast
import io
import keyword
import random
import tokenize
from collections.abc import Callable
from dataclasses import dataclass

SWAPS = {"+": "-", "-": "+", "*": "/", "/": "*", "<": "<=", "<=": "<", ">": ">=",
         ">=": ">", "==": "!=", "!=": "==", "and": "or", "or": "and", "is": "is not",
         "in": "not in"}


@dataclass(frozen=True)
class Mutation:
    category: str
    line: int  # 0-based, in the text given to `plant`
    original: str
    mutated: str


def line_tokens(line: str) -> list[tokenize.TokenInfo]:
    """The tokens of one line of code (an empty list when it does not tokenize alone)."""
    try:
        return [t for t in tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline)
                if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER)]
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []


def replace_token(line: str, tok: tokenize.TokenInfo, text: str) -> str:
    indent = len(line) - len(line.lstrip())
    start, end = indent + tok.start[1], indent + tok.end[1]
    return line[:start] + text + line[end:]


def names_in(source: str) -> tuple[set[str], set[str]]:
    """(variable names, called function names) of a piece of code."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set(), set()
    variables = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    variables |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
                  for a in n.args + n.kwonlyargs}
    calls = {n.func.id if isinstance(n.func, ast.Name) else n.func.attr
             for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name | ast.Attribute)}
    return variables, calls


def _sites(lines: list[str], pick: Callable[[list[tokenize.TokenInfo], int], list[int]],
           rng: random.Random) -> tuple[int, list[tokenize.TokenInfo], int] | None:
    """A random (line, tokens, token index) among the body lines where `pick` finds one."""
    options = []
    for n, line in enumerate(lines[1:], start=1):  # never the `def` line
        toks = line_tokens(line)
        options += [(n, toks, i) for i in pick(toks, n)]
    return rng.choice(options) if options else None


def _is_variable(toks: list[tokenize.TokenInfo], i: int) -> bool:
    t = toks[i]
    after = toks[i + 1].string if i + 1 < len(toks) else ""
    before = toks[i - 1].string if i > 0 else ""
    return (t.type == tokenize.NAME and not keyword.iskeyword(t.string) and before != "."
            and after not in ("(", "=") and t.string not in ("self", "cls", "True", "False",
                                                             "None"))


def wrong_identifier(lines: list[str], rng: random.Random) -> Mutation | None:
    variables, _ = names_in("\n".join(lines))
    site = _sites(lines, lambda toks, _n: [i for i in range(len(toks))
                                          if _is_variable(toks, i)], rng)
    if site is None:
        return None
    n, toks, i = site
    others = sorted(variables - {toks[i].string, "self", "cls"})
    if not others:
        return None
    return Mutation("wrong-identifier", n, lines[n],
                    replace_token(lines[n], toks[i], rng.choice(others)))


def wrong_function(lines: list[str], rng: random.Random, file_calls: set[str] = frozenset()
                   ) -> Mutation | None:
    site = _sites(lines, lambda toks, _n: [
        i for i in range(len(toks) - 1) if toks[i].type == tokenize.NAME
        and toks[i + 1].string == "(" and not keyword.iskeyword(toks[i].string)], rng)
    if site is None:
        return None
    n, toks, i = site
    _, calls = names_in("\n".join(lines))
    others = sorted((calls | set(file_calls)) - {toks[i].string})
    if not others:
        return None
    return Mutation("wrong-function", n, lines[n],
                    replace_token(lines[n], toks[i], rng.choice(others)))


def changed_literal(lines: list[str], rng: random.Random) -> Mutation | None:
    site = _sites(lines, lambda toks, _n: [i for i, t in enumerate(toks)
                                          if t.type == tokenize.NUMBER
                                          and t.string.isdigit()], rng)
    if site is None:
        return None
    n, toks, i = site
    value = int(toks[i].string)
    new = rng.choice([v for v in (value + 1, value - 1, value * 2, 0, 1)
                      if v >= 0 and v != value])
    return Mutation("numeric-literal", n, lines[n], replace_token(lines[n], toks[i], str(new)))


def swapped_operator(lines: list[str], rng: random.Random) -> Mutation | None:
    site = _sites(lines, lambda toks, _n: [
        i for i, t in enumerate(toks) if t.string in SWAPS
        and t.type in (tokenize.OP, tokenize.NAME) and not _unary(toks, i)], rng)
    if site is None:
        return None
    n, toks, i = site
    return Mutation("operator", n, lines[n],
                    replace_token(lines[n], toks[i], SWAPS[toks[i].string]))


def _unary(toks: list[tokenize.TokenInfo], i: int) -> bool:
    """A `-x` or `*args`: no binary operator to swap; also `is not`, `not in`."""
    before = toks[i - 1].string if i > 0 else "("
    after = toks[i + 1].string if i + 1 < len(toks) else ""
    return ((toks[i].string in "+-*/" and before in "(,=[{:") or before in ("return", "=")
            or after == "not" or before == "not")


def negated_condition(lines: list[str], rng: random.Random) -> Mutation | None:
    heads = ("if ", "elif ", "while ")
    options = [n for n, line in enumerate(lines[1:], start=1)
               if line.strip().startswith(heads) and line.rstrip().endswith(":")]
    if not options:
        return None
    n = rng.choice(options)
    line = lines[n]
    indent = line[: len(line) - len(line.lstrip())]
    word, condition = line.strip()[:-1].split(" ", 1)
    if condition.startswith("not "):
        negated = condition[4:]
    elif " " in condition:
        negated = f"not ({condition})"
    else:
        negated = f"not {condition}"
    return Mutation("negated-condition", n, line, f"{indent}{word} {negated}:")


def _one_line_nodes(lines: list[str], n: int) -> list[ast.AST]:
    try:
        tree = ast.parse(lines[n].strip())
    except SyntaxError:
        try:
            tree = ast.parse(lines[n].strip() + "\n    pass")  # a block header
        except SyntaxError:
            return []
    return list(ast.walk(tree))


def swapped_arguments(lines: list[str], rng: random.Random) -> Mutation | None:
    options = []
    for n in range(1, len(lines)):
        stripped = lines[n].strip()
        for node in _one_line_nodes(lines, n):
            if isinstance(node, ast.Call) and len(node.args) == 2 and not node.keywords:
                a, b = (ast.get_source_segment(stripped, x) for x in node.args)
                if a and b and a != b:
                    options.append((n, node.args))
    if not options:
        return None
    n, (first, second) = rng.choice(options)
    line = lines[n]
    indent = len(line) - len(line.lstrip())
    a0, a1 = indent + first.col_offset, indent + first.end_col_offset
    b0, b1 = indent + second.col_offset, indent + second.end_col_offset
    mutated = line[:a0] + line[b0:b1] + line[a1:b0] + line[a0:a1] + line[b1:]
    return Mutation("swapped-arguments", n, line, mutated)


def off_by_one(lines: list[str], rng: random.Random) -> Mutation | None:
    options = []
    for n in range(1, len(lines)):
        for node in _one_line_nodes(lines, n):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "range" and node.args):
                options.append((n, node.args[-1]))
            elif isinstance(node, ast.Subscript) and (
                    isinstance(node.slice, ast.Name) or (isinstance(node.slice, ast.Constant)
                                                         and type(node.slice.value) is int)):
                options.append((n, node.slice))
    if not options:
        return None
    n, target = rng.choice(options)
    line = lines[n]
    indent = len(line) - len(line.lstrip())
    end = indent + target.end_col_offset
    return Mutation("off-by-one", n, line,
                    line[:end] + rng.choice([" + 1", " - 1"]) + line[end:])


def true_false(lines: list[str], rng: random.Random) -> Mutation | None:
    site = _sites(lines, lambda toks, _n: [i for i, t in enumerate(toks)
                                          if t.string in ("True", "False")], rng)
    if site is None:
        return None
    n, toks, i = site
    flipped = "False" if toks[i].string == "True" else "True"
    return Mutation("true-false", n, lines[n], replace_token(lines[n], toks[i], flipped))


MUTATORS: dict[str, Callable[[list[str], random.Random], Mutation | None]] = {
    "wrong-identifier": wrong_identifier,
    "wrong-function": wrong_function,
    "numeric-literal": changed_literal,
    "operator": swapped_operator,
    "negated-condition": negated_condition,
    "swapped-arguments": swapped_arguments,
    "off-by-one": off_by_one,
    "true-false": true_false,
}


def plant(function_lines: list[str], category: str, rng: random.Random) -> Mutation | None:
    """One mutant of the function in `category`, or None: it must parse and differ."""
    mutation = MUTATORS[category](function_lines, rng)
    if mutation is None or mutation.mutated == mutation.original:
        return None
    mutated = list(function_lines)
    mutated[mutation.line] = mutation.mutated
    try:
        ast.parse("\n".join(_dedent(mutated)))
    except SyntaxError:
        return None
    return mutation


def _dedent(lines: list[str]) -> list[str]:
    indent = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
    return [x[indent:] for x in lines]
