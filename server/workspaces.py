"""The repositories the server serves: one index per workspace folder, built in the
background, with the lock that keeps indexing and context building apart, and the queue that
gives each index the editor's buffers of its folder."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autan.indexer.index import RepoIndex
from autan.indexer.parse import TextEdit

Progress = Callable[[int, int, str], None]
log = logging.getLogger(__name__)


@dataclass
class Folder:
    root: Path
    index: RepoIndex | None = None  # None until the first indexing pass ends
    lock: threading.Lock = field(default_factory=threading.Lock)


class Workspaces:
    def __init__(self) -> None:
        self.folders: dict[Path, Folder] = {}
        # One thread gives the indexes the editor's buffers, in the order the changes came:
        # each change's edits apply to the text that the change before it made.
        self._buffers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autan-buffers")

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

    def update_buffer(self, path: Path, text: str,
                      edits: Sequence[TextEdit] = ()) -> Future[None]:
        """Queue an editor buffer's `text` for the index of the folder holding `path`, with
        the `edits` that made it from the text that index last got (re-parsed incrementally;
        without edits, or when they do not make `text`, the text is parsed whole). Call it
        where folders are added and removed (the event loop): the folder is looked up here."""
        return self._queue(self._update_buffer, self.folder_of(path), path, text, tuple(edits))

    def close_buffer(self, path: Path) -> Future[None]:
        """Queue forgetting a closed buffer: the file on disk counts again (or, when the
        buffer was never saved, nothing does). Called as `update_buffer` is."""
        return self._queue(self._close_buffer, self.folder_of(path), path)

    def buffers_done(self) -> Future[None]:
        """Done once every buffer update queued before it is done."""
        return self._queue(lambda: None)

    def _queue(self, work: Callable[..., None], *args: Any) -> Future[None]:
        future = self._buffers.submit(work, *args)
        future.add_done_callback(log_failure)
        return future

    @staticmethod
    def _update_buffer(folder: Folder | None, path: Path, text: str,
                       edits: tuple[TextEdit, ...]) -> None:
        if folder is None:
            return
        with folder.lock:
            if folder.index is not None:  # else its first indexing gets the buffer after
                folder.index.update_buffer(folder.index.relpath(path), text, edits)

    @staticmethod
    def _close_buffer(folder: Folder | None, path: Path) -> None:
        if folder is None:
            return
        with folder.lock:
            if folder.index is not None:
                folder.index.close_buffer(folder.index.relpath(path))


def log_failure(future: Future[None]) -> None:
    """A failed buffer update is logged (nobody waits for most of them); the next update
    of that buffer, which carries its whole text, repairs the index."""
    if not future.cancelled() and (err := future.exception()) is not None:
        log.warning("updating an editor buffer in the index failed: %s", err)
