"""How long a review of a realistic diff takes: N files, L changed lines, the whole path.

The diff is made from held-out code: a temporary git repository holds `files` of its Python
files (the longest, so that each file is much larger than its change) and some unchanged
ones for context, and the head commit adds a block of consecutive lines in the middle of each
changed file, `lines` in all. The timing covers what `autan review` does after the model is
loaded: reading the diff, indexing the repository, the shared context, scoring and
confirmation. The peer, in the same run: the same review on an engine without a prefix state
cache, which computes the shared repository context again for every file.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from autan.model.runtime.engine import Engine
from autan.review.diff import read_diff
from autan.review.pipeline import ReviewOptions, repository_context, review_files

GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@autan.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@autan.invalid",
           "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1",
           "PATH": "/usr/bin:/bin:/usr/local/bin"}


@dataclass
class SpeedResult:
    files: int
    changed_lines: int
    read_s: float  # git: revisions, changed lines, file contents
    index_s: float  # the repository index and the shared context
    review_s: float  # scoring and confirmation
    uncached_review_s: float  # the same on an engine without a prefix state cache
    tokens_scored: int
    tokens_reused: int
    candidates_confirmed: int

    @property
    def total_s(self) -> float:
        return self.read_s + self.index_s + self.review_s

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_scored / self.review_s if self.review_s > 0 else 0.0


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, env=GIT_ENV, check=True, capture_output=True)


def build_repository(root: Path, texts: Sequence[tuple[str, str]], lines: int,
                     unchanged: Sequence[tuple[str, str]] = ()) -> None:
    """Commit the files without a block from each middle, then with it: `lines` changed
    lines across all files; the `unchanged` files are there for the context."""
    per_file = [lines // len(texts) + (i < lines % len(texts)) for i in range(len(texts))]
    _git(root, "init", "-q", "-b", "main")
    heads: list[tuple[Path, str]] = []
    for path, text in unchanged:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    for (path, text), count in zip(texts, per_file, strict=True):
        rows = text.split("\n")
        middle = len(rows) // 2
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(rows[:middle] + rows[middle + count :]), encoding="utf-8")
        heads.append((target, text))
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
    _git(root, "checkout", "-q", "-b", "feature")
    for target, text in heads:
        target.write_text(text, encoding="utf-8")
    _git(root, "commit", "-q", "-am", "head")


def measure(engine: Engine, uncached: Engine, texts: Sequence[tuple[str, str]], lines: int,
            unchanged: Sequence[tuple[str, str]] = (),
            options: ReviewOptions | None = None) -> SpeedResult:
    """Review a `lines`-line diff over `texts` (path, text) and time its phases, then the
    same review on `uncached` (the same model, cache budget 0)."""
    options = options or ReviewOptions()
    with tempfile.TemporaryDirectory(prefix="autan-review-speed-") as tmp:
        root = Path(tmp)
        build_repository(root, texts, lines, unchanged)
        started = time.perf_counter()
        diff = read_diff(root, base="main")
        read_s = time.perf_counter() - started
        started = time.perf_counter()
        context = repository_context(root, diff.files, options.budget, engine)
        index_s = time.perf_counter() - started
        cold = review_files(engine, diff.files, context, options, root.name)
        peer = review_files(uncached, diff.files, context, options, root.name)
    return SpeedResult(
        files=len(diff.files), changed_lines=sum(len(f.changed_lines) for f in diff.files),
        read_s=read_s, index_s=index_s, review_s=cold.stats.seconds,
        uncached_review_s=peer.stats.seconds, tokens_scored=cold.stats.tokens_scored,
        tokens_reused=cold.stats.tokens_reused,
        candidates_confirmed=cold.stats.candidates_confirmed)


def pick_files(docs: Sequence[tuple[str, str]], files: int, min_lines: int = 150
               ) -> list[tuple[str, str]]:
    """The longest `files` documents of at least `min_lines` lines, by path for a stable
    order."""
    long_enough = [d for d in docs if d[1].count("\n") >= min_lines]
    chosen = sorted(long_enough, key=lambda d: (-len(d[1]), d[0]))[:files]
    return sorted(chosen)
