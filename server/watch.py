"""Files changed on disk outside the editor: the file watcher the server asks the client for,
and the `workspace/didChangeWatchedFiles` events, batched per workspace folder and re-read by
that folder's index (`RepoIndex.refresh_paths`).

A checkout or a formatter run reports hundreds of files within milliseconds, so events are
collected for `DEBOUNCE_S` after the first of a burst and refreshed as one batch, in a worker
thread under the folder's lock (context building waits for it, as it waits for indexing).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path

from autan.server.workspaces import Folder, Workspaces

log = logging.getLogger(__name__)
DEBOUNCE_S = 0.2  # a burst (checkout, formatter, build) lands within this; one batch each
WATCHER_ID = "autan-watched-files"


def watcher_registration() -> types.RegistrationParams:
    """`client/registerCapability` params for a watcher of every file in every folder (the
    index decides what it keeps, with the same rules as its first walk)."""
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[types.FileSystemWatcher(glob_pattern="**/*")])
    return types.RegistrationParams(registrations=[types.Registration(
        id=WATCHER_ID, method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=options)])


class ChangedFiles:
    """Paths reported changed, pending per folder until the running batch picks them up."""

    def __init__(self, workspaces: Workspaces, debounce_s: float = DEBOUNCE_S) -> None:
        self.workspaces = workspaces
        self.debounce_s = debounce_s
        self.pending: dict[Path, set[Path]] = {}  # folder root -> changed paths
        self.batch: asyncio.Task[None] | None = None

    def add(self, uris: Iterable[str]) -> None:
        """Queue the paths of `uris` and start a batch unless one is running (it takes
        whatever is pending when its wait ends, and loops while more comes in)."""
        for uri in uris:
            path = to_fs_path(uri)
            folder = self.workspaces.folder_of(Path(path)) if path else None
            # A folder still being indexed for the first time reads the disk anyway.
            if folder is not None and folder.index is not None:
                self.pending.setdefault(folder.root, set()).add(Path(path or ""))
        if self.pending and (self.batch is None or self.batch.done()):
            self.batch = asyncio.ensure_future(self.run())

    async def run(self) -> None:
        while self.pending:
            await asyncio.sleep(self.debounce_s)
            batches, self.pending = self.pending, {}
            for root, paths in batches.items():
                folder = self.workspaces.folders.get(root)
                if folder is None:  # removed from the workspace meanwhile
                    continue
                try:
                    changed = await asyncio.to_thread(refresh_folder, folder, paths)
                except Exception as err:  # a bad batch must not stop the next ones
                    log.warning("re-reading changed files in %s failed: %s", root, err)
                    continue
                log.debug("%s: %d files re-indexed or dropped", root, len(changed))


def refresh_folder(folder: Folder, paths: Iterable[Path]) -> list[str]:
    """Re-read `paths` in the folder's index (blocking: run it in a worker thread)."""
    with folder.lock:
        return folder.index.refresh_paths(paths) if folder.index is not None else []
