"""`autan index [PATH]`: build or update a repository's index."""

from __future__ import annotations

import argparse
from pathlib import Path

from autan.cli.common import ExitCode, UsageError
from autan.cli.repo import find_root, progress_bar
from autan.indexer.index import RepoIndex


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="build or update the repository index",
                       description="Index a repository (tree-sitter symbols, imports, git "
                       "signals) into the user cache; later runs re-parse only changed files.")
    p.add_argument("path", nargs="?", type=Path, default=Path("."),
                   help="repository folder (default: the current folder)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    if not args.path.is_dir():
        raise UsageError(f"{args.path}: no such folder")
    root = find_root(args.path) if not (args.path / ".git").exists() else args.path
    _, stats = RepoIndex.open(root, progress_bar)
    langs = ", ".join(f"{k} {v}" for k, v in sorted(stats.languages.items(), key=lambda x: -x[1]))
    print(f"{root.resolve()}: {stats.files} files ({stats.parsed} parsed, {stats.reused} "
          f"unchanged, {stats.skipped} skipped), {stats.definitions} definitions, "
          f"{stats.seconds:.2f} s")
    print(f"languages: {langs}")
    if stats.store_note and stats.store_note != "no index yet":
        print(f"note: {stats.store_note}")
    return ExitCode.OK
