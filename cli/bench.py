"""`autan bench ...`: benchmarks that report (never assert) against a peer in the same run."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from autan.cli import bench_lsp, bench_review, bench_start
from autan.cli.common import ExitCode, UsageError, resolve_device, resolve_dtype


@dataclass(frozen=True)
class EngineBenchDefaults:
    shapes: str = "tiny-mamba2,mid-mamba2"
    prefixes: str = "2048,32768,262144"
    prefill_tokens: int = 4096


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks (engine, index, kernels, lsp, start, review)")
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
    e.add_argument("--profile", action="store_true",
                   help="CUDA: print torch.profiler's top kernels of a decode step and a prefill "
                        "chunk")
    e.add_argument("--json", action="store_true", help="print results as JSON")
    e.set_defaults(handler=run_engine)
    i = group.add_parser("index", help="index a git copy of the Python standard library, "
                         "with universal-ctags on the same tree as the reference",
                         description="Full index, warm restart, one edited file, build_context "
                         "at several budgets and peak memory, beside ctags in the same run.")
    i.add_argument("--budgets", default="4096,32768,262144",
                   help="context budgets in tokens (default: 4096,32768,262144)")
    i.add_argument("--model", type=Path, help="count tokens with this model's tokenizer")
    i.add_argument("--json", action="store_true", help="print results as JSON")
    i.set_defaults(handler=run_index)
    k = group.add_parser("kernels", help="Triton kernels beside mamba-ssm and SDPA at real "
                         "model shapes (CUDA)",
                         description="CUDA-event timings of each Triton op and its peer in the "
                         "same run, with GB/s and TFLOP/s against this device's measured copy "
                         "bandwidth and matmul rate.")
    k.add_argument("--ops", default="", help="comma-separated op name prefixes (default: all)")
    k.add_argument("--reps", type=int, default=50, help="timed calls per case (default: 50)")
    k.add_argument("--smoke", action="store_true",
                   help="tiny shapes on CPU under Triton's interpreter (checks the benchmark "
                   "runs; its timings mean nothing)")
    k.add_argument("--json", action="store_true", help="print results as JSON")
    k.set_defaults(handler=run_kernels)
    bench_lsp.add_parser(group)
    bench_start.add_parser(group)
    bench_review.add_parser(group)


def run_engine(args: argparse.Namespace) -> ExitCode:
    from autan.bench import engine as engine_bench

    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    prefixes = [int(x) for x in args.prefixes.split(",") if x]
    hw = engine_bench.hardware(device)
    results = []

    def progress(line: str) -> None:  # stderr, as each figure is measured
        print(f"  ... {line}", file=sys.stderr, flush=True)

    if not args.json:
        print(f"# autan bench engine: {hw}, {str(dtype).removeprefix('torch.')}, batch 1")
    for shape in args.shapes.split(","):
        r = engine_bench.bench_shape(shape, device, dtype, args.prefill_tokens, prefixes,
                                  profile=args.profile, progress=progress)
        results.append(r)
        if not args.json:
            print_shape(r)
    peak = engine_bench.peak_memory_mib(device)
    if args.json:
        print(json.dumps({"hardware": hw, "dtype": str(dtype), "peak_mib": peak,
                          "results": [engine_bench.as_dict(r) for r in results]}))
    else:
        print(f"peak memory: {peak:.0f} MiB")
    return ExitCode.OK


def run_index(args: argparse.Namespace) -> ExitCode:
    import torch

    from autan.bench import engine as engine_bench
    from autan.bench import index as index_bench
    from autan.cli.repo import token_counter

    count = token_counter(args.model)
    budgets = [int(x) for x in args.budgets.split(",") if x]
    with tempfile.TemporaryDirectory() as tmp:
        tree = index_bench.copy_stdlib(Path(tmp) / "stdlib")
        r = index_bench.bench_index(tree, count, budgets)
    if args.json:
        print(json.dumps(asdict(r)))
        return ExitCode.OK
    print(f"# autan bench index: stdlib of Python {index_bench.python_version()}, "
          f"{engine_bench.hardware(torch.device('cpu'))}")
    print(f"{r.files} files, {r.lines:,} lines, {r.definitions:,} definitions")
    print(f"full index: {r.cold_s:.2f} s ({r.files / r.cold_s:,.0f} files/s, "
          f"{r.lines / r.cold_s:,.0f} lines/s)")
    if r.ctags_s is not None:
        print(f"universal-ctags -R, same tree: {r.ctags_s:.2f} s ({r.ctags_tags:,} tags); "
              f"autan / ctags = {r.cold_s / r.ctags_s:.1f}x")
    print(f"warm restart: {r.warm_restart_s:.2f} s; one edited file: {r.one_edit_s:.2f} s "
          f"({r.one_edit_parsed} re-parsed)")
    for budget, ms in r.context_ms.items():
        print(f"build_context at {budget:,} tokens: {ms:.1f} ms "
              f"({r.context_tokens[budget]:,} tokens filled)")
    print(f"peak RSS: {r.peak_rss_mib:.0f} MiB")
    return ExitCode.OK


def run_kernels(args: argparse.Namespace) -> ExitCode:
    import os

    if args.smoke:
        # Triton reads this when the kernels are decorated, so before they are imported.
        os.environ["TRITON_INTERPRET"] = "1"
    import torch

    from autan.kernels._triton import HAVE_TRITON, interpreting

    if not HAVE_TRITON:
        raise UsageError("autan bench kernels: Triton is not installed (pip install 'autan[gpu]')")
    if args.smoke and not interpreting():
        raise UsageError("autan bench kernels --smoke: the kernels were loaded before "
                         "TRITON_INTERPRET=1 could be set; run it in a fresh process")
    if not args.smoke and not torch.cuda.is_available():
        raise UsageError("autan bench kernels: needs a CUDA GPU (or --smoke for a CPU check)")
    from autan.bench import kernels as kernel_bench

    device = torch.device("cpu" if args.smoke else "cuda")
    ops = {o.strip() for o in args.ops.split(",") if o.strip()}
    header_printed = False

    def show(row: kernel_bench.Row) -> None:
        nonlocal header_printed
        if args.json:
            return
        if not header_printed:
            print(kernel_bench.TABLE_HEADER)
            header_printed = True
        print(kernel_bench.format_row(row, peaks_holder[0]))

    peaks_holder: list[kernel_bench.Peaks] = []
    if not args.json:
        print(f"# autan bench kernels: {kernel_bench.hardware(device)}, bf16, batch 1 unless "
              "stated" + (" (smoke run: tiny shapes, interpreter)" if args.smoke else ""))
        peaks = kernel_bench.measure_peaks(device, args.smoke)
        peaks_holder.append(peaks)
        print(f"device peaks measured now: copy {peaks.copy_gb_s:,.0f} GB/s, matmul "
              f"{peaks.matmul_tflop_s:,.1f} TFLOP/s")
    else:
        peaks_holder.append(kernel_bench.measure_peaks(device, args.smoke))
    report = kernel_bench.run(device, smoke=args.smoke, ops=ops, reps=args.reps, on_row=show,
                              peaks=peaks_holder[0])
    if args.json:
        print(json.dumps({"hardware": report.hardware, "peaks": asdict(report.peaks),
                          "peers": report.peer_note,
                          "rows": [asdict(r) for r in report.rows]}))
    else:
        print(f"peers: {report.peer_note}")
    return ExitCode.OK


def print_shape(r: object) -> None:
    print(f"\n## {r.shape}: {r.params_m:.1f}M parameters, state {r.state_mib:.2f} MiB")
    print(f"prefill {r.prefill_tokens} tokens: {r.prefill_tok_s:,.0f} tokens/s; "
          f"decode: {r.decode_tok_s:,.1f} tokens/s")
    if r.decode_floor_tok_s is not None:
        graph = ("not applicable (attention or experts)" if r.decode_graph_tok_s is None
                 else f"{r.decode_graph_tok_s:,.1f} tokens/s")
        best = max(r.decode_tok_s, r.decode_graph_tok_s or 0.0)
        print(f"decode with a CUDA graph: {graph}; bandwidth floor "
              f"{r.decode_floor_tok_s:,.1f} tokens/s "
              f"({1000 / r.decode_floor_tok_s:.2f} ms/token); best is "
              f"{best / r.decode_floor_tok_s:.0%} of the floor")
    floors = r.prefill_floor_ms or [None] * len(r.prefixes)
    print("| cached prefix | cold TTFT ms | FLOP floor ms (cold / floor) | cached TTFT ms | "
          "computed | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|")
    for p, floor in zip(r.prefixes, floors, strict=True):
        vs_floor = "n/a" if floor is None else f"{floor:,.1f} ({p.cold_ms / floor:.2f}x)"
        print(f"| {p.prefix_tokens:,} | {p.cold_ms:,.1f} | {vs_floor} | {p.cached_ms:,.1f} | "
              f"{p.computed_cached} | {p.speedup:,.0f}x |")
    if r.profile:
        print(r.profile)
