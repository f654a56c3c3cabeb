"""What a review passes between its steps: the changed files, line scores and findings."""

from __future__ import annotations

from dataclasses import dataclass, field

RULE_ID = "autan/unnatural-line"
LEVELS = ("note", "warning", "error")  # in rising order, as SARIF names them


@dataclass(frozen=True)
class ChangedFile:
    """One file of a diff as the model sees it.

    `text` is the file at the head revision with secrets already replaced by the indexer's
    placeholder (so nothing below this point can leak one); `changed_lines` are the 0-based
    lines of `text` that the diff added or changed, the only lines a review may report.
    """

    path: str  # repository-relative, '/' separators
    text: str
    changed_lines: frozenset[int]


@dataclass(frozen=True)
class LineScore:
    """How surprising one line is to the model, relative to the other lines of its file."""

    path: str
    line: int  # 0-based
    score: float  # robust z-score combining the mean and max token surprisal; higher: odder
    mean_surprisal: float  # nats per token
    max_surprisal: float  # nats, the line's most surprising token
    tokens: int
    # (start, end) character offsets in the file's text of the word around the line's most
    # surprising token: the span the confirmation step asks the model to fill in again.
    peak: tuple[int, int] = (0, 0)


@dataclass(frozen=True)
class Finding:
    """A reported line: where, what the model would write instead, and how sure it is.

    Lines and columns are 1-based, the end column exclusive (SARIF's convention), so
    `original == line_text[start_column - 1 : end_column - 1]`.
    """

    path: str
    line: int
    start_column: int
    end_column: int
    original: str  # the reported span of the line (secrets redacted)
    suggestion: str  # the model's replacement for that span
    score: float  # LineScore.score of the line
    delta: float  # log P(suggestion) - log P(original) in the same context, nats
    level: str  # one of LEVELS
    line_text: str = ""  # the whole line (secrets redacted), for fingerprints and context
    rule_id: str = RULE_ID

    @property
    def message(self) -> str:
        return (f"The model finds this line unusual here (surprisal z={self.score:.1f}) and "
                f"would rather write: {self.suggestion.strip()}")


@dataclass
class ReviewStats:
    files: int = 0
    lines: int = 0  # changed lines that were candidates
    tokens_scored: int = 0
    tokens_reused: int = 0  # repository context tokens resumed from the prefix state cache
    candidates_confirmed: int = 0  # candidates the confirmation step looked at
    seconds: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_scored / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Review:
    """The outcome of one review: its findings, most confident first, and what it cost."""

    findings: list[Finding] = field(default_factory=list)
    scores: list[LineScore] = field(default_factory=list)  # every changed line's score
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    stats: ReviewStats = field(default_factory=ReviewStats)
    base: str = ""  # the revisions compared, as given or resolved
    head: str = ""


# Here rather than in pipeline.py so the CLI can build its parser without importing torch.
@dataclass(frozen=True)
class ReviewOptions:
    max_comments: int = 5
    threshold: float = 8.0  # nats a confirmed alternative must gain (docs/benchmarks.md)
    budget: int = 2048  # tokens of repository context before each file
    candidates: int = 2  # lines confirmed per finding that may be reported
    min_score: float = 1.0  # lines scoring lower are never worth a confirmation
