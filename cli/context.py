"""`autan context FILE:LINE:COL`: show exactly what would go to the model for a cursor."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from autan.cli.common import ExitCode, UsageError
from autan.cli.repo import find_root, open_index, token_counter
from autan.indexer.budget import CONTEXT_DEFAULTS
from autan.indexer.context import Context, build_context


def add_parser(sub: argparse._SubParsersAction) -> None:
    d = CONTEXT_DEFAULTS
    p = sub.add_parser("context", help="show the context built for a cursor",
                       description="Build the prompt context for a cursor and print every "
                       "segment with its source, size, score and reason.")
    p.add_argument("location", metavar="FILE:LINE:COL", help="cursor, LINE and COL 1-based")
    p.add_argument("--budget", type=int, default=d.budget,
                   help=f"context budget in tokens (default: {d.budget})")
    p.add_argument("--model", type=Path, help="count tokens with this model's tokenizer")
    p.add_argument("--json", action="store_true", help="print the segments as JSON")
    p.add_argument("--text", action="store_true", help="also print each segment's text")
    p.set_defaults(handler=run)


def parse_location(location: str) -> tuple[Path, int, int]:
    """FILE:LINE:COL (1-based) -> (file, 0-based line, 0-based column)."""
    parts = location.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise UsageError(f"{location}: expected FILE:LINE:COL with 1-based LINE and COL")
    path, line, col = Path(parts[0]), int(parts[1]), int(parts[2])
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if line < 1 or col < 1:
        raise UsageError(f"{location}: LINE and COL start at 1")
    return path, line - 1, col - 1


def run(args: argparse.Namespace) -> ExitCode:
    path, line, col = parse_location(args.location)
    if args.budget < 1:
        raise UsageError(f"--budget {args.budget}: must be positive")
    root = find_root(path)
    index = open_index(root, quiet=args.json)
    ctx = build_context(index, index.relpath(path), line, col, args.budget,
                        token_counter(args.model))
    print(json.dumps(as_json(ctx)) if args.json else as_text(ctx, args.text))
    return ExitCode.OK


def as_json(ctx: Context) -> dict:
    return {
        "segments": [{"path": s.path, "start_line": s.start_line + 1, "end_line": s.end_line + 1,
                      "kind": s.kind, "tokens": s.tokens, "score": round(s.score, 6),
                      "why": s.why} for s in ctx.segments],
        "prefix_tokens": ctx.prefix_tokens,
        "suffix_tokens": ctx.suffix_tokens,
        "total_tokens": ctx.total_tokens,
    }


def as_text(ctx: Context, with_text: bool) -> str:
    out = [f"{ctx.path}: {ctx.total_tokens}/{ctx.budget} tokens "
           f"(prefix {ctx.prefix_tokens}, suffix {ctx.suffix_tokens}, "
           f"{len(ctx.segments)} segments)"]
    for s in ctx.segments:
        out.append(f"  {s.path}:{s.start_line + 1}-{s.end_line + 1} {s.kind:<10} "
                   f"{s.tokens:>6} tok  {s.score:.3f}  {s.why}")
        if with_text:
            out.extend("      | " + line for line in s.text.split("\n"))
    return "\n".join(out)
