"""From per-token log-probabilities to a per-line score that means "odd for this file".

Raw surprisal favours lines that are merely long or full of rare identifiers, so a line is
scored against its own file: the robust z-score (median and MAD) of its mean and of its max
token surprisal among the file's lines, averaged. A line the model reads as easily as the
rest of the file scores about 0; the few it stumbles on score several units higher.
"""

from __future__ import annotations

import bisect
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from autan.review.types import ChangedFile, LineScore

MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation
MIN_SPREAD = 0.25  # nats; keeps a file of near-identical lines from dividing by ~0
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Keywords after which a new name is being defined, across the indexer's languages.
DEFINING_KEYWORDS = frozenset((
    "def", "class", "function", "func", "fn", "struct", "enum", "trait", "interface", "type",
    "module", "namespace", "let", "const", "var", "val", "macro",
))


@dataclass
class LineTokens:
    surprisals: list[float] = field(default_factory=list)
    peak: float = -1.0  # the highest surprisal of a token with code in it
    peak_span: tuple[int, int] = (0, 0)


def line_starts(text: str) -> list[int]:
    """Character offset where each line begins."""
    starts = [0]
    starts.extend(i + 1 for i, ch in enumerate(text) if ch == "\n")
    return starts


def token_line(text: str, starts: Sequence[int], span: tuple[int, int]) -> tuple[int, bool]:
    """The line a token belongs to, and whether it holds code: a token belongs to the line of
    its first non-blank character; a blank one to the line of its last character (a newline
    to the line it ends, newline and indentation to the line whose indentation it is)."""
    begin, end = span
    piece = text[begin:end]
    blank = len(piece) - len(piece.lstrip())
    at = begin + blank if blank < len(piece) else max(begin, end - 1)
    return bisect.bisect_right(starts, at) - 1, blank < len(piece)


def word_around(text: str, begin: int, end: int) -> tuple[int, int]:
    """The token's span without its blanks, widened to whole identifier or number
    characters, within its line."""
    while begin < end and text[begin].isspace():
        begin += 1
    while end > begin and text[end - 1].isspace():
        end -= 1
    word = lambda ch: ch.isalnum() or ch == "_"  # noqa: E731 - a one-line predicate
    if begin < end and word(text[begin]):
        while begin > 0 and word(text[begin - 1]):
            begin -= 1
    if begin < end and word(text[end - 1]):
        while end < len(text) and word(text[end]):
            end += 1
    return begin, end


def introductions(text: str) -> frozenset[int]:
    """Start offsets of names a file introduces: the first occurrence of a word that the
    file uses again later, or that follows a keyword which defines a name. A new name cannot
    be predicted, so its surprisal says nothing about the line; a name used only once
    elsewhere (a typo, a wrong call) stays in."""
    first: dict[str, int] = {}
    repeated: set[str] = set()
    defined: set[str] = set()
    previous = ""
    for match in WORD.finditer(text):
        word = match[0]
        if word in first:
            repeated.add(word)
        else:
            first[word] = match.start()
            if previous in DEFINING_KEYWORDS:
                defined.add(word)
        previous = word
    return frozenset(start for word, start in first.items()
                     if word in repeated or word in defined)


def tokens_by_line(text: str, offsets: Sequence[tuple[int, int]],
                   logprobs: Sequence[float]) -> dict[int, LineTokens]:
    """Each line's token surprisals (nats) and its most surprising code token; tokens of a
    name being introduced are left out."""
    starts = line_starts(text)
    new_names = introductions(text)
    lines: dict[int, LineTokens] = {}
    for span, logprob in zip(offsets, logprobs, strict=True):
        line, code = token_line(text, starts, span)
        if code and word_around(text, *span)[0] in new_names:
            continue
        entry = lines.setdefault(line, LineTokens())
        entry.surprisals.append(-logprob)
        if code and -logprob > entry.peak:
            entry.peak, entry.peak_span = -logprob, word_around(text, *span)
    return lines


def robust_z(values: Sequence[float]) -> list[float]:
    """(v - median) / (1.4826 * MAD), the spread floored at MIN_SPREAD."""
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    spread = max(MAD_TO_SIGMA * mad, MIN_SPREAD)
    return [(v - median) / spread for v in values]


def score_lines(file: ChangedFile, offsets: Sequence[tuple[int, int]],
                logprobs: Sequence[float], prose: frozenset[int] = frozenset()
                ) -> list[LineScore]:
    """A score for each changed line of code, relative to every code line of the file;
    `prose` lines (comments, docstrings) are neither scored nor part of the reference."""
    by_line = tokens_by_line(file.text, offsets, logprobs)
    text_lines = file.text.split("\n")
    code = sorted(n for n, entry in by_line.items()
                  if n < len(text_lines) and entry.peak >= 0 and n not in prose)
    if not code:
        return []
    means = [statistics.fmean(by_line[n].surprisals) for n in code]
    maxes = [max(by_line[n].surprisals) for n in code]
    z_mean, z_max = robust_z(means), robust_z(maxes)
    return [
        LineScore(file.path, n, (z_mean[i] + z_max[i]) / 2, means[i], maxes[i],
                  len(by_line[n].surprisals), by_line[n].peak_span)
        for i, n in enumerate(code) if n in file.changed_lines
    ]
