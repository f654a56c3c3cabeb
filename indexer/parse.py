"""One tree-sitter parse per file, turned into `FileSymbols`: definitions, imports, identifiers.

What to find lives in query files (`queries/<language>-tags.scm` and
`queries/<language>-identifiers.scm`), so supporting a new construct is a query edit, not
code. This module only interprets the captures, the same way for every language:

- `@definition.<kind>` is a whole definition and `@name` its name; `<kind>` is one of the
  kinds in `types.Definition`. `@receiver` (optional) names an owner that is not an
  enclosing node: Go's receiver type, C++'s `Type::` qualifier.
- `@scope` with `@scope.name` is a node that scopes what it contains without being a
  definition itself (Rust's `impl Type`).
- `@import` groups one import; `@import.module` is its module (quotes stripped),
  `@import.module.dotted` a module whose leading dots are the relative level (Python),
  `@import.module.relative` a path relative to the file (made to start with `./`),
  `@import.name` an imported name, `@import.name.star` a wildcard (`*`), and
  `@import.tree.rust` a Rust use tree, flattened here.
- `@identifier` is a name used; `@skip` removes a node from the identifiers (lifetimes).
- Captures starting with `_` serve predicates only.

A query file may start with `; inherits: a, b`: those files' patterns come first.
Queries are compiled once per language; parsing never raises (problems become messages).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import TypeVar

from tree_sitter import Node, Parser, Query, QueryCursor, Tree

from autan.indexer.languages import LANGUAGES, get_language
from autan.indexer.types import Definition, FileSymbols, ImportRef

_T = TypeVar("_T")

QUERY_DIR = Path(__file__).parent / "queries"
QUERY_PARTS = ("tags", "identifiers")
MAX_SIGNATURE = 200
MAX_ERRORS = 20

# When several patterns capture the same node under the same name, the most specific
# kind wins (a Go `type_spec` of a struct is a class, not just a type).
_KIND_PRIORITY = {"method": 0, "function": 1, "class": 2, "interface": 3, "enum": 4,
                  "module": 5, "type": 6, "constant": 7}
# A function directly inside one of these is a method.
_CLASS_LIKE = frozenset({"class", "interface", "enum", "scope"})
# Nodes that add only a keyword around a single definition (`export`, `const`, `type`):
# the signature and the line range include them.
_WRAPPERS = frozenset({"export_statement", "lexical_declaration", "variable_declaration",
                       "type_declaration", "const_declaration", "var_declaration",
                       "ambient_declaration"})
# Nodes that always belong to the definition they wrap (`template <typename T>`).
_PREFIXES = frozenset({"template_declaration"})
# Nodes that are a definition's body when the grammar has no `body` field for it.
_BODY_TYPES = frozenset({
    "block", "statement_block", "class_body", "field_declaration_list", "declaration_list",
    "compound_statement", "enum_body", "interface_body", "enumerator_list",
    "enum_variant_list", "body_statement", "enum_member_declaration_list",
    "enum_declaration_list", "constructor_body", "annotation_type_body",
    "{", "end",  # the body's first token, or (Ruby, Lua) the end of an empty one
})
_COMMENTS = frozenset({"comment", "line_comment", "block_comment"})
# Leading annotations are not part of a signature (`@Override`, `[Serializable]`).
_ANNOTATIONS = frozenset({"marker_annotation", "annotation", "attribute_list", "decorator"})
_NAME_SEPARATORS = re.compile(r"::|\.|:|\\")
_SKIP_MARKERS = (b"#", b"//", b"/*", b"--", b"@")
_SPACE_AFTER_OPEN = re.compile(r"([(\[]) ")
_SPACE_BEFORE_CLOSE = re.compile(r" ([)\]])")
_GENERIC_ARGUMENTS = re.compile(r"<[^<>]*>")
_QUOTES = "\"'`"


@dataclass(frozen=True)
class LanguageQueries:
    """The two compiled queries of one language (read-only, shared by every parse)."""

    tags: Query
    identifiers: Query


@dataclass
class _Entry:
    """A definition or a scope-only node, before scopes are resolved."""

    node: Node  # the captured definition node
    outer: Node  # with wrappers and decorators: the line range
    name: str
    kind: str  # a definition kind, or "scope"
    receiver: str = ""
    scope: str = ""
    qualified: str = ""

    @property
    def start(self) -> int:
        """Ranges nest by the outer node, so a decorated method stays inside its class."""
        return self.outer.start_byte

    @property
    def end(self) -> int:
        """See `start`."""
        return self.outer.end_byte


@dataclass
class _ImportGroup:
    """The captures of one `@import` node, merged across the patterns that matched it."""

    line: int
    module: str = ""
    level: int = 0
    names: list[tuple[int, str]] = field(default_factory=list)
    expanded: list[tuple[str, list[str]]] | None = None


def query_path(language: str, part: str) -> Path:
    """The packaged query file for a language (`part` is "tags" or "identifiers")."""
    return QUERY_DIR / f"{language}-{part}.scm"


def load_query_source(language: str, part: str) -> str:
    """A query file's text with the files it inherits (`; inherits: a, b`) prepended."""
    text = query_path(language, part).read_text(encoding="utf-8")
    match = re.match(r";\s*inherits:\s*(.+)", text)
    parents = [p.strip() for p in match.group(1).split(",")] if match else []
    return "\n".join([load_query_source(p, part) for p in parents] + [text])


