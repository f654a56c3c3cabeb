"""`autan complete FILE:LINE:COL`: one completion through the whole path, headless.

The engine is the slow part of a first run (a new process, torch, the model), so it is asked
for before anything else and starts while the index opens and the context is built. An
engine already serving this model on its shared socket (an editor's) is used as it is;
otherwise a private one is started, and one line on stderr says so, because the wait is
seconds long. stdout holds only the completion (or the JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from autan.cli.common import ExitCode, UsageError
from autan.cli.context import parse_location
from autan.cli.repo import find_root, open_index
from autan.indexer.budget import CONTEXT_DEFAULTS
from autan.wire.types import RequestStats

if TYPE_CHECKING:  # the server modules load only when a completion runs
    from autan.server.completion import Result
    from autan.server.engine_client import EngineClient, EngineStart

T = TypeVar("T")
TIMING_KEYS = ("engine_start", "load", "context", "prefill", "decode", "ttft", "total")
RUNNING_ENGINE_TIMEOUT_S = 2.0  # a live engine says hello at once, even while it computes


@dataclass(frozen=True)
class CompleteDefaults:
    budget: int = CONTEXT_DEFAULTS.budget
    max_tokens: int = 96
    device: str = "auto"


def add_parser(sub: argparse._SubParsersAction) -> None:
    d = CompleteDefaults()
    p = sub.add_parser("complete", help="complete at a cursor (index, context, engine, "
                       "post-processing)")
    p.add_argument("location", metavar="FILE:LINE:COL", help="cursor, LINE and COL 1-based")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--model", type=Path, help="model folder (default: the default model)")
    source.add_argument("--endpoint", help="a remote OpenAI-compatible engine's base URL")
    p.add_argument("--endpoint-model", default="", help="model name at --endpoint")
    p.add_argument("--budget", type=int, default=d.budget,
                   help=f"context budget in tokens (default: {d.budget})")
    p.add_argument("--max-tokens", type=int, default=d.max_tokens,
                   help="tokens to generate at most")
    p.add_argument("--device", default=d.device, help=f"cpu, cuda (default: {d.device})")
    p.add_argument("--json", action="store_true", help='print {"text", "prompt_tokens", '
                   '"cached_tokens", "timings_ms": {' + ", ".join(TIMING_KEYS) + "}}")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    path, line, col = parse_location(args.location)
    if args.budget < 1:
        raise UsageError(f"--budget {args.budget}: must be positive")
    result, timings = asyncio.run(complete(args, path, line, col))
    item = result.items[0].text if result and result.items else ""
    if args.json:
        stats = result.stats if result else RequestStats()
        print(json.dumps({"text": item, "prompt_tokens": stats.prompt_tokens,
                          "cached_tokens": stats.reused_tokens, "timings_ms": timings}))
    else:
        print(item)
    return ExitCode.OK


async def complete(args: argparse.Namespace, path: Path, line: int, col: int
                   ) -> tuple[Result | None, dict[str, float]]:
    """The completion and its timings (`TIMING_KEYS`, ms). `total` runs from here, before
    the engine is asked for, so every phase lies inside it."""
    from autan.model.io.demo import default_or_demo
    from autan.server.options import ModelOptions

    start = time.perf_counter()
    model_dir = args.model or default_or_demo()
    options = ModelOptions(path=str(model_dir), device=args.device, endpoint=args.endpoint,
                           endpoint_model=args.endpoint_model)
    client, starting = None, None
    if not args.endpoint:  # a remote engine needs no local one
        client = await engine_client(model_dir, args.device)
        starting = asyncio.create_task(client.start())
    try:
        result = await alongside(complete_with(args, path, line, col, options, client),
                                 starting)
        total_ms = (time.perf_counter() - start) * 1000
    finally:
        if starting is not None and not starting.done():
            starting.cancel()
        if client is not None:
            await client.close()
    return result, phase_timings(result, client.last_start if client else None, total_ms)


async def complete_with(args: argparse.Namespace, path: Path, line: int, col: int,
                        options: object, client: EngineClient | None) -> Result | None:
    """Index, context, prompt, generation and post-processing, on `client`'s engine."""
    from autan.indexer.files import read_text
    from autan.server.backend import LocalBackend, RemoteBackend
    from autan.server.completion import Completer, Request
    from autan.server.options import CompletionOptions

    model_dir = Path(options.path)  # type: ignore[attr-defined]
    # Both read files (the index, tokenizer.json): threads, so the engine's start goes on.
    index, local = await asyncio.gather(
        asyncio.to_thread(open_index, find_root(path), quiet=True),
        asyncio.to_thread(LocalBackend, model_dir, options, shared=False, client=client))
    backend = local if not args.endpoint else RemoteBackend(options, local.family,
                                                            local.tokenizer)
    completer = Completer(backend, CompletionOptions(max_tokens=args.max_tokens,
                                                     context_budget=args.budget), index)
    text, note = read_text(path)  # decoded as the index decodes it, so both see one text
    if text is None:
        raise UsageError(f"{path}: {note}")
    result = await completer.complete(Request(str(path), index.relpath(path), text, line, col))
    # A suggestion decided before the engine stopped leaves its `done` (the engine's token
    # counts and times) to a background task: wait for it (bounded) before the engine goes.
    await asyncio.gather(*completer.drains)
    return result


