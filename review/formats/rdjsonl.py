"""reviewdog's rdjsonl: one JSON diagnostic per line, with the suggestion as a suggested
change (`reviewdog -f=rdjsonl -reporter=github-pr-review` posts it as one)."""

from __future__ import annotations

import json
from typing import Any

from autan.review.formats.common import TOOL, TOOL_URL
from autan.review.types import Finding, Review

SEVERITIES = {"note": "INFO", "warning": "WARNING", "error": "ERROR"}


def span(finding: Finding) -> dict[str, Any]:
    return {"start": {"line": finding.line, "column": finding.start_column},
            "end": {"line": finding.line, "column": finding.end_column}}


def diagnostic(finding: Finding) -> dict[str, Any]:
    return {
        "message": finding.message,
        "location": {"path": finding.path, "range": span(finding)},
        "severity": SEVERITIES[finding.level],
        "source": {"name": TOOL, "url": TOOL_URL},
        "code": {"value": finding.rule_id, "url": TOOL_URL},
        "suggestions": [{"range": span(finding), "text": finding.suggestion}],
        "original_output": f"{finding.path}:{finding.line}: {finding.original}",
    }


def render(review: Review) -> str:
    return "".join(json.dumps(diagnostic(f), ensure_ascii=False) + "\n"
                   for f in review.findings)
