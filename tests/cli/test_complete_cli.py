"""`autan complete`'s contracts around the engine's start: stdout holds only the JSON (or the
text), a run that starts its engine says so on stderr in one line and a run that finds one
running says nothing, the engine's token counts arrive, and the phase timings are present,
non-negative and nested in `total` (consistency only: no timing is compared to a number).

Fixtures: a demo checkpoint (random weights, real tokenizer) and a two-file repository; each
test has its own XDG_CACHE_HOME and XDG_RUNTIME_DIR, so no engine of the user's is seen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autan.cli.complete import TIMING_KEYS, on_device
from autan.model.io.default_model import model_name
from autan.model.io.demo import make_demo_checkpoint
from autan.wire.protocol import default_socket_path

STARTING = "autan: starting the engine"
SLACK_MS = 5.0  # two processes' clocks round separately; phases may touch at their ends
ENGINE_WAIT_S = 240.0  # torch and the model on a busy 2-core CI machine


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_checkpoint(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    """Its own cache and runtime folders, short enough for a Unix socket path."""
    with tempfile.TemporaryDirectory(prefix="autan-", dir="/tmp") as tmp:
        yield {**os.environ, "XDG_CACHE_HOME": f"{tmp}/cache", "XDG_RUNTIME_DIR": f"{tmp}/run"}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / "util.py").write_text("def scale(x, k):\n    return x * k\n")
    (tmp_path / "app.py").write_text("from util import scale\n\n\ndef double(x):\n"
                                     "    return \n")
    return tmp_path


def complete(repo: Path, model: Path, env: dict[str, str],
             *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-P", "-m", "autan.cli", "complete",
                           f"{repo / 'app.py'}:5:12", "--model", str(model), "--device", "cpu",
                           "--max-tokens", "8", *extra], env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_a_cold_run_announces_the_engine_and_reports_every_phase(
        repo: Path, model_dir: Path, env: dict[str, str]) -> None:
    result = complete(repo, model_dir, env, "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)  # the whole of stdout is the JSON
    assert result.stdout.count("\n") == 1
    starting = [line for line in result.stderr.splitlines() if line.startswith(STARTING)]
    assert starting == [f"{STARTING} (model {model_name(model_dir)})…"], result.stderr
    assert out["prompt_tokens"] > 0 and out["cached_tokens"] == 0
    t = out["timings_ms"]
    assert tuple(t) == TIMING_KEYS
    assert all(isinstance(v, float | int) and v >= 0 for v in t.values()), t
    assert t["engine_start"] > 0 and t["prefill"] > 0 and t["ttft"] > 0
    assert t["load"] <= t["engine_start"] + SLACK_MS, t  # the load happens inside the start
    assert t["engine_start"] + t["prefill"] <= t["total"] + SLACK_MS, t  # hello, then prefill
    assert t["context"] + t["ttft"] <= t["total"] + SLACK_MS, t
    assert t["prefill"] + t["decode"] <= t["total"] + SLACK_MS, t


@pytest.mark.slow
def test_stdout_without_json_is_the_completion_text_alone(
        repo: Path, model_dir: Path, env: dict[str, str]) -> None:
    as_json = complete(repo, model_dir, env, "--json")
    as_text = complete(repo, model_dir, env)
    assert as_json.returncode == 0 and as_text.returncode == 0, as_text.stderr
    assert as_text.stdout == json.loads(as_json.stdout)["text"] + "\n"  # greedy: the same
    assert STARTING in as_text.stderr


@pytest.mark.slow
def test_a_running_engine_is_used_silently(repo: Path, model_dir: Path,
                                           env: dict[str, str]) -> None:
    socket = default_socket_path(model_dir, env)
    engine = subprocess.Popen([sys.executable, "-P", "-m", "autan.cli", "engine", "--socket",
                               str(socket), "--model", str(model_dir), "--device", "cpu"],
                              env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + ENGINE_WAIT_S
        while not socket.exists():  # the socket opens once the model is loaded
            assert engine.poll() is None and time.monotonic() < deadline, "engine did not start"
            time.sleep(0.1)
        result = complete(repo, model_dir, env, "--json")
        assert result.returncode == 0, result.stderr
        assert STARTING not in result.stderr
        out = json.loads(result.stdout)
        assert out["prompt_tokens"] > 0
        assert out["timings_ms"]["load"] == 0  # nobody waited for a load
        assert engine.poll() is None  # the shared engine outlives the command
    finally:
        engine.terminate()
        engine.wait(30)


def test_a_running_engine_on_another_device_is_not_used() -> None:
    assert on_device("cpu", "auto") and on_device("cuda:0", "auto")
    assert on_device("cpu", "cpu") and on_device("cuda:0", "cuda")
    assert on_device("cuda:1", "cuda:1")
    assert not on_device("cuda:0", "cpu") and not on_device("cpu", "cuda")
    assert not on_device("cuda:0", "cuda:1")