async def engine_client(model_dir: Path, device: str) -> EngineClient:
    """The shared engine of this model when one is running on the wanted device, else a
    private one that this process starts (and announces) and that ends with it."""
    from autan.model.io.default_model import model_name
    from autan.server.engine_client import EngineClient, EngineLaunch
    from autan.wire.protocol import EngineError, default_socket_path

    running = EngineClient(default_socket_path(model_dir),
                           connect_timeout_s=RUNNING_ENGINE_TIMEOUT_S)
    with contextlib.suppress(EngineError):
        await running.start()
        if on_device(str(running.hello.get("device", "")), device):
            return running
    await running.close()
    name = model_name(model_dir)
    return EngineClient(launch=EngineLaunch(model=model_dir, device=device),
                        on_spawn=lambda: announce(f"starting the engine (model {name})…"))


def on_device(engine_device: str, wanted: str) -> bool:
    """Whether an engine on `engine_device` ("cpu", "cuda:0") serves `--device wanted`."""
    if wanted == "auto":
        return True
    return engine_device == wanted or engine_device.split(":")[0] == wanted


def announce(message: str) -> None:
    print(f"autan: {message}", file=sys.stderr, flush=True)


async def alongside(work: Awaitable[T], helper: asyncio.Task[None] | None) -> T:
    """`work`'s result, with `helper` running meanwhile; a failing helper (the engine did
    not start) cancels `work` and raises its error, rather than letting `work` try again."""
    task = asyncio.ensure_future(work)
    if helper is None:
        return await task
    await asyncio.wait({task, helper}, return_when=asyncio.FIRST_EXCEPTION)
    if helper.done() and not helper.cancelled() and helper.exception() is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise helper.exception()  # type: ignore[misc]
    return await task


def phase_timings(result: Result | None, start: EngineStart | None,
                  total_ms: float) -> dict[str, float]:
    """`TIMING_KEYS` in ms: the engine's start (spawn or connect until its hello) and its own
    model load within it (0 for a running engine), the context build, the engine's prefill to
    the first token and its decode, `ttft` from asking the engine to the first token (prompt
    build and the rest of the engine's start included) and the whole `total`."""
    t = result.timings_ms if result is not None else {}
    values = {"engine_start": start.wait_ms if start else 0.0,
              "load": start.load_ms if start else 0.0, "context": t.get("context", 0.0),
              "prefill": t.get("engine_ttft", 0.0), "decode": t.get("decode", 0.0),
              "ttft": t.get("ttft", 0.0), "total": total_ms}
    return {k: round(values[k], 3) for k in TIMING_KEYS}
