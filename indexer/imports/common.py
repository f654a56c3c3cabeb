"""What every language's resolver shares: the repository's file set with its lookup tables,
the project settings read from it, and repository-relative path arithmetic.

Paths are POSIX and repository-relative; '' is the repository root. A resolver only ever
answers with a path that is in `RepoFiles.files`, so nothing outside the repository leaks in.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

ReadText = Callable[[str], "str | None"]
T = TypeVar("T")


def shapes_resolution(path: str) -> bool:
    """Whether a change to `path` can change how other files' imports resolve: a project
    file the resolver reads (go.mod, Cargo.toml, tsconfig/jsconfig, package.json)."""
    name = posixpath.basename(path)
    return name in ("go.mod", "Cargo.toml", "package.json") or (
        name.startswith(("tsconfig", "jsconfig")) and name.endswith(".json"))


class RepoFiles:
    """One repository's file set, with lazily built indexes (folder listing, file names) and
    settings read from project files (go.mod modules, Cargo crates, tsconfigs), which
    `add_file`/`remove_file` keep current."""

    def __init__(
        self,
        files: Iterable[str],
        root: Path | str | None = None,
        read_text: ReadText | None = None,
    ) -> None:
        self.files: set[str] = set(files)
        self.root = Path(root) if root is not None else None
        self._read_text = read_text
        self._dirs: dict[str, list[str]] | None = None  # folder -> files directly in it
        self._names: dict[str, list[str]] | None = None  # file name -> paths
        # Settings built by the language resolvers, keyed by the project file they come from
        # ('go.mod', 'Cargo.toml'), or '.json' for tsconfigs, whose `extends` can reach any
        # JSON file. Kept here so that a changed project file drops them.
        self._settings: dict[str, Any] = {}

    def add_file(self, path: str) -> None:
        """Register a new or changed file (a changed go.mod/tsconfig/Cargo.toml re-reads)."""
        if path not in self.files:
            self.files.add(path)
            if self._dirs is not None:
                self._dirs.setdefault(posixpath.dirname(path), []).append(path)
            if self._names is not None:
                self._names.setdefault(posixpath.basename(path), []).append(path)
        self._forget_settings(path)

    def remove_file(self, path: str) -> None:
        """Forget a deleted file."""
        if path in self.files:
            self.files.discard(path)
            if self._dirs is not None:
                self._dirs.get(posixpath.dirname(path), []).remove(path)
            if self._names is not None:
                self._names.get(posixpath.basename(path), []).remove(path)
        self._forget_settings(path)

    def read_text(self, path: str) -> str | None:
        """A repository file's text, or None when it cannot be read."""
        try:
            if self._read_text is not None:
                return self._read_text(path)
            if self.root is not None:
                return (self.root / path).read_text(encoding="utf-8", errors="replace")
        except (OSError, ValueError):
            return None
        return None

    def settings(self, key: str, build: Callable[[], T]) -> T:
        """The settings stored under `key` (see `_settings`), built on first use."""
        if key not in self._settings:
            self._settings[key] = build()
        return self._settings[key]

    def first(self, candidates: Iterable[str]) -> str | None:
        """The first candidate (normalised) that is a repository file."""
        for candidate in candidates:
            norm = normalize(candidate)
            if norm is not None and norm in self.files:
                return norm
        return None

    def dir_files(self, folder: str) -> list[str]:
        """Files directly inside `folder`, sorted."""
        if self._dirs is None:
            self._dirs = {}
            for path in self.files:
                self._dirs.setdefault(posixpath.dirname(path), []).append(path)
        return sorted(self._dirs.get(folder, ()))

    def by_suffix(self, suffix: str) -> list[str]:
        """Files whose path is `suffix` or ends with '/' + `suffix`."""
        if self._names is None:
            self._names = {}
            for path in self.files:
                self._names.setdefault(posixpath.basename(path), []).append(path)
        named = self._names.get(posixpath.basename(suffix), ())
        return sorted(p for p in named if p == suffix or p.endswith("/" + suffix))

    def folders_ending(self, suffix: str) -> list[str]:
        """Folders holding files whose path is `suffix` or ends with '/' + `suffix`."""
        self.dir_files("")  # builds the folder index
        assert self._dirs is not None
        return sorted(f for f, inside in self._dirs.items()
                      if inside and (f == suffix or f.endswith("/" + suffix)))

    def _forget_settings(self, path: str) -> None:
        """Drop what was read from a project file that changed."""
        name = posixpath.basename(path)
        if name in ("go.mod", "Cargo.toml"):
            self._settings.pop(name, None)
        elif name.endswith(".json"):
            self._settings.pop(".json", None)


def normalize(path: str) -> str | None:
    """A repository-relative path without `.`/`..`; None when it leaves the repository."""
    if path.startswith("/"):
        return None
    norm = posixpath.normpath(path)
    if norm == ".":
        return ""
    if norm == ".." or norm.startswith("../"):
        return None
    return norm


def join(*parts: str) -> str:
    """posixpath.join that ignores empty parts ('' is the repository root)."""
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


def ancestors(folder: str) -> list[str]:
    """`a/b` -> ['a/b', 'a', ''] (nearest first, ending at the repository root)."""
    out = []
    while folder:
        out.append(folder)
        folder = posixpath.dirname(folder)
    return [*out, ""]


def up(folder: str, levels: int) -> str | None:
    """`folder` `levels` folders up; None above the repository root."""
    for _ in range(levels):
        if not folder:
            return None
        folder = posixpath.dirname(folder)
    return folder


def is_within(path: str, folder: str) -> bool:
    """Whether `path` lies in `folder` ('' is the repository root)."""
    return not folder or path.startswith(folder + "/")


def nearest(path: str, candidates: list[str]) -> str | None:
    """The candidate sharing the longest leading folder path with `path` (the same
    module or source set), ties broken by the shortest then alphabetical path."""
    if not candidates:
        return None
    here = path.split("/")

    def shared(candidate: str) -> int:
        count = 0
        for a, b in zip(here[:-1], candidate.split("/")[:-1], strict=False):
            if a != b:
                break
            count += 1
        return count

    return min(candidates, key=lambda c: (-shared(c), len(c), c))
