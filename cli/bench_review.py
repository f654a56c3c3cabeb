"""`autan bench review`: planted one-line bugs in held-out code, the model against baselines in
the same run, and the time a 20-file, 500-line diff takes (with the prefix state cache and
without it). Reports only; targets are printed beside the results, never asserted."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autan.cli.bench_start import hardware
from autan.cli.common import ExitCode, UsageError, resolve_device, resolve_dtype

if TYPE_CHECKING:  # the model stack is imported when the command runs, not at parser time
    import torch

    from autan.review.evaluation import Results
    from autan.review.speed import SpeedResult

TARGETS = "targets: AUC >= 0.85, top-1 >= 40%, <= 1 finding per clean diff, beat every baseline"


@dataclass(frozen=True)
class ReviewBenchDefaults:
    diffs: int = 24  # three per bug category
    seed: int = 0
    speed_files: int = 20
    speed_lines: int = 500


def add_parser(group: argparse._SubParsersAction) -> None:
    d = ReviewBenchDefaults()
    p = group.add_parser("review", help="autan review on planted bugs in held-out code, "
                         "beside random, line length, trigram and ruff; and its speed",
                         description="Plant one single-line bug per diff in held-out code and "
                         "measure how well the review's line scores localise it, beside "
                         "baselines on the same diffs; then time a review of a "
                         f"{d.speed_files}-file, {d.speed_lines}-line diff with and without "
                         "the prefix state cache.")
    p.add_argument("--diffs", type=int, default=d.diffs,
                   help=f"planted-bug diffs (default: {d.diffs})")
    p.add_argument("--seed", type=int, default=d.seed, help=f"default: {d.seed}")
    p.add_argument("--speed-files", type=int, default=d.speed_files,
                   help=f"files in the timed diff, 0 to skip it (default: {d.speed_files})")
    p.add_argument("--speed-lines", type=int, default=d.speed_lines,
                   help=f"changed lines in the timed diff (default: {d.speed_lines})")
    p.add_argument("--model", type=Path, help="model folder (default: the bundled model)")
    p.add_argument("--device", default="auto", help="cpu, cuda (default: auto)")
    p.add_argument("--dtype", default="auto", help="fp32, bf16 (default: bf16 on CUDA)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(handler=run)


def say(message: str) -> None:
    print(f"bench review: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> ExitCode:
    from autan.model.io.demo import default_or_demo
    from autan.model.io.loader import load_model
    from autan.model.io.tokenizer import Tokenizer
    from autan.model.runtime.engine import Engine, EngineOptions
    from autan.review.baselines import (
        TrigramBaseline,
        length_scores,
        random_scores,
        ruff_scores,
    )
    from autan.review.evaluation import evaluate, make_tasks
    from autan.review.speed import measure, pick_files
    from autan.train.corpus import gather

    if args.diffs < 0 or args.speed_files < 0 or args.speed_lines < 0:
        raise UsageError("--diffs, --speed-files and --speed-lines are not negative")
    corpus = gather()
    held = [(f"{d.package}/{d.path}", d.text) for d in corpus.split("heldout")
            if d.path.endswith(".py")]
    folder = args.model or default_or_demo()
    device = resolve_device(args.device)
    model, _ = load_model(folder, resolve_dtype(args.dtype, device), device)
    tokenizer = Tokenizer.from_dir(folder)
    engine = Engine(model, tokenizer)
    say(f"{len(held)} held-out Python files; training the trigram baseline")
    trigram = TrigramBaseline.train(d.text for d in corpus.split("train")
                                    if d.path.endswith(".py"))
    baselines = {"random": random_scores, "line length": length_scores,
                 "trigram+cache": trigram, "ruff (pyflakes)": ruff_scores}
    tasks = make_tasks(held, args.diffs, args.seed)
    results = evaluate(engine, tasks, baselines, progress=say)
    speed = None
    if args.speed_files and args.speed_lines:
        say(f"timing a {args.speed_files}-file, {args.speed_lines}-line diff")
        texts = pick_files(held, args.speed_files)
        chosen = {p for p, _ in texts}
        package = texts[0][0].split("/")[0] if texts else ""
        unchanged = [d for d in held if d[0] not in chosen and d[0].startswith(package)][:40]
        uncached = Engine(model, tokenizer, EngineOptions(cache_budget_bytes=0))
        speed = measure(engine, uncached, texts, args.speed_lines, unchanged)
    report = build_report(results, folder, device, speed, len(tasks))
    print(json.dumps(report, indent=2) if args.json else render(report))
    return ExitCode.OK


def build_report(results: Results, folder: Path, device: torch.device,
                 speed: SpeedResult | None, diffs: int) -> dict:
    from autan.model.io.default_model import model_name
    from autan.review.evaluation import THRESHOLDS

    def row(r) -> dict:
        return {"auc": r.auc, "top1": r.rate(r.top1), "top5": r.rate(r.top5),
                "paired_win": r.rate(r.paired_wins), "diffs": r.diffs}

    repairs = {c: (sum(v), len(v)) for c, v in sorted(results.repairs.items())}
    return {
        "hardware": f"{hardware()}, {device}",
        "model": model_name(folder),
        "diffs": diffs,
        "methods": {name: row(r) for name, r in results.methods.items()},
        "categories": {name: row(r) for name, r in sorted(results.categories.items())},
        "exact_repair": {c: {"repaired": a, "of": b} for c, (a, b) in repairs.items()},
        "thresholds": [{"threshold": t,
                        "findings_per_clean_diff": results.findings_per_clean_diff(t),
                        "planted_reported": results.detected(t)} for t in THRESHOLDS],
        "tokens_scored": results.tokens_scored,
        "model_seconds": results.model_seconds,
        "speed": None if speed is None else asdict(speed) | {
            "total_s": speed.total_s, "tokens_per_s": speed.tokens_per_s},
    }


def render(report: dict) -> str:
    out = [f"# autan bench review: {report['hardware']}, model {report['model']}, "
           f"{report['diffs']} planted-bug diffs", TARGETS, "",
           "| method | AUC | top-1 | top-5 | paired win |", "|---|---:|---:|---:|---:|"]
    for name, r in report["methods"].items():
        out.append(f"| {name} | {r['auc']:.3f} | {r['top1']:.0%} | {r['top5']:.0%} | "
                   f"{r['paired_win']:.0%} |")
    out += ["", "| category (model) | diffs | AUC | top-1 | top-5 | exact repair |",
            "|---|---:|---:|---:|---:|---:|"]
    for name, r in report["categories"].items():
        rep = report["exact_repair"].get(name, {"repaired": 0, "of": 0})
        out.append(f"| {name} | {r['diffs']} | {r['auc']:.3f} | {r['top1']:.0%} | "
                   f"{r['top5']:.0%} | {rep['repaired']}/{rep['of']} |")
    out += ["", "| threshold (nats) | findings per clean diff | planted line reported |",
            "|---:|---:|---:|"]
    out += [f"| {t['threshold']:g} | {t['findings_per_clean_diff']:.2f} | "
            f"{t['planted_reported']:.0%} |" for t in report["thresholds"]]
    rate = report["tokens_scored"] / report["model_seconds"] if report["model_seconds"] else 0
    out += ["", f"model side: {report['tokens_scored']:,} tokens scored in "
            f"{report['model_seconds']:.1f} s ({rate:,.0f} tokens/s with confirmation)"]
    if (s := report["speed"]) is not None:
        out += [f"timed diff: {s['files']} files, {s['changed_lines']} changed lines: "
                f"{s['total_s']:.1f} s (git {s['read_s']:.1f} s, index and context "
                f"{s['index_s']:.1f} s, review {s['review_s']:.1f} s: {s['tokens_scored']:,} "
                f"tokens scored, {s['tokens_reused']:,} reused from the cache, "
                f"{s['candidates_confirmed']} lines confirmed); without the prefix state "
                f"cache the review takes {s['uncached_review_s']:.1f} s "
                f"({s['uncached_review_s'] / s['review_s']:.1f}x)"]
    return "\n".join(out)
