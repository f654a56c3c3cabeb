"""The baselines a review is measured against, each `(ChangedFile) -> {line: score}` over the
file's changed lines (0-based), higher meaning more suspicious."""

from __future__ import annotations

import io
import json
import math
import random
import shutil
import statistics
import subprocess
import sys
import tokenize
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from autan.review.scoring import robust_z
from autan.review.types import ChangedFile

RUFF_TIMEOUT_S = 60


def random_scores(file: ChangedFile, seed: int = 0) -> dict[int, float]:
    """Chance: a seeded random score per line."""
    rng = random.Random(f"{seed}:{file.path}:{len(file.text)}")
    return {n: rng.random() for n in sorted(file.changed_lines)}


def length_scores(file: ChangedFile) -> dict[int, float]:
    """Longer lines are more suspicious: what raw surprisal sums would find."""
    lines = file.text.split("\n")
    return {n: float(len(lines[n].strip())) for n in sorted(file.changed_lines)}


def python_tokens(text: str) -> list[tuple[int, str]]:
    """(0-based line, token text) of Python code, comments and layout left out; a file that
    does not tokenize yields the tokens up to the problem."""
    out: list[tuple[int, str]] = []
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
            tokenize.DEDENT, tokenize.ENDMARKER}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type not in skip:
                out.append((tok.start[0] - 1, tok.string))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


@dataclass
class Trigram:
    """Token trigram counts with Witten-Bell interpolation down to a uniform distribution."""

    counts: list[Counter] = field(default_factory=lambda: [Counter(), Counter(), Counter()])
    contexts: list[Counter] = field(default_factory=lambda: [Counter(), Counter(), Counter()])
    followers: list[dict] = field(default_factory=lambda: [{}, {}, {}])
    vocabulary: int = 50_000

    def add(self, tokens: Sequence[str], sign: int = 1) -> None:
        padded = ["<s>", "<s>", *tokens]
        for i in range(2, len(padded)):
            for order in range(3):
                history = tuple(padded[i - order : i])
                key = (*history, padded[i])
                if self.counts[order][key] == 0 and sign > 0:
                    self.followers[order][history] = self.followers[order].get(history, 0) + 1
                self.counts[order][key] += sign
                self.contexts[order][history] += sign

    def prob(self, history: tuple[str, ...], token: str) -> float:
        p = 1.0 / self.vocabulary
        for order in range(3):
            h = history[len(history) - order :] if order else ()
            total = self.contexts[order][h]
            if total <= 0:
                continue
            types = max(self.followers[order].get(h, 0), 1)
            lam = total / (total + types)
            p = lam * max(self.counts[order][(*h, token)], 0) / total + (1 - lam) * p
        return p


@dataclass
class TrigramBaseline:
    """A trigram over a background corpus mixed with a cache of the file's other lines
    (Tu et al.'s "naturalness" cache model), scored like autan's lines: a robust z-score of
    each line's mean and max token surprisal within the file. Lines are its sequences, so
    the cache can leave the scored line out exactly."""

    background: Trigram
    cache_weight: float = 0.3

    @classmethod
    def train(cls, texts: Iterable[str], max_chars: int = 3_000_000) -> TrigramBaseline:
        model, used = Trigram(), 0
        for text in texts:
            if used >= max_chars:
                break
            for line_tokens in by_line_tokens(python_tokens(text)).values():
                model.add(line_tokens)
            used += len(text)
        return cls(model)

    def __call__(self, file: ChangedFile) -> dict[int, float]:
        lines = by_line_tokens(python_tokens(file.text))
        cache = Trigram()
        for tokens in lines.values():
            cache.add(tokens)
        surprisals: dict[int, list[float]] = {}
        for n, tokens in lines.items():
            cache.add(tokens, sign=-1)  # the cache holds the file's *other* lines
            history = ("<s>", "<s>")
            for t in tokens:
                p = ((1 - self.cache_weight) * self.background.prob(history, t)
                     + self.cache_weight * cache.prob(history, t))
                surprisals.setdefault(n, []).append(-math.log(p))
                history = (history[-1], t)
            cache.add(tokens)
        return zscores(surprisals, file.changed_lines)


def by_line_tokens(tokens: Sequence[tuple[int, str]]) -> dict[int, list[str]]:
    """Token texts per line: each line is one sequence for the n-gram models."""
    out: dict[int, list[str]] = {}
    for n, t in tokens:
        out.setdefault(n, []).append(t)
    return out


def zscores(by_line: dict[int, list[float]], changed: frozenset[int]) -> dict[int, float]:
    lines = sorted(by_line)
    if not lines:
        return {}
    z_mean = robust_z([statistics.fmean(by_line[n]) for n in lines])
    z_max = robust_z([max(by_line[n]) for n in lines])
    return {n: (z_mean[i] + z_max[i]) / 2 for i, n in enumerate(lines) if n in changed}


def ruff_scores(file: ChangedFile, seed: int = 0) -> dict[int, float]:
    """Lines ruff's pyflakes rules (and syntax errors) flag score 1, the rest 0; ties are
    broken at random, as a reviewer reading the flagged lines first would."""
    beside = Path(sys.executable).with_name("ruff")  # the virtual environment's own
    ruff = str(beside) if beside.is_file() else shutil.which("ruff")
    if ruff is None:
        raise RuntimeError("ruff is not installed (the ruff baseline runs it)")
    done = subprocess.run([ruff, "check", "--isolated", "--select", "F,E9",
                           "--output-format", "json", "--stdin-filename", file.path, "-"],
                          input=file.text, capture_output=True, text=True,
                          timeout=RUFF_TIMEOUT_S, check=False)
    flagged = {d["location"]["row"] - 1 for d in json.loads(done.stdout or "[]")}
    noise = random_scores(file, seed)
    return {n: (1.0 if n in flagged else 0.0) + 1e-3 * noise[n]
            for n in sorted(file.changed_lines)}
