"""Confirmation: a surprising line is reported only if the model would clearly write another.

Surprisal ranks candidates but is noisy on its own: a line can be odd and right. So the model
proposes its own version of the word around the line's most surprising token, twice: reading
left to right up to the word (what it expected there), and filling the word in with the code
on both sides (fill-in-the-middle). Each plausible proposal and the original are then scored
the same way: the log-probability, left to right after the same prefix, of the span and the
rest of its line and a few lines after it, so that an edit is judged by what follows too.
The best proposal's gain over the original, in nats, is the finding's confidence.

A word, not the whole line: one-line bugs are small edits, and two versions of a window that
differ in one word compare fairly, where a short line would beat a long one for its length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from autan.indexer.context import fit_tokens
from autan.model.errors import ModelFileError
from autan.model.io.fim import FimFamily, build_file_prompt, build_fim_prompt, detect_family
from autan.model.runtime.engine import Engine, Generated
from autan.review.types import ChangedFile
from autan.wire.types import SamplingParams

PREFIX_TOKENS = 512  # code before the span the model reads
SUFFIX_TOKENS = 128  # code after it, for the fill-in-the-middle proposal
WINDOW_LINES = 3  # lines after the span's line that its scoring includes
MAX_FILL_TOKENS = 24
PAIRS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class Suggestion:
    """The model's own version of a span of a line, and how much more likely it finds it."""

    start: int  # character offsets of the span in the file's text
    end: int
    original: str  # the span's text
    text: str  # the model's replacement for it (the original when it proposes nothing else)
    delta: float  # log P(window with text) - log P(window with original), nats

    @property
    def differs(self) -> bool:
        return " ".join(self.text.split()) != " ".join(self.original.split())


def balanced(text: str) -> bool:
    """Brackets nest and close, and no quote is left open: the text can stand in a line."""
    stack: list[str] = []
    for ch in text:
        if ch in "([{":
            stack.append(ch)
        elif ch in PAIRS and (not stack or stack.pop() != PAIRS[ch]):
            return False
    return not stack and all(text.count(q) % 2 == 0 for q in "\"'`")


def plausible_replacement(original: str, text: str) -> bool:
    """Whether `text` could be an edit of the span rather than other code: on one line,
    different, balanced, and keeping a word where the original is a word (a name for a name,
    a number for a number, or an expression such as `not x` or `n + 1`)."""
    stripped = text.strip()
    if not stripped or "\n" in text or not balanced(stripped):
        return False
    if " ".join(stripped.split()) == " ".join(original.split()):
        return False
    if any(ch.isalnum() or ch == "_" for ch in original):
        return any(ch.isalnum() or ch == "_" for ch in stripped)
    return True


def model_family(engine: Engine) -> FimFamily:
    family = detect_family(engine.tokenizer)
    if family is None:
        raise ModelFileError(engine.tokenizer.path, "the tokenizer has no fill-in-the-middle "
                             "tokens, which autan review needs")
    return family


def line_span(text: str, line: int) -> tuple[int, int]:
    """Character offsets of 0-based `line`, without its newline."""
    lines = text.split("\n")
    start = sum(len(x) + 1 for x in lines[:line])
    return start, start + len(lines[line])


def window_end(text: str, end: int) -> int:
    """Where the scored window ends: WINDOW_LINES lines after the span's line."""
    at = end
    for _ in range(WINDOW_LINES + 1):
        found = text.find("\n", at)
        if found < 0:
            return len(text)
        at = found + 1
    return at


@dataclass(frozen=True)
class SpanContext:
    """What both proposals and the scoring of a span share."""

    engine: Engine
    family: FimFamily
    file: ChangedFile
    start: int
    end: int
    context_files: Sequence[tuple[str, str]]
    repo_name: str | None

    def count(self, text: str) -> int:
        return len(self.engine.tokenizer.encode(text))

    @cached_property
    def before(self) -> str:
        """The file's text up to the span, cut to PREFIX_TOKENS at a line start."""
        return fit_tokens(self.file.text[: self.start], PREFIX_TOKENS, self.count,
                          keep_end=True)[0]

    @cached_property
    def fill_budget(self) -> int:
        """New tokens a proposal may take: about twice the original's."""
        return min(MAX_FILL_TOKENS, 2 * self.count(self.file.text[self.start : self.end].strip())
                   + 4)

    def prefix_ids(self) -> tuple[list[int], list[int]]:
        """Ids of the context, the file's header and `before`, and the prompt's boundaries."""
        prompt = build_file_prompt(self.family, self.engine.tokenizer, self.before,
                                   self.file.path, self.context_files, self.repo_name)
        return prompt.ids, prompt.boundaries


