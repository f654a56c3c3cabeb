"""`autan score`: the log-probability of every token of a text under a model."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from autan.cli.common import ExitCode, add_model_options, load_engine, read_text_arg


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="log-probability of each token of a text",
                       description="Print each token and its natural-log probability given the "
                       "tokens before it (null for the first), computed in fp32.")
    add_model_options(p)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the text to score")
    source.add_argument("--file", type=Path, help="a UTF-8 file to score")
    p.add_argument("--no-bos", action="store_true",
                   help="do not start with the tokenizer's beginning-of-sequence token")
    p.add_argument("--json", action="store_true",
                   help='print {"tokens": [{"id", "text", "logprob"}, ...]}')
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    text = read_text_arg(args.text, args.file)
    engine = load_engine(args)
    tok = engine.tokenizer
    ids = tok.encode(text)
    if not args.no_bos and tok.bos_id is not None:
        ids = [tok.bos_id, *ids]
    if not ids:
        print("autan: error: nothing to score (empty text)", file=sys.stderr)
        return ExitCode.USAGE
    logprobs = engine.score(ids)
    rows = [{"id": i, "text": tok.token_text(i), "logprob": lp}
            for i, lp in zip(ids, logprobs, strict=True)]
    if args.json:
        print(json.dumps({"tokens": rows}, ensure_ascii=False))
    else:
        for row in rows:
            lp = "" if row["logprob"] is None else f"{row['logprob']:.4f}"
            print(f"{row['id']:>8} {lp:>10}  {row['text']!r}")
    return ExitCode.OK
