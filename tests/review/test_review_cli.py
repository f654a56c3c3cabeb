"""`autan review` end to end on temporary git repositories, with the bundled model.

The planted bug: a config reader that stores `valeu.strip()` (a misspelt name) where
`value.strip()` belongs. The bundled model, greedy in fp32 on CPU, gains about 33 nats by
putting another name there; the clean file's best alternative gains under 7. `--threshold 8`
sits between, so the test does not move when the default threshold is recalibrated.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from autan.cli.main import main
from tests.review.gitrepo import Repo

pytestmark = pytest.mark.slow

CLEAN = '''import os


def read_config(path):
    """Read a key=value file into a dict."""
    result = {}
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, _, value = line.partition("=")
            result[key.strip()] = value.strip()
    return result


def write_config(path, values):
    with open(path, "w") as handle:
        for key in sorted(values):
            handle.write(f"{key}={values[key]}\\n")


def merge_configs(first, second):
    merged = dict(first)
    for key, value in second.items():
        if key not in merged:
            merged[key] = value
    return merged


def config_paths(folder):
    paths = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".cfg"):
            paths.append(os.path.join(folder, name))
    return paths
'''
PLANTED = CLEAN.replace("= value.strip()", "= valeu.strip()")
PLANTED_LINE = 13  # 1-based
SECRET = "ghp_" + "Zq8xW2vB7nM4kL9pR3tY6uI1oP5aS0dF2gH8"
THRESHOLD = ["--threshold", "8"]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("GITHUB_EVENT_PATH", "GITHUB_BASE_REF", "CI_MERGE_REQUEST_DIFF_BASE_SHA"):
        monkeypatch.delenv(name, raising=False)
    r = Repo(tmp_path / "repo")
    r.commit({"README.md": "# tools\n", "util.py": "def unused():\n    return 1\n"}, "base")
    r.git("checkout", "-q", "-b", "feature")
    return r


def review(repo: Repo, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["review", "--repo", str(repo.root), "--quiet", *args])
    out, err = capsys.readouterr()
    return int(code), out, err


def test_the_planted_bug_is_found_and_nothing_outside_the_diff(
        repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    repo.commit({"config.py": PLANTED})
    code, out, _ = review(repo, capsys, "--format", "json", "--fail-on", "note", *THRESHOLD)
    report = json.loads(out)
    lines = [f["line"] for f in report["findings"]]
    assert lines and lines[0] == PLANTED_LINE, report["findings"]
    assert code == 1  # a finding at or above --fail-on
    changed = set(range(4, 37))  # the whole file is new
    assert all(f["path"] == "config.py" and f["line"] in changed for f in report["findings"])


def test_the_clean_version_gets_no_finding(repo: Repo,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    repo.commit({"config.py": CLEAN})
    code, out, _ = review(repo, capsys, "--format", "json", "--fail-on", "note", *THRESHOLD)
    assert json.loads(out)["findings"] == [] and code == 0


def test_every_format_renders_the_planted_finding_and_never_the_secret(
        repo: Repo, capsys: pytest.CaptureFixture[str], sarif_schema: dict) -> None:
    import jsonschema

    repo.commit({"config.py": PLANTED + f'\n\nAPI_TOKEN = "{SECRET}"\n'})
    outputs = {}
    for fmt in ("sarif", "github", "rdjsonl", "gitlab", "text", "json"):
        code, out, err = review(repo, capsys, "--format", fmt, "--fail-on", "none", *THRESHOLD)
        assert code == 0, err
        assert SECRET not in out and SECRET not in err
        outputs[fmt] = out
    sarif = json.loads(outputs["sarif"])
    jsonschema.Draft4Validator(sarif_schema).validate(sarif)
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"]
            for r in sarif["runs"][0]["results"]][:1] == [PLANTED_LINE]
    assert re.match(rf"::\w+ file=config\.py,line={PLANTED_LINE},", outputs["github"])
    first = json.loads(outputs["rdjsonl"].splitlines()[0])
    assert first["location"]["range"]["start"]["line"] == PLANTED_LINE
    assert json.loads(outputs["gitlab"])[0]["location"]["lines"]["begin"] == PLANTED_LINE
    assert f"config.py:{PLANTED_LINE}:" in outputs["text"]


def test_an_empty_diff_and_a_binary_only_diff_succeed_quietly(
        repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = review(repo, capsys, "--format", "json")
    assert code == 0 and err == "" and json.loads(out)["findings"] == []
    repo.commit({"logo.png": b"\x89PNG\r\n\x1a\n\0\0\0"})
    code, out, err = review(repo, capsys, "--format", "json")
    report = json.loads(out)
    assert code == 0 and err == "" and report["findings"] == []
    assert report["skipped"] == [{"path": "logo.png", "reason": "binary"}]
    # quiet even without --quiet: no model loads, nothing is said
    assert main(["review", "--repo", str(repo.root), "--format", "text"]) == 0
    assert capsys.readouterr().err == ""


def test_a_bad_ref_fails_with_one_line_and_exit_code_2(
        repo: Repo, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = review(repo, capsys, "--base", "no-such-branch")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "no-such-branch: not a revision" in err
    assert "Traceback" not in err


def test_the_report_goes_to_output_and_a_bad_output_path_is_bad_input(
        repo: Repo, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    repo.commit({"config.py": PLANTED})
    target = tmp_path / "autan.sarif"
    code, out, _ = review(repo, capsys, "--format", "sarif", "--output", str(target),
                          *THRESHOLD)
    # the planted bug gains over three thresholds: an error, so exit code 1
    assert code == 1 and out == "" and json.loads(target.read_text())["version"] == "2.1.0"
    code, _, err = review(repo, capsys, "--output", str(tmp_path / "no" / "dir" / "x.txt"))
    assert code == 2 and "cannot write the report" in err
