"""A summary for people: each finding with the line and the model's version, then totals."""

from __future__ import annotations

from autan.review.types import Finding, Review


def block(finding: Finding) -> str:
    fixed = (finding.line_text[: finding.start_column - 1] + finding.suggestion
             + finding.line_text[finding.end_column - 1 :]) if finding.line_text else ""
    lines = [f"{finding.path}:{finding.line}:{finding.start_column}: {finding.level}: "
             f"{finding.message} (gain {finding.delta:.1f} nats)"]
    if finding.line_text:
        lines += [f"    - {finding.line_text.strip()}", f"    + {fixed.strip()}"]
    return "\n".join(lines) + "\n"


def totals(review: Review) -> str:
    s = review.stats
    count = f"{len(review.findings)} findings" if review.findings else "no findings"
    files = f"{s.files} file" + ("" if s.files == 1 else "s")
    line = (f"{count} in {files} ({s.lines} changed lines, {s.tokens_scored:,} tokens at "
            f"{s.tokens_per_s:,.0f} tokens/s, {s.seconds:.1f} s)")
    if review.skipped:
        line += f"; {len(review.skipped)} files skipped"
    return line + "\n"


def render(review: Review) -> str:
    return "".join(block(f) + "\n" for f in review.findings) + totals(review)
