"""`autan eval`: fill-in-the-middle and perplexity on code the model never trained on.

Tasks come from held-out packages (whole packages, see `corpus.py`): single lines and whole
blocks, cut by syntax (`spans.py`). Each task is completed greedily with no repository
context, then with context from the same package at each token budget (4K and 32K by default),
and scored by exact match and edit similarity; the difference is the lift context gives.
The prompt is the one completions use (`autan.model.io.fim.build_fim_prompt`), and the prefix
and suffix are cut to the same token counts in every setting, so only the context varies.

Context, simple version: the package's other files, ranked by how many identifiers they share
with the code around the cursor, as many as fit the budget (the last one cut at a line end),
most relevant last, nearest the cursor. A caller may pass another `ContextFn` (the CLI can
plug in the repository indexer's context builder).
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from autan.model.io.fim import FimFamily, build_fim_prompt
from autan.model.io.tokenizer import Tokenizer
from autan.model.runtime.engine import Engine, Generated
from autan.train.corpus import Document
from autan.train.options import EvalOptions
from autan.train.spans import (
    FimTask,
    edit_similarity,
    exact_match,
    pick_spans,
    python_parser,
)
from autan.wire.types import SamplingParams

CountFn = Callable[[str], int]
# (task, the package's documents, token budget for context, counter) -> (path, text) pairs
ContextFn = Callable[[FimTask, Sequence[Document], int, CountFn], list[tuple[str, str]]]
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")


@dataclass
class Score:
    n: int = 0
    exact: int = 0
    similarity: float = 0.0
    prompt_tokens: int = 0
    seconds: float = 0.0

    def add(self, prediction: str, target: str, prompt_tokens: int, seconds: float) -> None:
        """Count one completed task."""
        self.n += 1
        self.exact += exact_match(prediction, target)
        self.similarity += edit_similarity(prediction, target)
        self.prompt_tokens += prompt_tokens
        self.seconds += seconds

    def as_dict(self) -> dict:
        """Means over the tasks (rates in [0, 1])."""
        n = max(self.n, 1)
        return {"n": self.n, "exact_match": self.exact / n, "edit_similarity": self.similarity / n,
                "prompt_tokens": self.prompt_tokens / n, "seconds": self.seconds / n}


@dataclass
class EvalReport:
    fim: dict[int, dict[str, Score]] = field(default_factory=dict)  # budget -> kind -> score
    bits_per_byte: float = math.nan
    token_loss: float = math.nan
    ppl_bytes: int = 0
    examples: list[dict] = field(default_factory=list)


def make_tasks(docs: Sequence[Document], opts: EvalOptions) -> list[FimTask]:
    """Up to `opts.tasks` tasks of each kind, at most one of each per file, from a seeded
    random order of the held-out files."""
    rng = random.Random(opts.seed)
    order = sorted(docs, key=lambda d: (d.package, d.path))
    rng.shuffle(order)
    parser = python_parser()
    counts: dict[str, int] = {}
    tasks = []
    for doc in order:
        for task in pick_spans(doc.package, doc.path, doc.text, rng, parser):
            if counts.get(task.kind, 0) < opts.tasks:
                counts[task.kind] = counts.get(task.kind, 0) + 1
                tasks.append(task)
    return tasks


def fit_tokens(text: str, cap: int, count: CountFn, keep_end: bool) -> str:
    """`text` cut at line boundaries to at most `cap` tokens, keeping its end (a prefix) or
    its start (a suffix, a context file)."""
    tokens = count(text)
    while tokens > cap and text:
        keep = max(0, int(len(text) * cap / tokens * 0.95) - 1)
        if keep_end:
            piece = text[len(text) - keep :]
            text = piece[piece.find("\n") + 1 :] if "\n" in piece else piece
        else:
            piece = text[:keep]
            text = piece[: piece.rfind("\n") + 1] if "\n" in piece else piece
        tokens = count(text)
    return text


def identifiers(text: str) -> set[str]:
    """Names of three or more characters: what relates one file to another."""
    return set(IDENT.findall(text))


def simple_context(task: FimTask, package_docs: Sequence[Document], budget: int,
                   count: CountFn) -> list[tuple[str, str]]:
    """The package's other files by shared identifiers, filling `budget` tokens; the file
    that overflows is cut at a line end; the most relevant file goes last."""
    near = identifiers(task.prefix[-4000:] + task.suffix[:2000])
    others = [d for d in package_docs if d.path != task.path]
    ranked = sorted(others, key=lambda d: (-len(near & identifiers(d.text)), d.path))
    chosen: list[tuple[str, str]] = []
    room = budget
    for doc in ranked:
        if room < 64:
            break
        header = count(f"{doc.path}\n") + 1  # + the separator token
        text = fit_tokens(doc.text, room - header, count, keep_end=False)
        if text:
            chosen.append((doc.path, text))
            room -= header + count(text)
    return chosen[::-1]


def cached_counter(tokenizer: Tokenizer) -> CountFn:
    """Token counts, remembered: the same files are counted for every task of a package."""
    memo: dict[str, int] = {}

    def count(text: str) -> int:
        if text not in memo:
            memo[text] = len(tokenizer.encode(text))
        return memo[text]

    return count


def complete(engine: Engine, family: FimFamily, task: FimTask,
             context: list[tuple[str, str]], opts: EvalOptions,
             count: CountFn) -> tuple[str, int, float]:
    """The model's greedy fill for `task`: (text, prompt tokens, seconds). A single-line
    task stops at the end of the line, as an editor's single-line completion does."""
    prefix = fit_tokens(task.prefix, opts.prefix_tokens, count, keep_end=True)
    suffix = fit_tokens(task.suffix, opts.suffix_tokens, count, keep_end=False)
    prompt = build_fim_prompt(family, engine.tokenizer, prefix, suffix, context_files=context,
                              repo_name=task.package if context else None,
                              file_path=task.path if context else None)
    single = task.kind == "single-line"
    params = SamplingParams(
        max_tokens=opts.single_max_tokens if single else opts.multi_max_tokens,
        stop_ids=tuple(prompt.stop_ids),
        stop_strings=(*prompt.stop_strings, *(("\n",) if single else ())))
    start = time.perf_counter()
    text = ""
    for event in engine.generate(prompt.ids, params, prompt.boundaries):
        if isinstance(event, Generated):
            text = event.text
    return text, len(prompt.ids), time.perf_counter() - start


