"""An engine killed with SIGKILL in the middle of a generation: the request in flight gets
null (and is counted as an error), the engine is started again, and the next request
succeeds.

Fixtures: pkg/main.py of the `repo` package (small requests), and `big.py`, outside the
workspace, ~150 KB of distinct lines, completed with a 40K-token budget so that its prefill
keeps the real engine busy for seconds, long enough to kill it mid-request."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from pathlib import Path

import pytest

from tests.lsp.conftest import MAIN
from tests.lsp.harness import (
    ServerEnv,
    init_options,
    inline,
    lsp_server,
    open_doc,
    pid_alive,
    stats,
    until,
)

pytestmark = pytest.mark.asyncio


def distinct_lines(n: int, seed: int = 5) -> str:
    """Lines no prefix cache has seen: a cold prefill of all of them."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return "".join(f"v{i} = '{''.join(rng.choices(letters, k=24))}'\n" for i in range(n))


async def test_a_killed_engine_is_restarted_and_the_next_request_succeeds(
        shared_env: ServerEnv, repo: Path, tmp_path: Path) -> None:
    options = init_options(shared_env, contextBudget=40000, maxTokens=8)
    async with lsp_server(shared_env, [repo], options) as client:
        small = open_doc(client, repo / "pkg" / "main.py", MAIN)
        await inline(client, small, 4, 10)  # starts the engine (or joins the shared one)
        before = await stats(client)
        pid = before["engine_pid"]
        assert pid and pid_alive(pid)

        big = distinct_lines(4000)
        uri = open_doc(client, tmp_path / "big.py", big)
        task = asyncio.create_task(inline(client, uri, big.count("\n"), 0))

        async def at_engine() -> bool:
            return (await stats(client))["engine_streams"] == 1

        await until(at_engine, 60)
        await asyncio.sleep(0.2)
        os.kill(pid, signal.SIGKILL)
        assert await task is None
        failed = await stats(client)
        assert failed["errors"] == before["errors"] + 1
        assert any(s["state"] == "error" for s in client.statuses)

        await inline(client, small, 5, 10)  # no exception: answered (items or null)
        after = await stats(client)
        assert after["errors"] == failed["errors"]
        assert after["model_calls"] == failed["model_calls"] + 1
        assert after["engine_pid"] not in (None, pid) and pid_alive(after["engine_pid"])
        assert after["recent"][-1]["prompt_tokens"] > 0  # the new engine did the work
        await until(lambda: not pid_alive(pid), 10)
