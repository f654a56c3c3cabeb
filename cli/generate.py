"""`autan generate`: stream a completion of a prompt."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from autan.cli.common import ExitCode, add_model_options, load_engine

if TYPE_CHECKING:
    from autan.model.runtime.engine import Generated


@dataclass(frozen=True)
class GenerateDefaults:
    max_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0


def add_parser(sub: argparse._SubParsersAction) -> None:
    d = GenerateDefaults()
    p = sub.add_parser("generate", help="stream a completion of a prompt",
                       description="Stream a completion. Without --model, the bundled default "
                       "model is used.")
    add_model_options(p, required=False)
    p.add_argument("--prompt", required=True, help="text to continue")
    p.add_argument("--max-tokens", type=int, default=d.max_tokens,
                   help=f"tokens to generate at most (default: {d.max_tokens})")
    p.add_argument("--temperature", type=float, default=d.temperature,
                   help=f"0 for greedy (default: {d.temperature})")
    p.add_argument("--top-p", type=float, default=d.top_p,
                   help=f"nucleus sampling mass (default: {d.top_p})")
    p.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    p.add_argument("--seed", type=int, help="sampling seed")
    p.add_argument("--json", action="store_true",
                   help='JSON lines: {"delta": text} per chunk, then {"text", "prompt_tokens", '
                   '"cached_tokens", "ttft_ms", "tokens_per_s", "load_ms"}')
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    from autan.model.io.default_model import model_name
    from autan.model.io.demo import default_or_demo
    from autan.model.runtime.engine import Generated, TokenEvent
    from autan.wire.types import SamplingParams

    if args.model is None:
        args.model = default_or_demo()
        # A first run waits a second or more here: say for what. Only for the bundled model,
        # so that a bad --model still gets its one line on stderr and nothing else.
        if not args.json:
            print(f"autan: loading {model_name(args.model)}…", file=sys.stderr, flush=True)
    start = time.perf_counter()
    engine = load_engine(args)
    load_s = time.perf_counter() - start
    tok = engine.tokenizer
    ids = tok.encode(args.prompt)
    if tok.bos_id is not None:
        ids = [tok.bos_id, *ids]
    params = SamplingParams(max_tokens=args.max_tokens, temperature=args.temperature,
                            top_p=args.top_p, stop_strings=tuple(args.stop),
                            stop_ids=tok.eos_ids, seed=args.seed)
    for event in engine.generate(ids, params):
        if isinstance(event, TokenEvent) and event.text:
            out = json.dumps({"delta": event.text}, ensure_ascii=False) if args.json else event.text
            print(out, end="\n" if args.json else "", flush=True)
        elif isinstance(event, Generated):
            report(event, args.json, load_s)
    return ExitCode.OK


def report(done: Generated, as_json: bool, load_s: float) -> None:
    s = done.stats
    if as_json:
        print(json.dumps({"text": done.text, "prompt_tokens": s.prompt_tokens,
                          "cached_tokens": s.reused_tokens, "ttft_ms": round(s.ttft_ms, 3),
                          "tokens_per_s": round(s.tokens_per_s, 3),
                          "load_ms": round(load_s * 1000, 3)}, ensure_ascii=False))
    else:
        print()
        print(f"[loaded in {load_s:.1f} s; {s.prompt_tokens} prompt tokens, "
              f"{s.reused_tokens} cached, first token {s.ttft_ms:.0f} ms, "
              f"{s.tokens_per_s:.1f} tokens/s, {done.finish_reason}]", file=sys.stderr)
