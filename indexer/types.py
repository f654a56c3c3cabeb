"""The indexer's data model, shared by its parts (files, parse, git, imports, store, context).

Plain dataclasses of str/int/list so that the store can serialise them with msgpack.
Lines are 0-based and end-inclusive inside the indexer; the CLI prints them 1-based.
Paths are repository-relative, with forward slashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Definition:
    """A named definition found by a tree-sitter query."""

    name: str
    kind: str  # function | method | class | type | interface | enum | constant | module
    start_line: int
    end_line: int
    signature: str  # the definition's first line(s) up to the body, e.g. "def add(a, b):"
    scope: str = ""  # enclosing definitions, dotted: "Outer.Inner" for a method of Inner


@dataclass
class ImportRef:
    """One import statement as written (resolved to repository files separately)."""

    module: str  # "os.path", "./util", "github.com/x/y/pkg", "crate::a::b", "java.util.List"
    names: list[str] = field(default_factory=list)  # imported names, when the syntax lists them
    line: int = 0
    relative_level: int = 0  # Python: number of leading dots


@dataclass
class FileSymbols:
    """What parsing one file yields."""

    language: str
    definitions: list[Definition] = field(default_factory=list)
    identifiers: list[str] = field(default_factory=list)  # distinct names used, in first-use order
    imports: list[ImportRef] = field(default_factory=list)


@dataclass
class FileRecord:
    """One indexed file: identity for incremental updates, symbols, resolved imports."""

    path: str
    size: int
    mtime_ns: int
    sha1: str  # of the bytes on disk (or of the editor buffer's UTF-8)
    language: str | None  # None: indexed as plain text only
    symbols: FileSymbols | None
    resolved_imports: list[str] = field(default_factory=list)  # repository paths
    line_count: int = 0
    errors: list[str] = field(default_factory=list)  # parse problems; never raised
