"""`autan review`: the changed lines of a diff the model finds least natural, for CI.

The diff is read first, and a diff with nothing to review ends there, before any model
loads. Otherwise the repository is indexed for context, every changed file is scored after
that shared context, and the report goes to stdout or `--output` in the format CI reads.
Exit codes: 0 no finding at or above `--fail-on`, 1 some, 2 bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from autan.cli.common import ExitCode, UsageError, resolve_device, resolve_dtype
from autan.review.diff import Diff, DiffError, read_diff, repository_root
from autan.review.formats import FORMATS
from autan.review.types import LEVELS, Review, ReviewOptions

FAIL_ON = ("none", *LEVELS)
Say = Callable[[str], None]


@dataclass(frozen=True)
class ReviewDefaults:
    format: str = "text"
    fail_on: str = "error"
    device: str = "auto"
    dtype: str = "auto"


def add_parser(sub: argparse._SubParsersAction) -> None:
    d, o = ReviewDefaults(), ReviewOptions()
    p = sub.add_parser("review", help="review a diff: the changed lines the model finds least "
                       "natural, with its alternative",
                       description="Score the added and changed lines of a git diff with the "
                       "model in their repository context and report the few it finds least "
                       "natural, each with the model's own alternative.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="limit the review to these paths")
    p.add_argument("--base", help="base revision (default: the merge base with the CI's base "
                   "branch, else the default branch)")
    p.add_argument("--head", help="head revision (default: HEAD)")
    p.add_argument("--repo", type=Path, default=Path("."),
                   help="a folder inside the repository (default: the current folder)")
    p.add_argument("--format", choices=sorted(FORMATS), default=d.format,
                   help=f"report format (default: {d.format})")
    p.add_argument("--output", type=Path, help="write the report here (default: stdout)")
    p.add_argument("--max-comments", type=int, default=o.max_comments,
                   help=f"findings at most (default: {o.max_comments})")
    p.add_argument("--threshold", type=float, default=o.threshold,
                   help="nats by which the model's alternative must beat the original "
                   f"(default: {o.threshold})")
    p.add_argument("--fail-on", choices=FAIL_ON, default=d.fail_on,
                   help=f"exit 1 on a finding at this level or above (default: {d.fail_on})")
    p.add_argument("--budget", type=int, default=o.budget,
                   help=f"repository context tokens before each file (default: {o.budget})")
    p.add_argument("--model", type=Path, help="model folder (default: the bundled model)")
    p.add_argument("--device", default=d.device, help="cpu, cuda, cuda:N (default: auto)")
    p.add_argument("--dtype", default=d.dtype, choices=["auto", "fp32", "bf16", "fp16"],
                   help="weight dtype (default: bf16 on CUDA, fp32 on CPU)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(handler=run)


def options_from(args: argparse.Namespace) -> ReviewOptions:
    if args.max_comments < 0:
        raise UsageError(f"--max-comments {args.max_comments}: must be 0 or more")
    if args.budget < 0:
        raise UsageError(f"--budget {args.budget}: must be 0 or more")
    return replace(ReviewOptions(), max_comments=args.max_comments, threshold=args.threshold,
                   budget=args.budget)


def repo_paths(root: Path, paths: list[str]) -> list[str]:
    """PATH arguments (relative to the current folder) as repository-relative pathspecs."""
    out = []
    for path in paths:
        resolved = Path(path).resolve()
        try:
            out.append(resolved.relative_to(root.resolve()).as_posix() or ".")
        except ValueError as err:
            raise UsageError(f"{path}: outside the repository {root}") from err
    return out


def run(args: argparse.Namespace) -> ExitCode:
    options = options_from(args)
    say: Say = (lambda _m: None) if args.quiet else (
        lambda m: print(f"autan review: {m}", file=sys.stderr, flush=True))
    try:
        root = repository_root(args.repo)
        diff = read_diff(root, args.base, args.head, repo_paths(root, args.paths), os.environ)
    except DiffError as err:
        raise UsageError(str(err)) from err
    review = Review(skipped=[(s.path, s.reason) for s in diff.skipped], base=diff.base,
                    head=diff.head)
    if diff.files:
        say(f"{len(diff.files)} files, {sum(len(f.changed_lines) for f in diff.files)} "
            f"changed lines between {diff.base[:12]} and {diff.head[:12]}")
        review = run_model(args, diff, options, say)
    write_report(args, FORMATS[args.format](review))
    if diff.files:
        say(f"{len(review.findings)} findings; {review.stats.tokens_scored} tokens scored at "
            f"{review.stats.tokens_per_s:,.0f} tokens/s in {review.stats.seconds:.1f} s")
    return exit_code(review, args.fail_on)


def run_model(args: argparse.Namespace, diff: Diff, options: ReviewOptions,
              say: Say) -> Review:
    from autan.model.io.demo import default_or_demo
    from autan.model.io.loader import load_model
    from autan.model.io.tokenizer import Tokenizer
    from autan.model.runtime.engine import Engine
    from autan.review.pipeline import repository_context, review_files

    folder = args.model or default_or_demo()
    device = resolve_device(args.device)
    model, _ = load_model(folder, resolve_dtype(args.dtype, device), device)
    engine = Engine(model, Tokenizer.from_dir(folder))
    if options.budget:
        say(f"indexing {diff.root}")
    context = repository_context(diff.root, diff.files, options.budget, engine)
    review = review_files(engine, diff.files, context, options, diff.root.name, say)
    review.skipped = [(s.path, s.reason) for s in diff.skipped]
    review.base, review.head = diff.base, diff.head
    return review


def write_report(args: argparse.Namespace, text: str) -> None:
    if args.output is None:
        sys.stdout.write(text)
        return
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as err:
        raise UsageError(f"{args.output}: cannot write the report ({err.strerror})") from err


def exit_code(review: Review, fail_on: str) -> ExitCode:
    if fail_on == "none":
        return ExitCode.OK
    floor = LEVELS.index(fail_on)
    failing = any(LEVELS.index(f.level) >= floor for f in review.findings)
    return ExitCode.FAILURE if failing else ExitCode.OK
