"""`ChangedFiles`: watcher events are batched per workspace folder, a burst becomes one
refresh, events that arrive while a batch runs are not lost, and folders not indexed yet (or
paths outside every folder) are ignored. The index is a stub that records its calls."""

from __future__ import annotations

import asyncio
import threading
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


class HeldIndex(StubIndex):
    """A stub whose refresh waits until the test lets it go, so the test knows a batch is
    running (it has taken its paths) without guessing how long that takes."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def refresh_paths(self, paths: Any) -> list[str]:
        result = super().refresh_paths(paths)
        self.entered.set()
        assert self.release.wait(30), "the test never released the refresh"
        return result


@pytest.mark.asyncio
async def test_events_in_one_window_are_one_batch_and_later_ones_the_next(
        tmp_path: Path) -> None:
    workspaces = Workspaces()
    folder = workspaces.add(tmp_path)
    index = HeldIndex()
    folder.index = index  # type: ignore[assignment]
    changed = ChangedFiles(workspaces, debounce_s=0.05)
    root = tmp_path.resolve()
    changed.add([(tmp_path / "one.py").as_uri()])
    first = changed.batch
    # One turn of the loop: the batch starts its debounce wait, and this test resumes in the
    # same turn, before any timer can fire, so the second event lands inside that window
    # however slow the machine is.
    await asyncio.sleep(0)
    changed.add([(tmp_path / "two.py").as_uri()])
    assert changed.batch is first and not index.calls
    # The first batch is inside refresh_paths: it has taken what was pending.
    assert await asyncio.wait_for(asyncio.to_thread(index.entered.wait, 30), 60)
    assert index.calls == [{root / "one.py", root / "two.py"}]
    index.entered.clear()
    changed.add([(tmp_path / "three.py").as_uri()])  # while that batch runs
    assert changed.batch is first and not first.done()  # no second task: the first loops
    index.release.set()
    await settle(changed)
    assert index.calls == [{root / "one.py", root / "two.py"}, {root / "three.py"}]
    assert not changed.pending


def test_the_watcher_watches_every_file() -> None:
    registration = watcher_registration().registrations[0]
    assert registration.method == "workspace/didChangeWatchedFiles"
    assert [w.glob_pattern for w in registration.register_options.watchers] == ["**/*"]