def greedy(engine: Engine, ids: list[int], boundaries: list[int], budget: int,
           stop_ids: Sequence[int] = (), stop_strings: Sequence[str] = ()) -> str:
    """The model's greedy continuation of `ids`, cut at the first newline."""
    params = SamplingParams(max_tokens=budget, temperature=0.0,
                            stop_strings=("\n", *stop_strings), stop_ids=tuple(stop_ids))
    text = ""
    for event in engine.generate(ids, params, boundaries):
        if isinstance(event, Generated):
            text = event.text
    return text.split("\n", 1)[0]


def first_like(original: str, text: str) -> str:
    """The start of `text` that takes the original's place: as many words or operator
    characters as the original has, so `b` proposes `a` and not `a, b)`."""
    pieces = [p for p in _pieces(original) if not p.isspace()]
    taken, out = 0, ""
    for piece in _pieces(text.lstrip()):
        if taken == len(pieces):
            break
        out += piece
        taken += not piece.isspace()
    return out.rstrip()


def _pieces(text: str) -> list[str]:
    """Words, runs of blanks, and single other characters."""
    out: list[str] = []
    for ch in text:
        word = ch.isalnum() or ch == "_"
        if out and ((word and (out[-1][-1].isalnum() or out[-1][-1] == "_"))
                    or (ch.isspace() and out[-1][-1].isspace())):
            out[-1] += ch
        else:
            out.append(ch)
    return out


def left_to_right_proposal(span: SpanContext, prefix: tuple[list[int], list[int]]) -> str:
    original = span.file.text[span.start : span.end].strip()
    return first_like(original, greedy(span.engine, *prefix, span.fill_budget))


def fill_in_proposal(span: SpanContext) -> str:
    after, _ = fit_tokens(span.file.text[span.end :], SUFFIX_TOKENS, span.count,
                          keep_end=False)
    prompt = build_fim_prompt(span.family, span.engine.tokenizer, span.before, after,
                              span.context_files, span.repo_name, span.file.path)
    return greedy(span.engine, prompt.ids, prompt.boundaries, span.fill_budget,
                  prompt.stop_ids, prompt.stop_strings)


def window_logprob(span: SpanContext, prefix: tuple[list[int], list[int]],
                   replacement: str) -> float:
    """log P(replacement, then the rest of the window | the prefix), left to right."""
    ids, boundaries = prefix
    rest = span.file.text[span.end : window_end(span.file.text, span.end)]
    window = span.engine.tokenizer.encode(replacement + rest)
    if not window:
        return 0.0
    return sum(span.engine.score_from(ids + window, len(ids), boundaries))


def suggest_span(engine: Engine, file: ChangedFile, start: int, end: int,
                 context_files: Sequence[tuple[str, str]] = (), repo_name: str | None = None,
                 family: FimFamily | None = None) -> Suggestion:
    """What the model would write for `file.text[start:end]` (inside one line), and by how
    much it prefers that to what is there."""
    # The blanks before the span go with it: tokenizers attach a leading space to the word
    # after it, so the window reads as the model would have tokenized the line.
    lead = len(file.text[:start]) - len(file.text[:start].rstrip(" \t"))
    line_start = file.text.rfind("\n", 0, start) + 1
    cut = start - lead if start - lead > line_start else start  # not the indentation
    span = SpanContext(engine, family or model_family(engine), file, cut, end,
                       context_files, repo_name)
    original = file.text[start:end]
    blanks = file.text[cut:start]
    prefix = span.prefix_ids()
    proposals = dict.fromkeys(p.strip() for p in (left_to_right_proposal(span, prefix),
                                                  fill_in_proposal(span))
                              if plausible_replacement(original, p))
    best = Suggestion(start, end, original, original, 0.0)
    if not proposals:
        return best
    original_lp = window_logprob(span, prefix, blanks + original)
    for proposal in proposals:
        delta = window_logprob(span, prefix, blanks + proposal) - original_lp
        if delta > best.delta or not best.differs:
            best = Suggestion(start, end, original, proposal, delta)
    return best


def suggest_line(engine: Engine, file: ChangedFile, line: int,
                 context_files: Sequence[tuple[str, str]] = (), repo_name: str | None = None,
                 family: FimFamily | None = None,
                 span: tuple[int, int] | None = None) -> Suggestion:
    """The model's replacement for part of 0-based `line`: `span` (character offsets in the
    file, e.g. `LineScore.peak`, the word around the line's most surprising token), else the
    whole line after its indentation."""
    if span is None or span[1] <= span[0]:
        start, end = line_span(file.text, line)
        body = file.text[start:end]
        span = (start + len(body) - len(body.lstrip()), end)
    return suggest_span(engine, file, span[0], span[1], context_files, repo_name, family)
