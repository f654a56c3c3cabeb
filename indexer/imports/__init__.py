"""Resolve import statements to repository files, and keep the import graph both ways.

The context builder puts a file's imports (and, with decay, their imports and the files
that import it) into the prompt, so resolution favours precision: an import that cannot be
tied to a repository file (the standard library, a third-party package, a macro-generated
module) is left out rather than guessed.

Resolution works on the set of repository paths; only Go's `go.mod`, tsconfig/jsconfig
`paths` and Cargo crate names need file contents, read through `root` or `read_text`.
Nothing here raises on bad input: an import that makes resolution fail is skipped and,
when an `errors` list is given, described there.

This module maps a language to its resolver (one module per language, sharing `common`);
the graph is in `graph`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from autan.indexer.imports import c, go, java, javascript, python, rust, scripts
from autan.indexer.imports.common import ReadText, RepoFiles, shapes_resolution
from autan.indexer.imports.graph import Direction, ImportGraph
from autan.indexer.imports.python import PYTHON_SOURCE_ROOTS
from autan.indexer.types import ImportRef

__all__ = [
    "LANGUAGE_ALIASES", "PYTHON_SOURCE_ROOTS", "Direction", "ImportGraph", "ImportResolver",
    "ReadText", "resolve_imports", "shapes_resolution",
]

LANGUAGE_ALIASES = {
    "python": "python", "py": "python",
    "javascript": "javascript", "js": "javascript", "jsx": "javascript",
    "typescript": "typescript", "ts": "typescript", "tsx": "typescript",
    "go": "go", "rust": "rust", "java": "java", "kotlin": "kotlin",
    "c": "c", "cpp": "c", "c++": "c", "objc": "c", "cuda": "c",
    "ruby": "ruby", "lua": "lua", "php": "php", "bash": "bash", "sh": "bash",
}

_RESOLVERS: dict[str, Callable[[RepoFiles, str, ImportRef], list[str]]] = {
    "python": python.resolve,
    "javascript": javascript.resolve,
    "typescript": javascript.resolve,
    "go": go.resolve,
    "rust": rust.resolve,
    "java": java.resolve,
    "kotlin": java.resolve,
    "c": c.resolve,
    **{name: partial(scripts.resolve, language=name) for name in scripts.RULES},
}


def resolve_imports(
    path: str,
    language: str,
    imports: list[ImportRef],
    files: set[str],
    *,
    root: Path | str | None = None,
    errors: list[str] | None = None,
) -> list[str]:
    """Repository files that `path`'s imports refer to, in import order, without repeats.

    A one-off convenience: indexes over `files` are built per call, so bulk indexing
    should keep one `ImportResolver`. `root` lets Go read go.mod and TS read tsconfig."""
    return ImportResolver(files, root=root).resolve(path, language, imports, errors)


class ImportResolver(RepoFiles):
    """Resolves imports against one repository's file set, with lazily built indexes
    (folder listing, file names, go.mod modules, tsconfig files, Cargo crates) that
    `add_file`/`remove_file` keep current."""

    def resolve(
        self,
        path: str,
        language: str,
        imports: Iterable[ImportRef],
        errors: list[str] | None = None,
    ) -> list[str]:
        """Repository files `path`'s imports refer to, in order, without repeats or `path`."""
        resolver = _RESOLVERS.get(LANGUAGE_ALIASES.get(str(language).lower(), ""))
        if resolver is None:
            return []
        found: dict[str, None] = {}
        for ref in imports:
            try:
                found.update(dict.fromkeys(resolver(self, path, ref)))
            except Exception as exc:  # a malformed ImportRef must not stop the file
                if errors is not None:
                    errors.append(f"{path}:{getattr(ref, 'line', '?')}: import: {exc!r}")
        found.pop(path, None)
        return list(found)
