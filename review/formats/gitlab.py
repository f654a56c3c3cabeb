"""GitLab Code Quality: a JSON list that merge requests show in their widget and diff."""

from __future__ import annotations

import json
from typing import Any

from autan.review.formats.common import fingerprint
from autan.review.types import Finding, Review

SEVERITIES = {"note": "info", "warning": "minor", "error": "major"}


def issue(finding: Finding) -> dict[str, Any]:
    return {
        "type": "issue",
        "description": finding.message,
        "check_name": finding.rule_id,
        "categories": ["Bug Risk"],
        "fingerprint": fingerprint(finding),
        "severity": SEVERITIES[finding.level],
        "location": {"path": finding.path,
                     "lines": {"begin": finding.line, "end": finding.line}},
    }


def render(review: Review) -> str:
    return json.dumps([issue(f) for f in review.findings], indent=2, ensure_ascii=False) + "\n"
