"""Indexer benchmark on a large real tree present on every machine: a git copy of the running
Python's standard library. Universal-ctags indexes the same tree in the same run, as the speed
reference. Numbers are reported, never asserted."""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autan.indexer.context import build_context
from autan.indexer.index import RepoIndex

IGNORED = ("site-packages", "dist-packages", "__pycache__", "test", "tests", "idlelib")


@dataclass
class IndexBench:
    tree: str
    files: int = 0
    lines: int = 0
    definitions: int = 0
    cold_s: float = 0.0
    warm_restart_s: float = 0.0
    one_edit_s: float = 0.0
    one_edit_parsed: int = 0
    context_ms: dict[int, float] = field(default_factory=dict)
    context_tokens: dict[int, int] = field(default_factory=dict)
    ctags_s: float | None = None
    ctags_tags: int | None = None
    peak_rss_mib: float = 0.0


def copy_stdlib(dest: Path) -> Path:
    """A copy of the standard library's sources (tests excluded), committed to a git repo."""
    src = Path(sysconfig.get_paths()["stdlib"])
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(*IGNORED, "*.pyc"))
    from git import Repo

    repo = Repo.init(dest)
    repo.git.add("-A")
    repo.git.commit("-q", "-m", "stdlib", "--no-verify",
                    env={"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@x",
                         "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@x"})
    return dest


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def run_ctags(tree: Path) -> tuple[float | None, int | None]:
    exe = shutil.which("ctags")
    if exe is None:
        return None, None
    seconds, result = timed(lambda: subprocess.run(
        [exe, "-R", "-f", "-", str(tree)], capture_output=True, text=True))
    return seconds, result.stdout.count("\n")


def bench_index(tree: Path, count: Callable[[str], int], budgets: list[int]) -> IndexBench:
    cache = tree.parent / "cache"  # the bench's own store: the user's cache stays clean
    out = IndexBench(tree=str(tree))
    out.cold_s, (index, stats) = timed(lambda: RepoIndex.open(tree, cache_dir=cache))
    out.files, out.definitions = stats.files, stats.definitions
    out.lines = sum(r.line_count for r in index.records.values())
    out.warm_restart_s, _ = timed(lambda: RepoIndex.open(tree, cache_dir=cache))
    target = tree / "json" / "decoder.py"
    target.write_text(target.read_text() + "\n\ndef added_for_bench():\n    return 1\n")
    out.one_edit_s, (_, edit_stats) = timed(lambda: RepoIndex.open(tree, cache_dir=cache))
    out.one_edit_parsed = edit_stats.parsed
    rel, line = "json/decoder.py", 200
    for budget in budgets:
        build_context(index, rel, line, 0, budget, count)  # warm the text caches once
        seconds, ctx = timed(lambda b=budget: build_context(index, rel, line, 0, b, count))
        out.context_ms[budget] = seconds * 1000
        out.context_tokens[budget] = ctx.total_tokens
    out.ctags_s, out.ctags_tags = run_ctags(tree)
    out.peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def python_version() -> str:
    return sys.version.split()[0]
