"""Fixtures of the LSP tests: one demo model and one real engine for the whole session (the
engine is shared by every server of `shared_env`, as editor windows share it), and a small
Python repository to open files in."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autan.model.io.demo import make_demo_checkpoint
from autan.server.engine_client import EngineClient
from autan.wire.protocol import EngineError
from tests.lsp.harness import ServerEnv, pid_alive

GEOMETRY = '''"""Points and distances."""
import math


class Point:
    def __init__(self, x: float, y: float) -> None:
        self.x = x
        self.y = y


def distance(a: Point, b: Point) -> float:
    return math.hypot(a.x - b.x, a.y - b.y)
'''

MAIN = '''from pkg.geometry import Point, distance


def run() -> None:
    origin = Point(0, 0)
    print(distance(origin, Point(3, 4)))
'''


@pytest.fixture(scope="session")
def demo_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo checkpoint (random weights, a real tokenizer), made once per session."""
    folder = tmp_path_factory.mktemp("lsp-demo-model")
    make_demo_checkpoint(folder)
    return folder


@pytest.fixture(scope="session")
def shared_env(demo_model: Path) -> Iterator[ServerEnv]:
    """Directories whose engine socket every server of the session shares; the engine the
    first server starts is stopped at the end."""
    env = ServerEnv.make(demo_model)
    yield env
    asyncio.run(stop_engine(env.socket))
    shutil.rmtree(env.cache.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def scripted_env(demo_model: Path) -> Iterator[ServerEnv]:
    """Directories of one test module, whose socket a scripted engine serves."""
    env = ServerEnv.make(demo_model)
    yield env
    asyncio.run(stop_engine(env.socket))
    shutil.rmtree(env.cache.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small Python package: `pkg/geometry.py` defines, `pkg/main.py` uses."""
    root = tmp_path_factory.mktemp("lsp-repo")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "geometry.py").write_text(GEOMETRY)
    (root / "pkg" / "main.py").write_text(MAIN)
    return root


async def stop_engine(socket: Path) -> None:
    """Stop whatever real engine listens on `socket` (shutdown, then SIGKILL)."""
    if not socket.exists():
        return
    client = EngineClient(socket)  # no launch recipe: connect only, never start one
    try:
        pid = (await client.health(5.0)).pid
        if not pid:  # a scripted engine (pid 0): its test stops it
            return
        await client.shutdown()
    except (EngineError, OSError):
        return
    finally:
        with contextlib.suppress(Exception):
            await client.close()
    deadline = time.monotonic() + 10
    while pid and pid_alive(pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if pid and pid_alive(pid) and pid != os.getpid():
        os.kill(pid, signal.SIGKILL)
