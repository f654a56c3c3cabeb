"""`autan engine`: load a model once and serve completions to editors and HTTP clients.

The protocol is in `autan.wire.protocol`; this module only turns options into a
`ServeConfig` and loads the model.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autan.cli.common import ExitCode, add_model_options, resolve_device, resolve_dtype
from autan.wire.protocol import default_socket_path

if TYPE_CHECKING:  # the engine side loads torch; only this command's run() needs it
    from autan.engine_process.rpc_server import EngineService


@dataclass(frozen=True)
class EngineDefaults:
    cache_mib: int = 2048
    idle_exit_s: float = 0.0  # never


def parse_host_port(text: str) -> tuple[str, int]:
    """'127.0.0.1:8000' or '[::1]:8000' -> (host, port); port 0 picks a free one."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def add_parser(sub: argparse._SubParsersAction) -> None:
    d = EngineDefaults()
    p = sub.add_parser(
        "engine", help="serve a model to editors over a socket or stdio, and over HTTP",
        description="Load a model once and serve completions: msgpack frames on a Unix socket "
        "(default) or stdin/stdout, and with --http an OpenAI-compatible /v1/completions. "
        "Without --model the demo model is used. With only --http, no socket is opened.")
    add_model_options(p, required=False)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--socket", type=Path, metavar="PATH",
                       help="Unix socket (default: one per model under $XDG_RUNTIME_DIR/autan)")
    where.add_argument("--stdio", action="store_true", help="serve one client on stdin/stdout")
    p.add_argument("--http", type=parse_host_port, metavar="HOST:PORT",
                   help="serve the OpenAI-compatible HTTP API there (port 0: a free port)")
    p.add_argument("--cache-mib", type=int, default=d.cache_mib,
                   help=f"prefix state cache budget in MiB (default: {d.cache_mib})")
    p.add_argument("--cuda-graph", action="store_true",
                   help="replay decode steps from a CUDA graph (Mamba-only models on CUDA)")
    p.add_argument("--idle-exit", type=float, default=d.idle_exit_s, metavar="SECONDS",
                   help="exit after this long with no client (default: never)")
    p.set_defaults(handler=run)


def _socket_path(args: argparse.Namespace) -> Path | None:
    if args.socket is not None:
        return args.socket
    if args.stdio or args.http is not None:
        return None
    return default_socket_path(args.model)


def _load(args: argparse.Namespace) -> EngineService:
    from autan.engine_process.rpc_server import EngineService
    from autan.model.io.fim import detect_family
    from autan.model.io.loader import load_model
    from autan.model.io.tokenizer import Tokenizer
    from autan.model.runtime.engine import Engine, EngineOptions

    start = time.perf_counter()
    device = resolve_device(args.device)
    model, checkpoint = load_model(args.model, resolve_dtype(args.dtype, device), device)
    tokenizer = Tokenizer.from_dir(args.model)
    engine = Engine(model, tokenizer, EngineOptions(cache_budget_bytes=args.cache_mib << 20,
                                                     cuda_graph=args.cuda_graph))
    family = detect_family(tokenizer, checkpoint.raw)
    load_ms = (time.perf_counter() - start) * 1000
    return EngineService(engine, Path(args.model).resolve().name, family, load_ms)


def run(args: argparse.Namespace) -> ExitCode:
    # OpenMP threads that spin while waiting steal the core a neighbour (the editor, the
    # language server) needs; passive waiting measured 6x faster decode on a busy 2-core box.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from autan.engine_process.rpc_server import EngineBusy, ServeConfig, claim_stdio, lock_socket
    from autan.engine_process.rpc_server import serve as serve_engine
    from autan.model.io.demo import default_or_demo

    if args.model is None:
        args.model = default_or_demo()
    socket_path = _socket_path(args)
    if socket_path is not None:
        try:
            lock_socket(socket_path)  # before loading: a second engine gives up at once
        except EngineBusy as err:
            print(f"autan engine: {err}", file=sys.stderr)
            return ExitCode.FAILURE
    stdio_fds = claim_stdio() if args.stdio else None
    service = _load(args)
    config = ServeConfig(socket_path=socket_path, stdio_fds=stdio_fds, http=args.http,
                         idle_exit_s=args.idle_exit)
    asyncio.run(serve_engine(service, config))
    return ExitCode.OK
