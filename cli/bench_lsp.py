"""`autan bench lsp`: a scripted editing session through a real LSP client (the session
itself is `autan.bench.lsp`); this module reads options and prints the report."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from autan.cli.common import ExitCode, UsageError
from autan.indexer.budget import CONTEXT_DEFAULTS


@dataclass(frozen=True)
class LspBenchDefaults:
    budget: int = CONTEXT_DEFAULTS.budget
    max_tokens: int = 16
    keystrokes: int = 0  # the whole function
    cache_mib: str = "2048,0"
    packages: str = "json,email,http,urllib,logging"


def add_parser(group: argparse._SubParsersAction) -> None:
    d = LspBenchDefaults()
    p = group.add_parser(
        "lsp", help="type a function into a copy of stdlib packages through a real LSP "
        "client; server-side time to first item, with and without the prefix state cache",
        description="Types a function one character at a time into json/decoder.py of a git "
        "copy of standard-library packages, asking `autan lsp` for an inline completion "
        "after each key, and reports p50/p90 of the server's time to first item split into "
        "context build, prompt, engine queue, prefill (cached versus computed tokens) and "
        "decode; once per engine prefix-cache budget (`autan engine --cache-mib`).")
    p.add_argument("--model", type=Path, help="model folder (default: the demo model)")
    p.add_argument("--device", default="auto", help="cpu, cuda (default: auto)")
    p.add_argument("--budget", type=int, default=d.budget,
                   help=f"context budget in tokens (default: {d.budget})")
    p.add_argument("--max-tokens", type=int, default=d.max_tokens,
                   help=f"tokens per completion at most (default: {d.max_tokens})")
    p.add_argument("--keystrokes", type=int, default=d.keystrokes,
                   help="type only the first N characters of the function (default: all)")
    p.add_argument("--cache-mib", default=d.cache_mib,
                   help=f"engine prefix cache budgets to compare (default: {d.cache_mib})")
    p.add_argument("--packages", default=d.packages,
                   help=f"standard-library packages to copy (default: {d.packages})")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    from autan.bench import lsp as lsp_bench
    from autan.server.backend import default_model_folder

    try:
        budgets = tuple(int(x) for x in args.cache_mib.split(",") if x)
    except ValueError:
        raise UsageError(f"--cache-mib {args.cache_mib}: expected MiB numbers") from None
    if args.budget < 64 or args.max_tokens < 1 or args.keystrokes < 0 or not budgets:
        raise UsageError("--budget >= 64, --max-tokens >= 1, --keystrokes >= 0, --cache-mib")
    config = lsp_bench.BenchConfig(
        model=(args.model or default_model_folder()).resolve(), device=args.device,
        budget=args.budget, max_tokens=args.max_tokens, keystrokes=args.keystrokes,
        packages=tuple(x for x in args.packages.split(",") if x), cache_mib=budgets)
    if not args.json:
        print(f"# autan bench lsp: {hardware(args.device)}; model {config.model.name}; "
              f"budget {config.budget} tokens, max {config.max_tokens} new tokens")
    result = lsp_bench.run(config, None if args.json else print_run)
    if args.json:
        print(json.dumps(lsp_bench.as_dict(result)))
    else:
        print(f"\n{result.files} files ({', '.join(config.packages)}); typed "
              f"{result.typed_chars} characters into {result.target}, one request per key")
    return ExitCode.OK


def hardware(device: str) -> str:
    from autan.bench import engine as engine_bench
    from autan.cli.common import resolve_device

    return engine_bench.hardware(resolve_device(device))


def print_run(r: object) -> None:
    label = "off" if r.cache_mib == 0 else "on"  # type: ignore[attr-defined]
    print(f"\n## prefix state cache {label} (autan engine --cache-mib {r.cache_mib})")
    print(f"{r.keystrokes} keystrokes: {r.model_requests} model requests, "
          f"{r.typeahead_hits} answered by type-ahead, {r.empty} without an item")
    first = r.first_ms
    print(f"first request (cold prompt): {first.get('total', 0):,.0f} ms, of which prefill "
          f"{first.get('engine_ttft', 0):,.0f} ms")
    print("| server-side ms (model requests) | p50 | p90 |")
    print("|---|---:|---:|")
    names = {"context": "context build", "prompt": "prompt + tokenize",
             "queue": "engine queue + transport", "engine_ttft": "prefill + first token",
             "decode": "decode", "total": "time to first item"}
    for stage, name in names.items():
        print(f"| {name} | {r.p50[stage]:,.1f} | {r.p90[stage]:,.1f} |")
    t = r.tokens_p50
    print(f"prompt tokens p50 {t['prompt_tokens']:,.0f}: cached {t['cached_tokens']:,.0f}, "
          f"computed {t['computed_tokens']:,.0f}; cached share over the session "
          f"{100 * r.cached_share:.1f}%")
    if r.typeahead_p50_ms is not None:
        print(f"type-ahead answers: p50 {r.typeahead_p50_ms:,.1f} ms")
