"""One review: score every changed file after the shared repository context, confirm the most
surprising changed lines with the model's own alternative, keep the few it is surest of."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from autan.indexer.context import diff_context
from autan.indexer.index import RepoIndex
from autan.model.io.fim import FimFamily, build_file_prompt
from autan.model.runtime.engine import Engine
from autan.review.confirm import Suggestion, model_family, suggest_line
from autan.review.prose import prose_lines
from autan.review.scoring import score_lines
from autan.review.types import LEVELS, ChangedFile, Finding, LineScore, Review, ReviewOptions
from autan.wire.types import RequestStats

Progress = Callable[[str], None]
LINES_BEFORE = 40  # unchanged lines above a file's first change that are scored too
LINES_AFTER = 20


def level_of(delta: float, threshold: float) -> str:
    """note from the threshold, warning from 1.5 times it, error from 3 times it."""
    if delta >= 3 * threshold:
        return LEVELS[2]
    return LEVELS[1] if delta >= 1.5 * threshold else LEVELS[0]


def score_file(engine: Engine, family: FimFamily, file: ChangedFile,
               context_files: Sequence[tuple[str, str]], repo_name: str | None,
               review: Review) -> None:
    """Add the file's changed-line scores to `review`; the context comes from the cache
    after the first file."""
    if not file.changed_lines:
        return
    start, end = scored_region(file)
    prompt = build_file_prompt(family, engine.tokenizer, file.text[start:end], file.path,
                               context_files, repo_name)
    if not prompt.offsets or prompt.text_start == 0:
        return
    stats = RequestStats()
    logprobs = engine.score_from(prompt.ids, prompt.text_start, prompt.boundaries, stats)
    review.stats.tokens_scored += len(prompt.ids) - stats.reused_tokens
    review.stats.tokens_reused += stats.reused_tokens
    prose = prose_lines(file.path, file.text)
    offsets = [(a + start, b + start) for a, b in prompt.offsets]
    review.scores.extend(score_lines(file, offsets, logprobs, prose))


def scored_region(file: ChangedFile, before: int = LINES_BEFORE,
                  after: int = LINES_AFTER) -> tuple[int, int]:
    """Character offsets of the part of the file that is scored: from `before` lines above
    its first changed line to `after` lines below its last. Enough unchanged lines to judge
    the changed ones against, and a diff's cost bounded by its size, not its files' size."""
    lines = file.text.split("\n")
    first = max(0, min(file.changed_lines) - before)
    last = min(len(lines), max(file.changed_lines) + after + 1)
    start = sum(len(x) + 1 for x in lines[:first])
    end = start + sum(len(x) + 1 for x in lines[first:last])
    return start, min(end, len(file.text))


def finding_for(file: ChangedFile, score: LineScore, suggestion: Suggestion,
                threshold: float) -> Finding:
    line_start = file.text.rfind("\n", 0, suggestion.start) + 1
    return Finding(
        path=file.path, line=score.line + 1,
        start_column=suggestion.start - line_start + 1,
        end_column=suggestion.end - line_start + 1,
        original=suggestion.original, suggestion=suggestion.text,
        score=score.score, delta=suggestion.delta, level=level_of(suggestion.delta, threshold),
        line_text=file.text.split("\n")[score.line],
    )


def confirm(engine: Engine, family: FimFamily, files: Sequence[ChangedFile],
            context_files: Sequence[tuple[str, str]], repo_name: str | None,
            options: ReviewOptions, review: Review, progress: Progress) -> None:
    """Ask the model for its own version of the most surprising lines; report those it
    clearly prefers, most confident first."""
    by_path = {f.path: f for f in files}
    ranked = sorted(review.scores, key=lambda s: (-s.score, s.path, s.line))
    pool = [s for s in ranked if s.score >= options.min_score]
    pool = pool[: options.max_comments * options.candidates]
    for i, score in enumerate(pool):
        progress(f"confirming {i + 1}/{len(pool)}: {score.path}:{score.line + 1}")
        file = by_path[score.path]
        suggestion = suggest_line(engine, file, score.line, context_files, repo_name, family,
                                  score.peak)
        review.stats.candidates_confirmed += 1
        if suggestion.differs and suggestion.delta >= options.threshold:
            review.findings.append(finding_for(file, score, suggestion, options.threshold))
    review.findings.sort(key=lambda f: (-f.delta, f.path, f.line))
    del review.findings[options.max_comments :]


def repository_context(root: Path, files: Sequence[ChangedFile], budget: int,
                       engine: Engine) -> list[tuple[str, str]]:
    """The (path, text) context every file of a diff is read after: the repository index's
    candidates for the changed files, `budget` tokens at most (none at 0)."""
    if budget == 0:
        return []
    index, _ = RepoIndex.open(root)
    count = lambda text: len(engine.tokenizer.encode(text))  # noqa: E731 - a token counter
    return [(s.path, s.text) for s in diff_context(index, [f.path for f in files], budget, count)]


def review_files(engine: Engine, files: Sequence[ChangedFile],
                 context_files: Sequence[tuple[str, str]] = (),
                 options: ReviewOptions | None = None, repo_name: str | None = None,
                 progress: Progress | None = None) -> Review:
    """Score and confirm; `context_files` (path, text) come before every file, so the engine
    computes them once and resumes every later file from its cached state."""
    options = options or ReviewOptions()
    progress = progress or (lambda _message: None)
    family = model_family(engine)
    started = time.perf_counter()
    review = Review()
    for i, file in enumerate(files):
        progress(f"scoring {i + 1}/{len(files)}: {file.path}")
        score_file(engine, family, file, context_files, repo_name, review)
    review.stats.files = len(files)
    review.stats.lines = len(review.scores)
    confirm(engine, family, files, context_files, repo_name, options, review, progress)
    review.stats.seconds = time.perf_counter() - started
    return review
