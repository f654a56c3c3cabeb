"""`autan complete FILE:LINE:COL`: one completion through the whole path, headless."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from autan.cli.common import ExitCode, UsageError
from autan.cli.context import parse_location
from autan.cli.repo import find_root, open_index


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("complete", help="complete at a cursor (index, context, engine, "
                       "post-processing)")
    p.add_argument("location", metavar="FILE:LINE:COL", help="cursor, LINE and COL 1-based")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--model", type=Path, help="model folder (default: the default model)")
    source.add_argument("--endpoint", help="a remote OpenAI-compatible engine's base URL")
    p.add_argument("--endpoint-model", default="", help="model name at --endpoint")
    p.add_argument("--budget", type=int, default=4096, help="context budget in tokens")
    p.add_argument("--max-tokens", type=int, default=96, help="tokens to generate at most")
    p.add_argument("--device", default="auto", help="cpu, cuda (default: auto)")
    p.add_argument("--json", action="store_true", help='print {"text", "prompt_tokens", '
                   '"cached_tokens", "timings_ms": {"context", "ttft", "total"}}')
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    path, line, col = parse_location(args.location)
    if args.budget < 1:
        raise UsageError(f"--budget {args.budget}: must be positive")
    result = asyncio.run(complete(args, path, line, col))
    item = result.items[0].text if result and result.items else ""
    if args.json:
        t = result.timings_ms if result else {}
        print(json.dumps({"text": item, "prompt_tokens": result.prompt_tokens if result else 0,
                          "cached_tokens": result.cached_tokens if result else 0,
                          "timings_ms": {k: round(t.get(k, 0.0), 3)
                                         for k in ("context", "ttft", "total")}}))
    else:
        print(item)
    return ExitCode.OK


async def complete(args: argparse.Namespace, path: Path, line: int, col: int):
    from autan.indexer.files import read_text
    from autan.model.demo import default_or_demo
    from autan.server.backend import LocalBackend, RemoteBackend
    from autan.server.completion import Completer, Request
    from autan.server.options import CompletionOptions, ModelOptions

    index = open_index(find_root(path), quiet=True)
    model_dir = args.model or default_or_demo()
    options = ModelOptions(path=str(model_dir), device=args.device, endpoint=args.endpoint,
                           endpoint_model=args.endpoint_model)
    local = LocalBackend(model_dir, options, shared=False)
    backend = local if not args.endpoint else RemoteBackend(options, local.family,
                                                            local.tokenizer)
    completer = Completer(backend, CompletionOptions(max_tokens=args.max_tokens,
                                                     context_budget=args.budget), index)
    text, note = read_text(path)  # decoded as the index decodes it, so both see one text
    if text is None:
        raise UsageError(f"{path}: {note}")
    try:
        return await completer.complete(Request(str(path), index.relpath(path), text, line, col))
    finally:
        await local.close()
