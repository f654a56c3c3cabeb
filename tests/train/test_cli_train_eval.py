"""`autan train` and `autan eval` through the real command line, on folders made here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autan.model.io.loader import load_model
from tests.train.fixtures import make_docs, write_folder


def autan(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run([sys.executable, "-P", "-m", "autan.cli", *args], capture_output=True,
                          text=True, env=env, timeout=600)


@pytest.mark.slow
def test_train_then_eval(tmp_path: Path) -> None:
    docs = make_docs(packages=3, files=4)
    write_folder(tmp_path / "src", docs)
    out = tmp_path / "model"
    args = ["train", "--out", str(out), "--no-stdlib", "--no-site", "--shape", "tiny-hybrid",
            "--steps", "4", "--batch-size", "2", "--seq-len", "64", "--vocab-size", "300",
            "--eval-batches", "0", "--log-every", "2", "--threads", "1"]
    for p in ("pkg0", "pkg1"):
        args += ["--corpus", str(tmp_path / "src" / p)]
    result = autan(*args)
    assert result.returncode == 0, result.stderr
    assert "step 4/4" in result.stderr and "tok/s" in result.stderr
    for name in ("config.json", "model.safetensors", "tokenizer.json", "MODEL_CARD.md",
                 "train_log.jsonl", "train_state/state.json", "data/docs.jsonl.gz"):
        assert (out / name).is_file(), name
    card = (out / "MODEL_CARD.md").read_text()
    assert "| pkg0 |" in card and "user-supplied" in card and "tokens trained" in card
    load_model(out)
    report = tmp_path / "eval.json"
    result = autan("eval", "--model", str(out), "--corpus", str(tmp_path / "src" / "pkg2"),
                   "--tasks", "2", "--budgets", "0,256", "--ppl-files", "2", "--card",
                   "--json", str(report), "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert "| none |" in result.stdout and "Lift from 256 context" in result.stdout
    data = json.loads(report.read_text())
    assert set(data["fim"]) == {"0", "256"} and data["packages"] == ["pkg2"]
    assert "Lift from 256 context" in (out / "MODEL_CARD.md").read_text()


def test_bad_input_is_one_line(tmp_path: Path) -> None:
    result = autan("train", "--out", str(tmp_path / "m"), "--data", str(tmp_path / "none"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("autan: error:") and "--prepare-only" in result.stderr
    result = autan("eval", "--model", str(tmp_path), "--corpus", str(tmp_path / "nope"))
    assert result.returncode == 2 and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["train", "eval"])
def test_standalone_entry_points_follow_the_cli_error_convention(tmp_path: Path,
                                                                 command: str) -> None:
    """`python -m autan.cli.train|eval` (for machines without the rest of the CLI) answer bad
    input as `autan` does: one line and exit code 2, the traceback only with --debug."""
    args = (["--out", str(tmp_path / "m"), "--data", str(tmp_path / "none")] if command == "train"
            else ["--model", str(tmp_path), "--corpus", str(tmp_path / "nope")])
    for debug in ([], ["--debug"]):
        result = subprocess.run([sys.executable, "-P", "-m", f"autan.cli.{command}", *args,
                                 *debug], capture_output=True, text=True, timeout=300)
        assert result.returncode == 2, result.stderr
        assert ("Traceback" in result.stderr) == bool(debug)
        assert result.stderr.strip().splitlines()[-1].startswith("autan: error:")