@cache
def get_queries(language: str) -> LanguageQueries:
    """Both queries of a language, compiled once per process (compiling costs milliseconds)."""
    lang = get_language(language)
    return LanguageQueries(Query(lang, load_query_source(language, "tags")),
                    Query(lang, load_query_source(language, "identifiers")))


def _parse(text: str, language: str) -> tuple[Tree, bytes]:
    """A tree of the text; a copy, since a tree-sitter tree is not safe to share by threads."""
    tree, source = _parse_cached(text, language)
    return tree.copy(), source


@lru_cache(maxsize=8)
def _parse_cached(text: str, language: str) -> tuple[Tree, bytes]:
    """Parse once: the context builder asks about the buffer it has just indexed."""
    source = text.encode("utf-8", errors="surrogatepass")
    return Parser(get_language(language)).parse(source), source


@dataclass(frozen=True)
class TextEdit:
    """An edit as an editor reports it: the replaced range in the old text (0-based lines,
    columns in characters) and the text put there."""

    start: tuple[int, int]
    end: tuple[int, int]
    new_text: str


def _point(lines: list[str], line: int, col: int) -> tuple[int, tuple[int, int]]:
    """Byte offset and tree-sitter point (row, byte column) of a (line, character) position."""
    line = min(line, len(lines) - 1)
    before = sum(len(x.encode("utf-8", "surrogatepass")) + 1 for x in lines[:line])
    column = len(lines[line][:col].encode("utf-8", "surrogatepass"))
    return before + column, (line, column)


def _char_offset(lines: list[str], line: int, col: int) -> int:
    line = min(line, len(lines) - 1)
    return sum(len(x) + 1 for x in lines[:line]) + min(col, len(lines[line]))


def reparse(old_text: str, old_tree: Tree, edit: TextEdit, language: str) -> tuple[str, Tree]:
    """Apply `edit` to `old_text` and re-parse reusing `old_tree`: tree-sitter re-reads only
    the region the edit touched. Returns the new text and its tree."""
    lines = old_text.split("\n")
    start_byte, start_point = _point(lines, *edit.start)
    old_end_byte, old_end_point = _point(lines, *edit.end)
    new_text = (old_text[: _char_offset(lines, *edit.start)] + edit.new_text
                + old_text[_char_offset(lines, *edit.end) :])
    inserted = edit.new_text.split("\n")
    new_end_byte = start_byte + len(edit.new_text.encode("utf-8", "surrogatepass"))
    last = len(inserted[-1].encode("utf-8", "surrogatepass"))
    new_end_point = ((start_point[0] + len(inserted) - 1,
                      (start_point[1] if len(inserted) == 1 else 0) + last))
    tree = old_tree.copy()
    tree.edit(start_byte, old_end_byte, new_end_byte, start_point, old_end_point, new_end_point)
    source = new_text.encode("utf-8", errors="surrogatepass")
    return new_text, Parser(get_language(language)).parse(source, tree)


def parse_tree(text: str, language: str) -> Tree:
    """The tree of `text` (to keep for `reparse`)."""
    return _parse(text, language)[0]


