"""`ChangedFiles`: watcher events are batched per workspace folder, a burst becomes one
refresh, events that arrive while a batch runs are not lost, and folders not indexed yet (or
paths outside every folder) are ignored. The index is a stub that records its calls."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from autan.server.watch import ChangedFiles, watcher_registration
from autan.server.workspaces import Workspaces


class StubIndex:
    def __init__(self) -> None:
        self.calls: list[set[Path]] = []

    def refresh_paths(self, paths: Any) -> list[str]:
        self.calls.append(set(paths))
        return []


async def settle(changed: ChangedFiles) -> None:
    while changed.batch is not None and not changed.batch.done():
        await asyncio.wait_for(asyncio.shield(changed.batch), 10)


@pytest.mark.asyncio
async def test_a_burst_is_one_refresh_per_folder(tmp_path: Path) -> None:
    workspaces = Workspaces()
    a, b = workspaces.add(tmp_path / "a"), workspaces.add(tmp_path / "b")
    pending = workspaces.add(tmp_path / "c")  # still indexing: index is None
    a.index, b.index = StubIndex(), StubIndex()  # type: ignore[assignment]
    changed = ChangedFiles(workspaces, debounce_s=0.01)
    root = tmp_path.resolve()
    changed.add([(tmp_path / "a" / "x.py").as_uri(), (tmp_path / "a" / "y.py").as_uri(),
                 (tmp_path / "b" / "z.py").as_uri(), (tmp_path / "c" / "w.py").as_uri(),
                 (tmp_path / "elsewhere.py").as_uri()])
    await settle(changed)
    assert a.index.calls == [{root / "a" / "x.py", root / "a" / "y.py"}]  # type: ignore[union-attr]
    assert b.index.calls == [{root / "b" / "z.py"}]  # type: ignore[union-attr]
    assert pending.index is None and not changed.pending


@pytest.mark.asyncio
async def test_events_during_a_batch_are_refreshed_next(tmp_path: Path) -> None:
    workspaces = Workspaces()
    folder = workspaces.add(tmp_path)
    folder.index = StubIndex()  # type: ignore[assignment]
    changed = ChangedFiles(workspaces, debounce_s=0.05)
    changed.add([(tmp_path / "one.py").as_uri()])
    await asyncio.sleep(0.06)  # the first batch has taken "one.py"
    changed.add([(tmp_path / "two.py").as_uri()])
    await settle(changed)
    calls = folder.index.calls  # type: ignore[union-attr]
    assert set().union(*calls) == {tmp_path.resolve() / "one.py", tmp_path.resolve() / "two.py"}


def test_the_watcher_watches_every_file() -> None:
    registration = watcher_registration().registrations[0]
    assert registration.method == "workspace/didChangeWatchedFiles"
    assert [w.glob_pattern for w in registration.register_options.watchers] == ["**/*"]
