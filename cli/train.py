"""`autan train`: prepare a corpus and tokenizer, train a model, export it with its card.

Data comes from `--data DIR` (a folder made by `--prepare-only`, possibly on another machine)
or is prepared into `OUT/data` from `--corpus` folders and, unless turned off, the Python
standard library and the permissively licensed installed packages. The trained model is
written to `OUT` in the layout the loader reads; the resumable state goes to `OUT/train_state`
(or `--state-dir`), and `--resume` continues from it with the same data order.

Runs without the rest of the command line too (`python -m autan.cli.train`), for machines
that have PyTorch but not the indexer's dependencies.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from autan.cli.common import ExitCode, UsageError, standalone_main
from autan.model.config import CONFIGS
from autan.train.options import SHARD_BYTES, TrainOptions

if TYPE_CHECKING:  # torch loads only when training runs (`autan` itself starts without it)
    from autan.train.loop import TrainResult
    from autan.train.prepare import Prepared

SHIP_DTYPES = {"bf16": "bfloat16", "fp32": "float32"}  # names of torch dtypes


@dataclass(frozen=True)
class TrainDefaults:
    vocab_size: int = 16384
    ship_dtype: str = "bf16"
    max_package_mb: float = 16.0
    fim_rate: float = 0.75
    shard_mb: float = SHARD_BYTES / 2**20


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `autan train`."""
    p = sub.add_parser("train", help="train a code model (corpus, tokenizer, FIM training)",
                       description=__doc__.split("\n\n")[1])
    add_arguments(p)
    p.set_defaults(handler=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options, shared by `autan train` and `python -m autan.cli.train`."""
    d, t = TrainDefaults(), TrainOptions()
    p.add_argument("--out", type=Path, required=True, help="output folder (the model)")
    p.add_argument("--corpus", type=Path, action="append", default=[], metavar="DIR",
                   help="source folder to train on, one package each (repeatable)")
    p.add_argument("--data", type=Path, help="prepared data folder (from --prepare-only)")
    p.add_argument("--prepare-only", action="store_true",
                   help="gather the corpus and train the tokenizer into OUT, then stop")
    p.add_argument("--add-local", action="store_true",
                   help="with --data: also train on this machine's standard library and "
                   "permissively licensed packages that the prepared corpus lacks")
    p.add_argument("--no-stdlib", action="store_true", help="leave out the standard library")
    p.add_argument("--no-site", action="store_true", help="leave out installed packages")
    p.add_argument("--vocab-size", type=int, default=d.vocab_size)
    p.add_argument("--shape", default=t.shape, choices=sorted(CONFIGS),
                   help=f"model shape (default: {t.shape})")
    for name in ("steps", "batch_size", "seq_len", "warmup", "seed", "eval_every",
                 "eval_batches", "save_every", "log_every", "threads", "stop_after"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(t, name),
                       help=f"(default: {getattr(t, name)})")
    p.add_argument("--lr", type=float, default=t.lr, help=f"peak learning rate ({t.lr})")
    p.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="fit the schedule to this much training time (steps become a cap)")
    p.add_argument("--device", default=t.device, help="cpu, cuda, cuda:N or auto")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--resume", action="store_true", help="continue from the saved state")
    p.add_argument("--state-dir", type=Path, help="resumable state (default: OUT/train_state)")
    p.add_argument("--ship-dtype", choices=sorted(SHIP_DTYPES), default=d.ship_dtype,
                   help=f"dtype of the exported weights (default: {d.ship_dtype})")
    p.add_argument("--shard-mb", type=float, default=d.shard_mb,
                   help=f"largest weight file in MiB (default: {d.shard_mb:g})")
    p.add_argument("--max-package-mb", type=float, default=d.max_package_mb,
                   help=f"text taken from one package per epoch (default: {d.max_package_mb:g})")
    p.add_argument("--fim-rate", type=float, default=d.fim_rate,
                   help=f"fraction of files FIM-transformed (default: {d.fim_rate})")


def get_data(args: argparse.Namespace) -> Prepared:
    """The prepared data: --data, an earlier preparation in OUT/data, or a new one."""
    from autan.train.corpus import gather, merge
    from autan.train.prepare import load_prepared, prepare

    try:
        if args.data is not None:
            prepared = load_prepared(args.data)
            if args.add_local:
                local = gather(args.corpus, stdlib=not args.no_stdlib, site=not args.no_site)
                prepared.corpus = merge(prepared.corpus, local)
            return prepared
        folder = args.out if args.prepare_only else args.out / "data"
        if (folder / "prepared.json").exists() and not args.prepare_only:
            return load_prepared(folder)
        for f in args.corpus:
            if not f.is_dir():
                raise UsageError(f"{f}: no such folder")
        return prepare(folder, args.corpus, stdlib=not args.no_stdlib, site=not args.no_site,
                       vocab_size=args.vocab_size)
    except (FileNotFoundError, ValueError) as err:
        raise UsageError(str(err)) from err


def train_options(args: argparse.Namespace) -> TrainOptions:
    """TrainOptions from the parsed arguments (same names)."""
    names = {f.name for f in fields(TrainOptions)}
    values = {k: v for k, v in vars(args).items() if k in names}
    return TrainOptions(**values, time_budget_s=args.time_budget)


def describe(prepared: Prepared) -> str:
    """One line saying what the data is, before a long run starts."""
    c = prepared.corpus
    counts = {s: sum(1 for p in c.packages if p.split == s) for s in ("train", "heldout")}
    chars = sum(p.chars for p in c.packages if p.split == "train")
    return (f"corpus: {counts['train']} packages for training ({chars / 1e6:.1f}M chars), "
            f"{counts['heldout']} held out, {len(c.excluded)} excluded by license; "
            f"{prepared.chars_per_token:.2f} chars/token")


def run(args: argparse.Namespace) -> ExitCode:
    """Prepare (or load) the data, train, export."""
    started = time.time()
    prepared = get_data(args)
    print(describe(prepared), file=sys.stderr)
    if args.prepare_only:
        print(f"prepared {args.out}", file=sys.stderr)
        return ExitCode.OK
    import torch

    from autan.train.data import DataOptions
    from autan.train.fim_examples import FimOptions
    from autan.train.loop import TrainData, train

    opts = train_options(args)
    if opts.device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {opts.device}: no CUDA device is available")
    data_opts = DataOptions(seq_len=opts.seq_len, chars_per_token=prepared.chars_per_token,
                            max_package_chars=int(args.max_package_mb * 1e6),
                            fim=FimOptions(rate=args.fim_rate))
    data = TrainData(prepared.corpus.split("train"), prepared.corpus.split("heldout"),
                     prepared.tokenizer, data_opts, prepared.meta)
    try:
        result = train(opts, data, args.out, resume=args.resume, state_dir=args.state_dir)
    except ValueError as err:
        raise UsageError(str(err)) from err
    export(args, opts, prepared, result, time.time() - started)
    return ExitCode.OK


def export(args: argparse.Namespace, opts: TrainOptions, prepared: Prepared,
           result: TrainResult, wall_s: float) -> None:
    """Write the model folder and its card."""
    import torch

    from autan.train.card import export_model, hardware, model_card, training_summary
    from autan.train.loop import resolve_device

    dtype = getattr(torch, SHIP_DTYPES[args.ship_dtype])
    s = result.state
    last = result.log[-1] if result.log else {}
    facts = {"tokens trained": f"{s.tokens / 1e6:.1f}M ({s.step} steps of {opts.batch_size} x "
                               f"{opts.seq_len}, epoch {s.position.epoch + 1})",
             "hardware": hardware(resolve_device(opts.device)),
             "training time": f"{s.elapsed_s / 60:.1f} min ({wall_s / 60:.1f} min this run "
                              "with data preparation and export)",
             "schedule": f"AdamW, peak lr {opts.lr}, {opts.warmup} warm-up steps, cosine to "
                         f"{opts.min_lr_ratio * opts.lr:g}, seed {opts.seed}",
             "final training loss": f"{last.get('loss', float('nan')):.3f} nats/token",
             "held-out loss": "n/a" if result.eval_loss is None
             else f"{result.eval_loss:.3f} nats/token"}
    summary = training_summary(result.model, opts.shape, facts, dtype)
    export_model(result.model, args.out, prepared.tokenizer,
                 model_card(summary, prepared.meta), dtype, int(args.shard_mb * 2**20))
    print(f"wrote {args.out} ({summary['parameters']}, {summary['weights']})", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: `python -m autan.cli.train --out DIR ...`."""
    parser = argparse.ArgumentParser(prog="autan train", description=__doc__.split("\n\n")[1])
    add_arguments(parser)
    return standalone_main(parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())