def _prepare(text: str, language: str,
             tree: Tree | None = None) -> tuple[Tree, bytes, LanguageQueries] | str:
    """The tree, its bytes and the queries, or the reason there are none."""
    if language not in LANGUAGES:
        return f"unsupported language: {language!r}"
    try:
        queries = get_queries(language)
        if tree is not None:
            source = text.encode("utf-8", errors="surrogatepass")
        else:
            tree, source = _parse(text, language)
    except Exception as exc:  # a missing grammar wheel or a broken query file
        return f"cannot parse {language}: {type(exc).__name__}: {exc}"
    return tree, source, queries


def parse_source(text: str, language: str,
                 tree: Tree | None = None) -> tuple[FileSymbols, list[str]]:
    """Definitions, identifiers and imports of one file's text, and its syntax problems.

    Whatever parsed is returned even when parts of the file did not: tree-sitter recovers
    around errors, and an index of a file being edited is still useful. `tree`, when given,
    is `text`'s tree already (from `reparse`), so nothing is parsed again.
    """
    symbols = FileSymbols(language=language)
    prepared = _prepare(text, language, tree)
    if isinstance(prepared, str):
        return symbols, [prepared]
    tree, source, queries = prepared
    errors = syntax_errors(tree.root_node, source)
    root = tree.root_node
    matches = _guarded(lambda: QueryCursor(queries.tags).matches(root), [], errors)
    symbols.definitions = _guarded(lambda: _definitions(matches, source), [], errors)
    symbols.imports = _guarded(lambda: _imports(matches, source), [], errors)
    keywords = LANGUAGES[language].keywords
    symbols.identifiers = _guarded(
        lambda: _identifiers(root, source, queries.identifiers, keywords), [], errors)
    return symbols, errors


def _guarded(step: Callable[[], _T], default: _T, errors: list[str]) -> _T:
    """Run one extraction step; a bug in one must not cost the others or the whole index."""
    try:
        return step()
    except Exception as exc:
        errors.append(f"internal error: {type(exc).__name__}: {exc}")
        return default


def identifiers_in_range(text: str, language: str, start_line: int, end_line: int) -> list[str]:
    """Distinct names used on lines start_line..end_line (0-based, inclusive), in order.

    The context builder looks up these names' definitions to fill the prompt with what the
    code near the cursor refers to. Returns [] for an unknown language or an empty range.
    """
    prepared = _prepare(text, language)
    if isinstance(prepared, str) or end_line < start_line:
        return []
    tree, source, queries = prepared
    start = (max(0, start_line), 0)
    end = (max(0, end_line) + 1, 0)
    try:
        return _identifiers(tree.root_node, source, queries.identifiers,
                            LANGUAGES[language].keywords, (start, end))
    except Exception:  # same contract as parse_source: never raise on a user's file
        return []


def syntax_errors(root: Node, source: bytes) -> list[str]:
    """Messages (1-based `line:column: ...`) for ERROR and MISSING nodes, at most MAX_ERRORS."""
    if not root.has_error:
        return []
    found: list[str] = []
    total = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            total += 1
            if len(found) < MAX_ERRORS:
                found.append(_error_message(node, source))
            continue
        stack.extend(reversed([c for c in node.children if c.has_error]))
    if total > len(found):
        found.append(f"... and {total - len(found)} more syntax errors")
    return found


def _error_message(node: Node, source: bytes) -> str:
    """One line for one error node: where, and the text tree-sitter could not place."""
    where = f"{node.start_point.row + 1}:{node.start_point.column + 1}"
    if node.is_missing:
        return f"{where}: missing {node.type!r}"
    near = " ".join(_text(source, node).split())
    near = near[:40] + ("..." if len(near) > 40 else "")
    return f"{where}: syntax error near {near!r}" if near else f"{where}: syntax error"


def _text(source: bytes, node: Node) -> str:
    """A node's source text (the tree keeps byte offsets into the UTF-8 source)."""
    return source[node.start_byte:node.end_byte].decode("utf-8", errors="replace")


def _end_line(node: Node) -> int:
    """The last line a node covers; a node ending at column 0 ended on the previous line."""
    row, column = node.end_point
    return row - 1 if column == 0 and row > node.start_point.row else row


# ---------------------------------------------------------------- definitions


