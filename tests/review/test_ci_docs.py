"""The CI files in docs/ci: valid for GitHub and GitLab (their published schemas, as
check-jsonschema vendors them), pinned actions, and `autan review` lines that autan's own
parser accepts."""

from __future__ import annotations

import json
import shlex
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from autan.cli.main import build_parser

DOCS = Path(__file__).resolve().parents[2] / "docs"
FILES = {"github-review.yml": "github-workflows.json", "gitlab-review.yml": "gitlab-ci.json"}


def load_yaml(path: Path) -> Any:
    """YAML 1.2, as both CI systems read it (YAML 1.1 would turn the key `on` into True)."""
    return json.loads(json.dumps(YAML(typ="safe").load(path.read_text(encoding="utf-8"))))


def vendored_schema(name: str) -> dict[str, Any]:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads((vendor / name).read_text(encoding="utf-8"))


def scripts(node: Any) -> list[str]:
    """Every shell script in a workflow or job: `run:` values and `script:` lines."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "run" and isinstance(value, str):
                found.append(value)
            elif key == "script" and isinstance(value, list):
                found += [v for v in value if isinstance(v, str)]
            else:
                found += scripts(value)
    elif isinstance(node, list):
        for item in node:
            found += scripts(item)
    return found


def review_commands(script: str) -> list[list[str]]:
    joined = script.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        for part in line.split("|"):
            words = shlex.split(part)
            if words[:2] == ["autan", "review"]:
                commands.append(words[1:])
    return commands


@pytest.mark.parametrize(("name", "schema"), sorted(FILES.items()))
def test_ci_file_is_valid_for_its_ci_system(name: str, schema: str) -> None:
    document = load_yaml(DOCS / "ci" / name)
    validator = jsonschema.Draft7Validator(vendored_schema(schema))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
    assert not errors, "\n".join(errors)


def test_the_schema_check_can_fail() -> None:
    document = load_yaml(DOCS / "ci" / "github-review.yml")
    document["jobz"] = document.pop("jobs")  # a misspelt key: no jobs, an unknown property
    assert list(jsonschema.Draft7Validator(vendored_schema(FILES["github-review.yml"]))
                .iter_errors(document))


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_autan_review_line_parses(name: str) -> None:
    commands = [c for s in scripts(load_yaml(DOCS / "ci" / name)) for c in review_commands(s)]
    assert commands, f"{name} runs no autan review"
    parser = build_parser()
    for args in commands:
        parsed = parser.parse_args(args)
        assert parsed.command == "review" and parsed.fail_on == "none"


def test_every_action_is_pinned_to_a_version() -> None:
    workflow = load_yaml(DOCS / "ci" / "github-review.yml")
    uses = [step["uses"] for job in workflow["jobs"].values() for step in job["steps"]
            if "uses" in step]
    assert uses and all("@v" in u for u in uses), uses
    assert "github/codeql-action/upload-sarif@v3" in uses


def test_the_docs_link_both_files_and_list_every_format() -> None:
    text = (DOCS / "ci.md").read_text(encoding="utf-8")
    assert "ci/github-review.yml" in text and "ci/gitlab-review.yml" in text
    from autan.review.formats import FORMATS

    assert all(f"`{name}`" in text for name in FORMATS)
