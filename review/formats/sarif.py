"""SARIF 2.1.0, which GitHub code scanning (`upload-sarif`) and most CI dashboards read."""

from __future__ import annotations

import json
from typing import Any

from autan.review.formats.common import (
    RULE_FULL,
    RULE_NAME,
    RULE_SHORT,
    TOOL,
    TOOL_URL,
    fingerprint,
    tool_version,
)
from autan.review.types import RULE_ID, Finding, Review

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"


def rule() -> dict[str, Any]:
    return {
        "id": RULE_ID,
        "name": RULE_NAME,
        "shortDescription": {"text": RULE_SHORT},
        "fullDescription": {"text": RULE_FULL},
        "help": {"text": RULE_FULL, "markdown": f"**{RULE_SHORT}.** {RULE_FULL}"},
        "defaultConfiguration": {"level": "warning"},
        "helpUri": TOOL_URL,
    }


def region(finding: Finding) -> dict[str, Any]:
    return {"startLine": finding.line, "endLine": finding.line,
            "startColumn": finding.start_column, "endColumn": finding.end_column,
            "snippet": {"text": finding.original}}


def artifact(finding: Finding) -> dict[str, Any]:
    return {"uri": finding.path, "uriBaseId": SRCROOT}


def result(finding: Finding) -> dict[str, Any]:
    deleted = {k: v for k, v in region(finding).items() if k != "snippet"}
    return {
        "ruleId": finding.rule_id,
        "ruleIndex": 0,
        "level": finding.level,
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": {"artifactLocation": artifact(finding),
                                            "region": region(finding)}}],
        "fixes": [{
            "description": {"text": f"Replace with: {finding.suggestion}"},
            "artifactChanges": [{
                "artifactLocation": artifact(finding),
                "replacements": [{"deletedRegion": deleted,
                                  "insertedContent": {"text": finding.suggestion}}],
            }],
        }],
        "partialFingerprints": {"autanLineHash/v1": fingerprint(finding)},
        "properties": {"score": round(finding.score, 3), "delta": round(finding.delta, 3)},
    }


def render(review: Review) -> str:
    run = {
        "tool": {"driver": {"name": TOOL, "version": tool_version(),
                            "informationUri": TOOL_URL, "rules": [rule()]}},
        "originalUriBaseIds": {SRCROOT: {"description": {"text": "The repository root"}}},
        "invocations": [{"executionSuccessful": True}],
        "results": [result(f) for f in review.findings],
        "properties": {"base": review.base, "head": review.head},
    }
    return json.dumps({"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2) + "\n"