def _definitions(matches: list[tuple[int, dict[str, list[Node]]]],
                 source: bytes) -> list[Definition]:
    """Definitions from the tag matches, deduplicated, with scopes and final kinds."""
    entries: dict[tuple[int, int, str], _Entry] = {}
    for _, captures in matches:
        entry = _entry(captures, source)
        if entry is None:
            continue
        key = (entry.start, entry.end, entry.name)
        old = entries.get(key)
        if old is None or _KIND_PRIORITY.get(entry.kind, 9) < _KIND_PRIORITY.get(old.kind, 9):
            entries[key] = entry
    ordered = sorted(entries.values(), key=lambda e: (e.start, -e.end))
    return [_definition(e, source) for e in _resolve_scopes(ordered)]


def _entry(captures: dict[str, list[Node]], source: bytes) -> _Entry | None:
    """The definition or scope one match describes, or None for an import match."""
    if "scope" in captures and "scope.name" in captures:
        node = captures["scope"][0]
        name = _clean_name(_text(source, captures["scope.name"][0]))
        return _Entry(node, node, name, "scope")
    kind = next((k[11:] for k in captures if k.startswith("definition.")), None)
    if kind is None or "name" not in captures:
        return None
    node = captures[f"definition.{kind}"][0]
    name = _clean_name(_text(source, captures["name"][0]))
    receiver = ""
    if "receiver" in captures:
        receiver = _clean_name(_text(source, captures["receiver"][0]))
    if kind != "module":  # a.b.c() is c in a.b; a namespace's dotted name is its name
        parts = [p for p in _NAME_SEPARATORS.split(name) if p]
        if len(parts) > 1:
            name, receiver = parts[-1], ".".join(filter(None, [receiver, *parts[:-1]]))
    if not name:
        return None
    outer = _outer(node, with_decorators=True)
    return _Entry(node, outer, name, kind, receiver)


def _clean_name(text: str) -> str:
    """A name as written, minus quotes (`declare module "x"`) and generic arguments."""
    text = text.strip().strip(_QUOTES)
    if "<" in text:
        text = _GENERIC_ARGUMENTS.sub("", text)
    return " ".join(text.split())


def _outer(node: Node, with_decorators: bool) -> Node:
    """The node plus keyword-only wrappers (`export`, `template <..>`) and maybe decorators."""
    while True:
        parent = node.parent
        if parent is None:
            return node
        wrapper = parent.type in _PREFIXES or (
            parent.type in _WRAPPERS and parent.named_child_count == 1)
        if not (wrapper or (with_decorators and parent.type == "decorated_definition")):
            return node
        node = parent


def _resolve_scopes(entries: list[_Entry]) -> list[_Entry]:
    """Nest entries by byte range, set each one's scope and fix method/function kinds.

    A `type` is transparent (what a typedef contains is its type, not its members), and
    entries with the same range are siblings (`const A, B = 1, 2`).
    """
    stack: list[_Entry] = []
    result: list[_Entry] = []
    for entry in entries:
        while stack and (stack[-1].end < entry.end
                         or (stack[-1].start, stack[-1].end) == (entry.start, entry.end)):
            stack.pop()
        _place(entry, stack[-1] if stack else None)
        if entry.kind != "type":
            stack.append(entry)
        if entry.kind != "scope":
            result.append(entry)
    return result


def _place(entry: _Entry, parent: _Entry | None) -> None:
    """Set an entry's scope under its innermost enclosing entry, and its final kind."""
    same_node = parent is not None and (parent.node.start_byte, parent.node.end_byte) == (
        entry.node.start_byte, entry.node.end_byte)
    if entry.kind == "scope" and parent is not None and same_node:
        entry.scope, entry.qualified = parent.scope, parent.qualified  # export const x = {..}
        return
    base = parent.qualified if parent else ""
    entry.scope = ".".join(filter(None, [base, _dotted(entry.receiver)]))
    entry.qualified = ".".join(filter(None, [entry.scope, entry.name]))
    if entry.kind == "function" and parent is not None and parent.kind in _CLASS_LIKE:
        entry.kind = "method"
    elif entry.kind == "method" and not entry.scope:
        entry.kind = "function"  # a Ruby `def` at the top level


def _dotted(name: str) -> str:
    """Scope paths use dots whatever the language's separator (`a::b`, `A\\B`)."""
    return ".".join(p for p in _NAME_SEPARATORS.split(name) if p)


