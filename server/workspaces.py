"""The repositories the server serves: one index per workspace folder, built in the
background, with the lock that keeps indexing and context building apart."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autan.indexer.index import RepoIndex

Progress = Callable[[int, int, str], None]


@dataclass
class Folder:
    root: Path
    index: RepoIndex | None = None  # None until the first indexing pass ends
    lock: threading.Lock = field(default_factory=threading.Lock)


class Workspaces:
    def __init__(self) -> None:
        self.folders: dict[Path, Folder] = {}

    def add(self, root: Path) -> Folder:
        root = root.resolve()
        return self.folders.setdefault(root, Folder(root))

    def remove(self, root: Path) -> None:
        self.folders.pop(root.resolve(), None)

    def folder_of(self, path: Path) -> Folder | None:
        """The innermost workspace folder holding `path`."""
        path = path.resolve()
        holding = [f for root, f in self.folders.items() if path.is_relative_to(root)]
        return max(holding, key=lambda f: len(f.root.parts), default=None)

    def index(self, folder: Folder, progress: Progress | None) -> RepoIndex:
        """Build or refresh `folder`'s index (blocking: run it in a worker thread)."""
        index, _ = RepoIndex.open(folder.root, progress)
        with folder.lock:
            folder.index = index
        return index
