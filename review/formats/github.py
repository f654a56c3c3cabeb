"""GitHub Actions workflow commands: an annotation on the pull request's diff per finding.

GitHub shows at most 10 annotations of one level per step, so only the 10 most confident
findings are written. Escaping follows the Actions toolkit: data escapes `%`, CR and LF;
property values also `:` and `,`.
"""

from __future__ import annotations

from autan.review.types import Finding, Review

MAX_ANNOTATIONS = 10
COMMANDS = {"note": "notice", "warning": "warning", "error": "error"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    props = {"file": finding.path, "line": finding.line, "endLine": finding.line,
             "col": finding.start_column, "endColumn": finding.end_column,
             "title": "autan: unnatural line"}
    joined = ",".join(f"{k}={escape_property(str(v))}" for k, v in props.items())
    return f"::{COMMANDS[finding.level]} {joined}::{escape_data(finding.message)}"


def render(review: Review) -> str:
    return "".join(annotation(f) + "\n" for f in review.findings[:MAX_ANNOTATIONS])