def _definition(entry: _Entry, source: bytes) -> Definition:
    """The public record for a resolved entry."""
    signature = _signature(_outer(entry.node, with_decorators=False), entry.node,
                           entry.kind, source)
    return Definition(name=entry.name, kind=entry.kind, start_line=entry.outer.start_point.row,
                      end_line=_end_line(entry.outer), signature=signature,
                      scope=entry.scope)


# ---------------------------------------------------------------- signatures


def _signature(sig_node: Node, def_node: Node, kind: str, source: bytes) -> str:
    """The header up to the body, on one line, without comments or leading annotations.

    Constants and type aliases have no body: their whole text is the signature.
    """
    cut = sig_node.end_byte if kind in ("constant", "type") else _body_start(def_node)
    header = source[sig_node.start_byte:cut]
    if not _may_hold_skipped(header):  # the common case; walking the header costs more
        return _one_line(header.decode("utf-8", errors="replace"))
    pieces: list[bytes] = []
    pos = sig_node.start_byte
    for skipped in _skipped_in_header(sig_node, cut):
        pieces.append(source[pos:skipped.start_byte])
        pos = max(pos, skipped.end_byte)
    pieces.append(source[pos:cut])
    return _one_line(b"".join(pieces).decode("utf-8", errors="replace"))


def _may_hold_skipped(header: bytes) -> bool:
    """Whether a header may contain a comment or a leading annotation (a cheap byte test)."""
    return any(marker in header for marker in _SKIP_MARKERS) or header.startswith(b"[")


def _body_start(def_node: Node) -> int:
    """Where a definition's body starts: its `body` field, or the first body-like node."""
    body = def_node.child_by_field_name("body")
    if body is not None:
        return body.start_byte
    for node in _preorder(def_node, def_node.end_byte):
        if node.type in _BODY_TYPES:
            return node.start_byte
        inner = node.child_by_field_name("body") if node.is_named else None
        if inner is not None:  # const add = (a, b) => a + b
            return inner.start_byte
    return def_node.end_byte


def _preorder(root: Node, before: int) -> Iterator[Node]:
    """Descendants of root in source order, skipping subtrees starting at or after `before`."""
    stack = list(reversed(root.children))
    while stack:
        node = stack.pop()
        if node.start_byte >= before:
            continue
        yield node
        stack.extend(reversed(node.children))


def _skipped_in_header(sig_node: Node, cut: int) -> Iterator[Node]:
    """Comments before `cut` (three levels deep), and annotations in the first two levels."""
    stack = [(child, 1) for child in reversed(sig_node.children)]
    while stack:
        node, depth = stack.pop()
        if node.start_byte >= cut:
            continue
        if node.type in _COMMENTS or (node.type in _ANNOTATIONS and depth <= 2):
            yield node
        elif depth < 3:  # deeper comments (inside a default value) are rare and harmless
            stack.extend((child, depth + 1) for child in reversed(node.children))


def _one_line(text: str) -> str:
    """Collapse whitespace, drop a trailing `;`/`{`, and cap the length at MAX_SIGNATURE."""
    text = _SPACE_BEFORE_CLOSE.sub(r"\1", _SPACE_AFTER_OPEN.sub(r"\1", " ".join(text.split())))
    text = text.rstrip(";{ ")
    if len(text) > MAX_SIGNATURE:
        text = text[: MAX_SIGNATURE - 3].rstrip() + "..."
    return text


# ---------------------------------------------------------------- imports


def _imports(matches: list[tuple[int, dict[str, list[Node]]]],
             source: bytes) -> list[ImportRef]:
    """Imports from the tag matches: one per `@import` node, or more for a Rust use tree."""
    groups: dict[tuple[int, int], _ImportGroup] = {}
    for _, captures in matches:
        nodes = captures.get("import")
        if not nodes:
            continue
        node = nodes[0]
        group = groups.setdefault((node.start_byte, node.end_byte),
                                  _ImportGroup(line=node.start_point.row))
        for capture, captured in captures.items():
            for child in captured:
                _add_import_capture(group, capture, child, source)
    refs: list[ImportRef] = []
    for _, group in sorted(groups.items()):
        refs.extend(_import_refs(group))
    return refs


