"""What the report formats share: the tool's identity, stable fingerprints, severities."""

from __future__ import annotations

import hashlib
from importlib import metadata

from autan.review.types import Finding

TOOL = "autan"
TOOL_URL = "https://github.com/autan-dev/autan"
RULE_NAME = "UnnaturalLine"
RULE_SHORT = "A changed line the model finds unnatural, with its own alternative"
RULE_FULL = (
    "The local code model scored every added or changed line in its repository context. "
    "This line surprised it far more than the rest of the file, and the model clearly "
    "prefers a different version of part of it. Such lines are often bugs: a wrong name, "
    "operator, literal or argument order. Check the suggestion; the model can be wrong.")


def tool_version() -> str:
    try:
        return metadata.version("autan")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def normalised(text: str) -> str:
    """The line without its blanks, so re-indenting or moving it changes no fingerprint."""
    return "".join(text.split())


def fingerprint(finding: Finding) -> str:
    """A stable id for a finding: path, rule and the normalised line, never its line number,
    so CI systems recognise it after the code around it moves (MD5 as an id, not a seal)."""
    key = f"{finding.path}\0{finding.rule_id}\0{normalised(finding.line_text)}"
    return hashlib.md5(key.encode("utf-8")).hexdigest()
