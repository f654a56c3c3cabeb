"""Each report format on hand-built reviews: valid for the tool that reads it, escaped,
stable where CI systems key on it, and holding nothing that is not in the review."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import jsonschema
import pytest

from autan.review.formats import FORMATS, github, gitlab, rdjsonl, sarif, text
from autan.review.types import Finding, Review, ReviewStats

ODD = Finding(path="src/a,b:c.py", line=7, start_column=12, end_column=18, original="handle",
              suggestion="values % 100:\nx", score=4.2, delta=30.5, level="error",
              line_text="        for key in sorted(handle):")
PLAIN = Finding(path="pkg/mod.py", line=3, start_column=5, end_column=6, original="<",
                suggestion="<=", score=2.0, delta=9.0, level="note",
                line_text="    if a < b:")
STATS = ReviewStats(files=2, lines=40, tokens_scored=1200, seconds=2.0)
REVIEW = Review(findings=[ODD, PLAIN], skipped=[("logo.png", "binary")], stats=STATS,
                base="a" * 40, head="b" * 40)
EMPTY = Review(stats=ReviewStats(files=1, lines=3))
COMMAND = re.compile(r"^::(notice|warning|error) ((?:[A-Za-z]+=[^,:]*)(?:,[A-Za-z]+=[^,:]*)*)"
                     r"::(.*)$")


def unescape(value: str) -> str:
    return (value.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":")
            .replace("%2C", ",").replace("%25", "%"))


@pytest.mark.parametrize("review", [REVIEW, EMPTY], ids=["findings", "empty"])
def test_sarif_is_valid_against_the_official_schema(review: Review,
                                                    sarif_schema: dict[str, Any]) -> None:
    log = json.loads(sarif.render(review))
    jsonschema.Draft4Validator(sarif_schema).validate(log)
    results = log["runs"][0]["results"]
    assert len(results) == len(review.findings)
    if results:
        region = results[0]["locations"][0]["physicalLocation"]["region"]
        assert (region["startLine"], region["startColumn"], region["endColumn"]) == (7, 12, 18)
        assert results[0]["fixes"][0]["artifactChanges"][0]["replacements"][0][
            "insertedContent"]["text"] == ODD.suggestion
        assert set(results[0]["properties"]) == {"score", "delta"}


def test_the_schema_check_can_fail(sarif_schema: dict[str, Any]) -> None:
    log = json.loads(sarif.render(REVIEW))
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(sarif_schema).validate(log)


def test_github_commands_parse_and_escape_percent_colon_comma_newline() -> None:
    lines = github.render(REVIEW).splitlines()
    assert len(lines) == 2
    match = COMMAND.match(lines[0])
    assert match and match[1] == "error"
    props = dict(p.split("=", 1) for p in match[2].split(","))
    assert unescape(props["file"]) == ODD.path and props["line"] == "7"
    assert "\n" not in match[3] and unescape(match[3]) == ODD.message
    assert "%25" in match[3] and "%0A" in match[3]
    assert COMMAND.match(lines[1])[1] == "notice"


def test_github_writes_at_most_ten_annotations() -> None:
    many = Review(findings=[replace(PLAIN, line=n) for n in range(1, 25)])
    lines = github.render(many).splitlines()
    assert len(lines) == github.MAX_ANNOTATIONS
    assert [COMMAND.match(x)[2].split(",")[1] for x in lines[:2]] == ["line=1", "line=2"]


def test_rdjsonl_lines_carry_what_reviewdog_needs_for_a_suggested_change() -> None:
    rows = [json.loads(line) for line in rdjsonl.render(REVIEW).splitlines()]
    assert len(rows) == 2
    first = rows[0]
    assert first["location"]["path"] == ODD.path and first["severity"] == "ERROR"
    assert first["location"]["range"] == {"start": {"line": 7, "column": 12},
                                          "end": {"line": 7, "column": 18}}
    assert first["suggestions"] == [{"range": first["location"]["range"],
                                     "text": ODD.suggestion}]
    assert rdjsonl.render(EMPTY) == ""


def test_gitlab_fingerprints_survive_a_line_move_and_differ_by_content() -> None:
    [moved] = json.loads(gitlab.render(Review(findings=[replace(PLAIN, line=40)])))
    issues = json.loads(gitlab.render(REVIEW))
    assert issues[1]["fingerprint"] == moved["fingerprint"]
    assert issues[0]["fingerprint"] != issues[1]["fingerprint"]
    reindented = replace(PLAIN, line_text="if a < b:")
    assert json.loads(gitlab.render(Review(findings=[reindented])))[0]["fingerprint"] == (
        moved["fingerprint"])
    assert {"description", "check_name", "fingerprint", "severity", "location"} <= set(
        issues[0])
    assert issues[0]["location"] == {"path": ODD.path, "lines": {"begin": 7, "end": 7}}
    assert json.loads(gitlab.render(EMPTY)) == []


def test_text_summarises_and_says_when_there_is_nothing() -> None:
    out = text.render(REVIEW)
    assert "src/a,b:c.py:7:12: error:" in out
    assert "- for key in sorted(handle):" in out
    assert out.rstrip().endswith("2 findings in 2 files (40 changed lines, 1,200 tokens at "
                                 "600 tokens/s, 2.0 s); 1 files skipped")
    assert text.render(EMPTY).startswith("no findings in 1 file (3 changed lines")


def test_json_holds_every_field() -> None:
    data = json.loads(FORMATS["json"](REVIEW))
    assert data["base"] == "a" * 40 and data["skipped"] == [{"path": "logo.png",
                                                            "reason": "binary"}]
    assert data["findings"][0]["suggestion"] == ODD.suggestion
    assert data["findings"][0]["message"] == ODD.message
    assert data["stats"]["tokens_per_s"] == 600.0


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_no_format_adds_paths_or_text_that_are_not_in_the_review(name: str) -> None:
    out = FORMATS[name](REVIEW)
    assert "/tmp" not in out and "/home" not in out and "/root" not in out
    assert FORMATS[name](EMPTY) is not None