def evaluate_fim(engine: Engine, family: FimFamily, tasks: Sequence[FimTask],
                 docs: Sequence[Document], opts: EvalOptions,
                 context_fn: ContextFn = simple_context,
                 progress: Callable[[str], None] | None = None) -> EvalReport:
    """Every task at every budget; the first few completions are kept as examples."""
    count = cached_counter(engine.tokenizer)  # type: ignore[arg-type]
    by_package: dict[str, list[Document]] = {}
    for doc in docs:
        by_package.setdefault(doc.package, []).append(doc)
    report = EvalReport()
    for budget in opts.budgets:
        scores = report.fim.setdefault(budget, {})
        for i, task in enumerate(tasks):
            context = context_fn(task, by_package[task.package], budget, count) if budget else []
            text, n_prompt, seconds = complete(engine, family, task, context, opts, count)
            scores.setdefault(task.kind, Score()).add(text, task.middle, n_prompt, seconds)
            if budget == opts.budgets[0] and len(report.examples) < 6:
                report.examples.append({"path": task.path, "kind": task.kind,
                                        "target": task.middle, "prediction": text})
            if progress is not None:
                progress(f"context {budget_name(budget)}: {i + 1}/{len(tasks)}")
    return report


@torch.inference_mode()
def perplexity(engine: Engine, docs: Sequence[Document], opts: EvalOptions) -> tuple[float,
                                                                                    float, int]:
    """(bits per byte, nats per token, bytes) over a seeded sample of held-out files, each
    read from its start after an end-of-text token, up to `ppl_max_tokens` tokens."""
    tokenizer, model = engine.tokenizer, engine.model
    rng = random.Random(opts.seed)
    sample = rng.sample(list(docs), min(opts.ppl_files, len(docs)))
    start_id = tokenizer.eos_id if tokenizer.eos_id is not None else tokenizer.bos_id
    nats = 0.0
    n_tokens = n_bytes = 0
    for doc in sample:
        ids = tokenizer.encode(doc.text)[: opts.ppl_max_tokens]
        if start_id is None or not ids:
            continue
        tokens = torch.tensor([[start_id, *ids]], device=model.device)
        logits = model(tokens[:, :-1]).float()
        nats += float(torch.nn.functional.cross_entropy(logits[0], tokens[0, 1:],
                                                        reduction="sum"))
        n_tokens += len(ids)
        n_bytes += len(tokenizer.decode(ids).encode("utf-8"))
    if n_bytes == 0:
        return math.nan, math.nan, 0
    return nats / math.log(2) / n_bytes, nats / n_tokens, n_bytes


def budget_name(budget: int) -> str:
    """A budget as the table shows it (none, 4K, 32K)."""
    if budget == 0:
        return "none"
    return f"{budget // 1024}K" if budget % 1024 == 0 else str(budget)


def format_report(report: EvalReport, title: str = "") -> str:
    """The evaluation table, the lift over no context, and perplexity, as Markdown."""
    kinds = sorted({k for scores in report.fim.values() for k in scores}, reverse=True)
    header = ["context", *[f"{k} {m}" for k in kinds for m in ("EM", "ES")],
              "prompt tokens", "s/task"]
    rows = []
    for budget, scores in report.fim.items():
        cells = [budget_name(budget)]
        for kind in kinds:
            s = scores.get(kind, Score()).as_dict()
            cells += [f"{100 * s['exact_match']:.1f}", f"{100 * s['edit_similarity']:.1f}"]
        every = [s.as_dict() for s in scores.values()]
        cells.append(f"{sum(s['prompt_tokens'] for s in every) / max(len(every), 1):.0f}")
        cells.append(f"{sum(s['seconds'] for s in every) / max(len(every), 1):.2f}")
        rows.append(cells)
    lines = [title] if title else []
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", *lift_lines(report, kinds)]
    if report.ppl_bytes:
        lines += ["", f"Perplexity on held-out files: {report.bits_per_byte:.3f} bits per byte "
                      f"({report.token_loss:.3f} nats per token, {report.ppl_bytes} bytes)."]
    return "\n".join(lines) + "\n"


def lift_lines(report: EvalReport, kinds: list[str]) -> list[str]:
    """Edit-similarity and exact-match points each context budget adds over none."""
    base = report.fim.get(0)
    if base is None:
        return []
    out = []
    for budget, scores in report.fim.items():
        if budget == 0:
            continue
        parts = []
        for kind in kinds:
            a, b = base.get(kind, Score()).as_dict(), scores.get(kind, Score()).as_dict()
            parts.append(f"{kind} {100 * (b['edit_similarity'] - a['edit_similarity']):+.1f} "
                         f"ES / {100 * (b['exact_match'] - a['exact_match']):+.1f} EM")
        out.append(f"Lift from {budget_name(budget)} context: " + "; ".join(parts) + ".")
    return out
