"""Finding the repository a file belongs to, and the tokenizer that counts context tokens."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from autan.cli.common import UsageError
from autan.indexer.index import RepoIndex


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` holding `.git`, else `start` itself."""
    start = start.resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return folder


def progress_bar(done: int, total: int, message: str) -> None:
    """A one-line progress bar on stderr (only when it is a terminal)."""
    if not sys.stderr.isatty():
        return
    width = 30
    filled = width * done // max(total, 1)
    name = message[-40:]
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {name:<40}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def open_index(root: Path, quiet: bool = False) -> RepoIndex:
    if not root.is_dir():
        raise UsageError(f"{root}: no such folder")
    index, _ = RepoIndex.open(root, None if quiet else progress_bar)
    return index


def token_counter(model: Path | None) -> Callable[[str], int]:
    """Counts tokens with `--model`'s tokenizer, else the default model's."""
    from autan.model.io.demo import default_or_demo
    from autan.model.io.tokenizer import Tokenizer

    tokenizer = Tokenizer.from_dir(model if model is not None else default_or_demo())
    return lambda text: len(tokenizer.encode(text))
