"""The `autan` command's contracts: score and generate JSON, bench output, and bad input
answered with one line naming the file, exit code 2 and no traceback unless --debug."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autan.model.io.demo import make_demo_checkpoint


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_checkpoint(tmp_path_factory.mktemp("demo"))


def autan(*args: str, cache: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if cache is not None:
        env["XDG_CACHE_HOME"] = str(cache)
    return subprocess.run([sys.executable, "-P", "-m", "autan.cli", *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_score_json_contract(model_dir: Path) -> None:
    result = autan("score", "--model", str(model_dir), "--text", "def add(a, b):", "--json")
    assert result.returncode == 0, result.stderr
    tokens = json.loads(result.stdout)["tokens"]
    assert tokens[0]["logprob"] is None
    assert all(t["logprob"] <= 0 and math.isfinite(t["logprob"]) for t in tokens[1:])
    assert "".join(t["text"] for t in tokens) == "def add(a, b):"
    assert all(isinstance(t["id"], int) for t in tokens)


def test_generate_json_ends_with_the_summary(model_dir: Path) -> None:
    result = autan("generate", "--model", str(model_dir), "--prompt", "def add(a, b):",
                   "--max-tokens", "8", "--json")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    summary = lines[-1]
    assert set(summary) == {"text", "prompt_tokens", "cached_tokens", "ttft_ms", "tokens_per_s",
                            "load_ms"}
    assert summary["text"] == "".join(line["delta"] for line in lines[:-1])
    assert summary["prompt_tokens"] > 0 and summary["cached_tokens"] == 0
    assert summary["load_ms"] > 0
    assert result.stderr == ""  # JSON mode: stdout says it all


def test_generate_says_what_the_first_wait_is_for(tmp_path: Path) -> None:
    """The bundled model: a line before loading, the load time in the closing line."""
    result = autan("generate", "--prompt", "x = ", "--max-tokens", "2", cache=tmp_path)
    assert result.returncode == 0, result.stderr
    first, *_, last = result.stderr.strip().splitlines()
    assert first.startswith("autan: loading "), result.stderr
    assert last.startswith("[loaded in ") and "prompt tokens" in last, result.stderr


def test_generate_without_model_uses_the_bundled_model(tmp_path: Path) -> None:
    from autan.model.io.default_model import default_model_dir

    result = autan("generate", "--prompt", "x = ", "--max-tokens", "4", "--json",
                   cache=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["prompt_tokens"] > 0
    demo_made = (tmp_path / "autan" / "demo-model" / "model.safetensors").exists()
    assert demo_made == (default_model_dir() is None)  # the demo only stands in for it


def test_bench_engine_reports_cold_and_cached(tmp_path: Path) -> None:
    result = autan("bench", "engine", "--shapes", "tiny-mamba2", "--prefixes", "256",
                   "--prefill-tokens", "128", "--device", "cpu", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    (prefix,) = report["results"][0]["prefixes"]
    assert prefix["prefix_tokens"] == 256 and prefix["computed_cached"] == 16
    assert prefix["cold_ms"] > 0 and prefix["cached_ms"] > 0


def test_bench_kernels_smoke_run_reports_every_op_and_its_peer() -> None:
    """The kernel benchmark's code path at tiny shapes under the interpreter (timings unused)."""
    pytest.importorskip("triton")
    result = autan("bench", "kernels", "--smoke", "--ops", "ssd,attention,gated", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    ops = [row["op"] for row in report["rows"]]
    assert ops == ["ssd_chunk_scan", "ssd_state_update", "gated_rmsnorm", "attention prefill",
                   "attention decode"]
    assert all(row["ms"] > 0 and row["peer"] for row in report["rows"])
    assert report["peaks"]["copy_gb_s"] > 0 and report["peaks"]["matmul_tflop_s"] > 0


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the no-GPU error")
def test_bench_kernels_without_a_gpu_is_a_clear_error() -> None:
    result = bad_input("bench", "kernels")
    assert "needs a CUDA GPU" in result.stderr


def bad_input(*args: str) -> subprocess.CompletedProcess:
    result = autan(*args)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return result


def test_missing_model_folder(tmp_path: Path) -> None:
    result = bad_input("score", "--model", str(tmp_path / "nope"), "--text", "x")
    assert str(tmp_path / "nope") in result.stderr and "no such model folder" in result.stderr


def test_pickle_checkpoint_refused(tmp_path: Path, model_dir: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_bytes((model_dir / "config.json").read_bytes())
    (folder / "pytorch_model.bin").write_bytes(b"\x80\x04K\x01.")
    result = bad_input("generate", "--model", str(folder), "--prompt", "x")
    assert "pytorch_model.bin" in result.stderr and "pickle" in result.stderr


def test_corrupt_weights(tmp_path: Path, model_dir: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json"):
        (folder / name).write_bytes((model_dir / name).read_bytes())
    data = (model_dir / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 3])
    result = bad_input("score", "--model", str(folder), "--text", "x")
    assert "model.safetensors" in result.stderr


def test_missing_text_file(model_dir: Path, tmp_path: Path) -> None:
    result = bad_input("score", "--model", str(model_dir), "--file", str(tmp_path / "a.py"))
    assert "a.py: no such file" in result.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = autan("--debug", "score", "--model", str(tmp_path / "nope"), "--text", "x")
    assert result.returncode == 2 and "Traceback" in result.stderr


@pytest.mark.parametrize("command", [[], ["score"], ["generate"], ["bench"], ["bench", "engine"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = autan(*command, "--help")
    assert result.returncode == 0 and "usage: autan" in result.stdout