def _add_import_capture(group: _ImportGroup, capture: str, node: Node, source: bytes) -> None:
    """Fold one captured node into its import, by what the capture name says it is."""
    text = _text(source, node)
    if capture == "import.module":
        group.module = _unquote(text)
    elif capture == "import.module.dotted":
        group.module = text.lstrip(".").strip()
        group.level = len(text) - len(text.lstrip("."))
    elif capture == "import.module.relative":
        module = _unquote(text)
        group.module = module if module.startswith(".") else "./" + module.lstrip("/")
    elif capture == "import.name":
        group.names.append((node.start_byte, _unquote(text)))
    elif capture == "import.name.star":
        group.names.append((node.start_byte, "*"))
    elif capture == "import.tree.rust":
        group.expanded = _rust_use(node, source)


def _import_refs(group: _ImportGroup) -> list[ImportRef]:
    """The ImportRefs of one group, names in source order without duplicates."""
    if group.expanded is not None:
        return [ImportRef(module=m, names=n, line=group.line) for m, n in group.expanded]
    names = list(dict.fromkeys(name for _, name in sorted(group.names)))
    if not group.module and not group.level:
        return []
    return [ImportRef(module=group.module, names=names, line=group.line,
                      relative_level=group.level)]


def _unquote(text: str) -> str:
    """A module as written minus its quotes: `"fmt"` -> fmt, Lua's `[[x]]` -> x.

    A C `<stdio.h>` keeps its brackets: they tell the resolver to skip the file's folder.
    """
    text = text.strip()
    if text.startswith("[[") and text.endswith("]]"):
        return text[2:-2].strip()
    return text.strip(_QUOTES)


def _rust_use(node: Node, source: bytes) -> list[tuple[str, list[str]]]:
    """Flatten a Rust use tree into (module, names) pairs, one per `{...}` list.

    `a::{b, c::{d, e}, f::*}` gives (a, [b]), (a::c, [d, e]) and (a::f, [*]).
    """
    kind = node.type
    if kind == "scoped_use_list":
        path = node.child_by_field_name("path")
        listed = node.child_by_field_name("list")
        prefix = _text(source, path) if path is not None else ""
        return _rust_use_list(prefix, listed, source) if listed is not None else []
    if kind == "use_list":
        return _rust_use_list("", node, source)
    if kind == "use_as_clause":
        path = node.child_by_field_name("path")
        return [(_text(source, path), [])] if path is not None else []
    if kind == "use_wildcard":
        inner = node.named_children
        return [(_text(source, inner[0]) if inner else "", ["*"])]
    return [(_text(source, node), [])]


def _rust_use_list(prefix: str, listed: Node, source: bytes) -> list[tuple[str, list[str]]]:
    """The items of one `{...}`: plain names stay with the prefix, nested trees get theirs."""
    names: list[str] = []
    nested: list[tuple[str, list[str]]] = []
    for child in listed.named_children:
        if child.type in ("scoped_use_list", "use_wildcard", "use_list"):
            for module, inner in _rust_use(child, source):
                nested.append(("::".join(filter(None, [prefix, module])), inner))
        elif child.type == "use_as_clause":
            path = child.child_by_field_name("path")
            names.append(_text(source, path) if path is not None else _text(source, child))
        elif child.type not in _COMMENTS:
            names.append(_text(source, child))
    return ([(prefix, names)] if names else []) + nested


# ---------------------------------------------------------------- identifiers


def _identifiers(root: Node, source: bytes, query: Query, keywords: frozenset[str],
                 points: tuple[tuple[int, int], tuple[int, int]] | None = None) -> list[str]:
    """Distinct `@identifier` texts in first-occurrence order, minus keywords and `@skip`."""
    cursor = QueryCursor(query)
    if points is not None:
        cursor.set_point_range(*points)
    captures = cursor.captures(root)
    skipped = {node.start_byte for node in captures.get("skip", ())}
    nodes = sorted(captures.get("identifier", ()), key=lambda n: n.start_byte)
    seen: dict[bytes, None] = {}
    for node in nodes:
        if node.start_byte not in skipped:
            seen.setdefault(source[node.start_byte:node.end_byte], None)
    names = (raw.decode("utf-8", errors="replace") for raw in seen)
    return [name for name in names if name and name not in keywords and " " not in name]
