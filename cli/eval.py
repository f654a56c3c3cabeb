"""`autan eval`: score a model on held-out code (fill-in-the-middle and perplexity).

Held-out code is the packages the training corpus held out (`--data DIR`, a prepared data
folder; otherwise gathered again from this machine, with the same deterministic split), or
`--corpus DIR` folders, one package each. Fill-in-the-middle runs with no repository context
and with context from the same package at each `--budgets` size; the table shows exact match
and edit similarity and the lift context gives. `--card` writes the table into the model's
MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from autan.cli.common import (
    ExitCode,
    UsageError,
    add_model_options,
    load_engine,
    standalone_main,
)
from autan.train.options import EvalOptions

if TYPE_CHECKING:  # torch loads only when a model runs (`autan` itself starts without it)
    from autan.train.corpus import Document
    from autan.train.evaluate import ContextFn, CountFn, EvalReport
    from autan.train.spans import FimTask


@dataclass(frozen=True)
class EvalDefaults:
    budgets: str = "0,4096,32768"
    context: str = "simple"


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `autan eval`."""
    p = sub.add_parser("eval", help="evaluate a model on held-out code",
                       description=__doc__.split("\n\n")[1])
    add_arguments(p)
    p.set_defaults(handler=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options, shared by `autan eval` and `python -m autan.cli.eval`."""
    d, e = EvalDefaults(), EvalOptions()
    add_model_options(p)
    p.add_argument("--data", type=Path, help="prepared data folder whose held-out split to use")
    p.add_argument("--corpus", type=Path, action="append", default=[], metavar="DIR",
                   help="evaluate on this folder instead (one package each, repeatable)")
    p.add_argument("--tasks", type=int, default=e.tasks,
                   help=f"tasks per kind (single-line, multi-line) (default: {e.tasks})")
    p.add_argument("--budgets", default=d.budgets,
                   help=f"context budgets in tokens, 0 = none (default: {d.budgets})")
    p.add_argument("--context", choices=["simple", "indexer"], default=d.context,
                   help="context builder: the package's files by shared identifiers, or "
                   f"autan's repository indexer (default: {d.context})")
    p.add_argument("--ppl-files", type=int, default=e.ppl_files,
                   help=f"held-out files for perplexity, 0 to skip (default: {e.ppl_files})")
    p.add_argument("--seed", type=int, default=e.seed)
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    p.add_argument("--card", action="store_true", help="write the table into MODEL_CARD.md")


def heldout_docs(args: argparse.Namespace) -> list[Document]:
    """The documents to evaluate on, by the source the arguments name."""
    from autan.train.corpus import folder_package, gather
    from autan.train.prepare import load_prepared

    if args.corpus:
        docs = []
        for folder in args.corpus:
            if not folder.is_dir():
                raise UsageError(f"{folder}: no such folder")
            docs += folder_package(folder)[1]
        return docs
    if args.data is not None:
        try:
            return load_prepared(args.data).corpus.split("heldout")
        except FileNotFoundError as err:
            raise UsageError(str(err)) from err
    return gather().split("heldout")


def parse_budgets(text: str) -> tuple[int, ...]:
    """`0,4096,32768` -> (0, 4096, 32768); 0 is no context."""
    try:
        budgets = tuple(int(b) for b in text.split(","))
    except ValueError as err:
        raise UsageError(f"--budgets {text}: expected comma-separated token counts") from err
    if any(b < 0 for b in budgets):
        raise UsageError(f"--budgets {text}: budgets are not negative")
    return budgets


def indexer_context(docs: Sequence[Document]) -> ContextFn:
    """A ContextFn over autan's repository indexer: each package is written to a temporary
    folder and indexed (not persisted); the edited file is an open buffer without the
    middle, so the index never sees the answer."""
    try:
        from autan.indexer.context import build_context
        from autan.indexer.index import RepoIndex
    except ImportError as err:
        raise UsageError(f"--context indexer: the indexer cannot be imported ({err})") from err
    root = Path(tempfile.mkdtemp(prefix="autan-eval-"))
    for doc in docs:
        path = root / doc.package / doc.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(doc.text, encoding="utf-8")
    indexes: dict[str, RepoIndex] = {}

    def context(task: FimTask, package_docs: Sequence[Document], budget: int,
                count: CountFn) -> list[tuple[str, str]]:
        if task.package not in indexes:
            indexes[task.package] = RepoIndex(root / task.package)
            indexes[task.package].refresh(persist=False)
        line = task.prefix.count("\n")
        col = len(task.prefix) - (task.prefix.rfind("\n") + 1)
        index = indexes[task.package]
        # Indexed as an editor buffer, so that the middle's definitions leave the index too.
        index.update_buffer(task.path, task.prefix + task.suffix)
        ctx = build_context(index, task.path, line, col, budget, count)
        return [(seg.path, seg.text) for seg in ctx.segments]

    return context


def progress(message: str) -> None:
    """Progress on a terminal only (logs stay clean)."""
    if sys.stderr.isatty():
        sys.stderr.write("\r" + message.ljust(60))
        sys.stderr.flush()


def run(args: argparse.Namespace) -> ExitCode:
    """Tasks from held-out code, every budget, perplexity, report."""
    from autan.model.io.fim import detect_family
    from autan.train.evaluate import (
        evaluate_fim,
        format_report,
        make_tasks,
        perplexity,
        simple_context,
    )

    opts = EvalOptions(tasks=args.tasks, budgets=parse_budgets(args.budgets),
                       ppl_files=args.ppl_files, seed=args.seed)
    docs = heldout_docs(args)
    if not docs:
        raise UsageError("no held-out documents to evaluate on")
    engine = load_engine(args)
    config_file = args.model / "config.json"
    config = json.loads(config_file.read_text()) if config_file.exists() else None
    family = detect_family(engine.tokenizer, config)
    if family is None:
        raise UsageError(f"{args.model}: the tokenizer has no fill-in-the-middle tokens")
    context_fn = indexer_context(docs) if args.context == "indexer" else simple_context
    tasks = make_tasks(docs, opts)
    report = evaluate_fim(engine, family, tasks, docs, opts, context_fn, progress)
    if opts.ppl_files:
        report.bits_per_byte, report.token_loss, report.ppl_bytes = perplexity(engine, docs, opts)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    packages = sorted({d.package for d in docs})
    title = (f"Held-out packages: {', '.join(packages)}; {len(tasks)} tasks, greedy, "
             f"context by `{args.context}`.\n")
    markdown = format_report(report, title)
    print(markdown)
    write_outputs(args, report, markdown, packages, opts)
    return ExitCode.OK


def write_outputs(args: argparse.Namespace, report: EvalReport, markdown: str,
                  packages: list[str], opts: EvalOptions) -> None:
    """The JSON results and the card's evaluation section, when asked."""
    from autan.train.card import update_eval_section

    if args.json is not None:
        data = {"fim": {str(b): {k: s.as_dict() for k, s in scores.items()}
                        for b, scores in report.fim.items()},
                "bits_per_byte": report.bits_per_byte, "token_loss": report.token_loss,
                "ppl_bytes": report.ppl_bytes, "packages": packages,
                "examples": report.examples, "options": asdict(opts)}
        args.json.write_text(json.dumps(data, indent=1) + "\n")
    if args.card:
        update_eval_section(args.model / "MODEL_CARD.md", markdown)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (`python -m autan.cli.eval`), for machines without the
    indexer's dependencies; model file problems are one line, as in `autan`."""
    parser = argparse.ArgumentParser(prog="autan eval", description=__doc__.split("\n\n")[1])
    add_arguments(parser)
    return standalone_main(parser, run, argv)


if __name__ == "__main__":
    sys.exit(main())
