"""`autan bench ...`: benchmarks that report (never assert) against a peer in the same run."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass

from autan.cli.common import ExitCode, resolve_device, resolve_dtype
from autan.model import benchmark


@dataclass(frozen=True)
class EngineBenchDefaults:
    shapes: str = "tiny-mamba2,mid-mamba2"
    prefixes: str = "2048,32768,262144"
    prefill_tokens: int = 4096


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks (engine)")
    group = p.add_subparsers(dest="bench", metavar="BENCH", required=True)
    d = EngineBenchDefaults()
    e = group.add_parser("engine", help="prefill/decode speed and prefix-cache time to first "
                         "token, random weights",
                         description="Prefill and decode tokens/s, and time to first token for "
                         "a request extending a cached prefix by 16 tokens versus the same "
                         "request cold, on models with random weights.")
    e.add_argument("--shapes", default=d.shapes, help=f"named shapes (default: {d.shapes})")
    e.add_argument("--prefixes", default=d.prefixes,
                   help=f"cached prefix lengths in tokens (default: {d.prefixes})")
    e.add_argument("--prefill-tokens", type=int, default=d.prefill_tokens,
                   help=f"prompt length for the prefill speed (default: {d.prefill_tokens})")
    e.add_argument("--device", default="auto", help="cpu, cuda (default: auto)")
    e.add_argument("--dtype", default="auto", help="fp32, bf16 (default: bf16 on CUDA)")
    e.add_argument("--json", action="store_true", help="print results as JSON")
    e.set_defaults(handler=run_engine)


def run_engine(args: argparse.Namespace) -> ExitCode:
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    prefixes = [int(x) for x in args.prefixes.split(",") if x]
    hw = benchmark.hardware(device)
    results = []
    if not args.json:
        print(f"# autan bench engine: {hw}, {str(dtype).removeprefix('torch.')}, batch 1")
    for shape in args.shapes.split(","):
        r = benchmark.bench_shape(shape, device, dtype, args.prefill_tokens, prefixes)
        results.append(r)
        if not args.json:
            print_shape(r)
    peak = benchmark.peak_memory_mib(device)
    if args.json:
        print(json.dumps({"hardware": hw, "dtype": str(dtype), "peak_mib": peak,
                          "results": [benchmark.as_dict(r) for r in results]}))
    else:
        print(f"peak memory: {peak:.0f} MiB")
    return ExitCode.OK


def print_shape(r: benchmark.ShapeResult) -> None:
    print(f"\n## {r.shape}: {r.params_m:.1f}M parameters, state {r.state_mib:.2f} MiB")
    print(f"prefill {r.prefill_tokens} tokens: {r.prefill_tok_s:,.0f} tokens/s; "
          f"decode: {r.decode_tok_s:,.1f} tokens/s")
    print("| cached prefix | cold TTFT ms | cached TTFT ms | computed | speed-up |")
    print("|---:|---:|---:|---:|---:|")
    for p in r.prefixes:
        print(f"| {p.prefix_tokens:,} | {p.cold_ms:,.1f} | {p.cached_ms:,.1f} | "
              f"{p.computed_cached} | {p.speedup:,.0f}x |")
