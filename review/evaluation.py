"""`autan bench review`: how well a review finds planted one-line bugs, with no hand labels.

Held-out code (packages the bundled model never trained on) gives the diffs: each one adds a
whole function (5 to 40 lines) to its file, the function's lines being the changed lines.
One realistic single-line bug is planted in it (`review.mutations`); the clean version of the
same diff is kept. The review's line scores rank the planted line against the diff's other
changed lines; the baselines (`review.baselines`) rank the same lines in the same run.
"""

from __future__ import annotations

import ast
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from autan.model.runtime.engine import Engine
from autan.review.confirm import suggest_line
from autan.review.mutations import MUTATORS, Mutation, plant
from autan.review.pipeline import ReviewOptions, review_files
from autan.review.types import ChangedFile

LineScorer = Callable[[ChangedFile], dict[int, float]]
MIN_LINES, MAX_LINES = 5, 40
THRESHOLDS = (2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 16.0)  # nats; findings are counted at each


@dataclass(frozen=True)
class Task:
    """One diff: `clean` adds a function to a file, `buggy` the same with `mutation`."""

    clean: ChangedFile
    buggy: ChangedFile
    mutation: Mutation  # its line is 0-based in the file

    @property
    def line(self) -> int:
        return self.mutation.line


def function_spans(text: str) -> list[tuple[int, int]]:
    """0-based (first, last) lines of functions and methods of MIN_LINES to MAX_LINES lines,
    decorators included."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return []
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            if MIN_LINES <= node.end_lineno - first <= MAX_LINES:
                spans.append((first, node.end_lineno - 1))
    return spans


def make_task(path: str, text: str, span: tuple[int, int], category: str,
              rng: random.Random) -> Task | None:
    lines = text.split("\n")
    first, last = span
    body = lines[first : last + 1]
    def_index = next((i for i, x in enumerate(body) if x.lstrip().startswith(("def ", "async "))),
                     0)
    mutation = plant(body[def_index:], category, rng)
    if mutation is None:
        return None
    at = first + def_index + mutation.line
    changed = frozenset(n for n in range(first, last + 1) if lines[n].strip())
    mutated = list(lines)
    mutated[at] = mutation.mutated
    clean = ChangedFile(path, text, changed)
    buggy = ChangedFile(path, "\n".join(mutated), changed)
    return Task(clean, buggy, replace(mutation, line=at))


def make_tasks(docs: Sequence[tuple[str, str]], count: int, seed: int) -> list[Task]:
    """`count` tasks, the categories in turn, each from a random function of a random
    document; deterministic for a seed."""
    rng = random.Random(seed)
    pool = [(path, text, span) for path, text in docs for span in function_spans(text)]
    rng.shuffle(pool)
    categories = list(MUTATORS)
    tasks: list[Task] = []
    for path, text, span in pool:
        if len(tasks) == count:
            break
        for _ in range(len(categories)):
            category = categories[len(tasks) % len(categories)]
            task = make_task(path, text, span, category, rng)
            if task is not None:
                tasks.append(task)
                break
            categories.append(categories.pop(categories.index(category)))  # try the next
    return tasks


# Ranking metrics ---------------------------------------------------------------------------


def auc_pairs(planted: float, others: Sequence[float]) -> tuple[float, int]:
    """(wins, pairs) of the planted line against each other line; a tie counts a half."""
    wins = sum(1.0 if planted > o else 0.5 if planted == o else 0.0 for o in others)
    return wins, len(others)


def rank_of(planted: float, others: Sequence[float]) -> float:
    """0-based rank of the planted line, ties shared evenly (expected rank)."""
    return sum(o > planted for o in others) + 0.5 * sum(o == planted for o in others)


@dataclass
class Ranking:
    """Localisation over many diffs for one method."""

    wins: float = 0.0
    pairs: int = 0
    top1: int = 0
    top5: int = 0
    paired_wins: float = 0.0
    diffs: int = 0

    def add(self, planted: float, others: Sequence[float], clean_same_line: float) -> None:
        wins, pairs = auc_pairs(planted, others)
        self.wins, self.pairs, self.diffs = self.wins + wins, self.pairs + pairs, self.diffs + 1
        rank = rank_of(planted, others)
        self.top1 += rank < 1
        self.top5 += rank < 5
        self.paired_wins += 1.0 if planted > clean_same_line else (
            0.5 if planted == clean_same_line else 0.0)

    @property
    def auc(self) -> float:
        return self.wins / self.pairs if self.pairs else 0.0

    def rate(self, count: float) -> float:
        return count / self.diffs if self.diffs else 0.0


@dataclass
class Results:
    methods: dict[str, Ranking] = field(default_factory=lambda: defaultdict(Ranking))
    categories: dict[str, Ranking] = field(default_factory=lambda: defaultdict(Ranking))
    repairs: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    clean_gains: list[list[float]] = field(default_factory=list)  # per clean diff
    planted_gains: list[float] = field(default_factory=list)  # found on the planted line
    tokens_scored: int = 0
    model_seconds: float = 0.0
    tasks: int = 0

    def findings_per_clean_diff(self, threshold: float, max_comments: int = 5) -> float:
        counts = [min(max_comments, sum(g >= threshold for g in gains))
                  for gains in self.clean_gains]
        return sum(counts) / len(counts) if counts else 0.0

    def detected(self, threshold: float) -> float:
        """Share of diffs whose planted line is reported at this threshold."""
        return sum(g >= threshold for g in self.planted_gains) / max(self.tasks, 1)


def normalised(text: str) -> str:
    return " ".join(text.split())


def model_side(engine: Engine, task: Task, options: ReviewOptions, results: Results) -> None:
    """Review both versions (threshold 0: every confirmed gain is kept, so one run gives the
    findings at every threshold), rank, and ask for the planted line's repair."""
    calibrating = replace(options, threshold=float("-inf"))
    started = time.perf_counter()
    buggy = review_files(engine, [task.buggy], options=calibrating)
    clean = review_files(engine, [task.clean], options=calibrating)
    scores = {s.line: s for s in buggy.scores}
    clean_scores = {s.line: s.score for s in clean.scores}
    planted = scores.get(task.line)
    if planted is not None:
        others = [s.score for n, s in scores.items() if n != task.line]
        for ranking in (results.methods["autan"], results.categories[task.mutation.category]):
            ranking.add(planted.score, others, clean_scores.get(task.line, planted.score))
        suggestion = suggest_line(engine, task.buggy, task.line, span=planted.peak)
        line = task.buggy.text.split("\n")[task.line]
        line_start = task.buggy.text.rfind("\n", 0, suggestion.start) + 1
        fixed = (line[: suggestion.start - line_start] + suggestion.text
                 + line[suggestion.end - line_start :])
        results.repairs[task.mutation.category].append(
            normalised(fixed) == normalised(task.mutation.original))
    results.clean_gains.append([f.delta for f in clean.findings if f.delta > 0])
    gain = max((f.delta for f in buggy.findings if f.line - 1 == task.line), default=None)
    if gain is not None:
        results.planted_gains.append(gain)
    results.tokens_scored += buggy.stats.tokens_scored + clean.stats.tokens_scored
    results.model_seconds += time.perf_counter() - started


def baseline_side(name: str, scorer: LineScorer, task: Task, results: Results) -> None:
    buggy, clean = scorer(task.buggy), scorer(task.clean)
    if task.line not in buggy:
        return
    others = [v for n, v in buggy.items() if n != task.line]
    results.methods[name].add(buggy[task.line], others, clean.get(task.line, buggy[task.line]))


def evaluate(engine: Engine, tasks: Sequence[Task], baselines: dict[str, LineScorer],
             options: ReviewOptions | None = None,
             progress: Callable[[str], None] | None = None) -> Results:
    options = options or ReviewOptions()
    results = Results(tasks=len(tasks))
    for i, task in enumerate(tasks):
        if progress is not None:
            progress(f"diff {i + 1}/{len(tasks)}: {task.clean.path}:{task.line + 1} "
                     f"({task.mutation.category})")
        model_side(engine, task, options, results)
        for name, scorer in baselines.items():
            baseline_side(name, scorer, task, results)
    return results
