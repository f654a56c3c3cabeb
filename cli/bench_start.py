"""`autan bench start`: a first `autan complete` (a new engine each time) beside the same
request on an engine already running, each phase's median and their ratio.

Every run is a fresh `autan complete --json` process, as a user's first run is. The cold
runs find no engine and start their own; the warm runs find one serving the model on its
socket. That engine keeps no prefix states (`--cache-mib 0`), so both sides compute the same
prompt and the ratio is the price of the start alone. One untimed run first builds the
index and warms the OS file cache (weights, torch's libraries): what is measured is the
start of a process, not the first read of a disk. Runs live in a temporary folder with
their own XDG_CACHE_HOME and XDG_RUNTIME_DIR, so no engine of the user's is touched.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from autan.cli.common import ExitCode, UsageError
from autan.cli.complete import TIMING_KEYS
from autan.indexer.budget import CONTEXT_DEFAULTS

PHASES = ("wall", *TIMING_KEYS)  # wall: the whole process, as the user waits for it
STARTING_LINE = "starting the engine"
ENGINE_WAIT_S = 300.0  # torch and a model on a busy 2-core machine


@dataclass(frozen=True)
class StartBenchDefaults:
    runs: int = 5
    budget: int = CONTEXT_DEFAULTS.budget
    max_tokens: int = 16
    device: str = "cpu"  # the first-run case; pass cuda to measure a GPU machine


@dataclass
class Side:
    """The runs of one side (cold or warm): each run's phases in ms."""

    runs: list[dict[str, float]] = field(default_factory=list)
    announced: int = 0  # runs that printed the starting-the-engine line
    prompt_tokens: int = 0

    def median(self, phase: str) -> float:
        return statistics.median(r[phase] for r in self.runs)


def add_parser(group: argparse._SubParsersAction) -> None:
    d = StartBenchDefaults()
    p = group.add_parser("start", help="cold start of `autan complete` (new engine) versus "
                         "the same request on a running engine",
                         description="Fresh `autan complete --json` processes: cold ones "
                         "start their own engine, warm ones use an engine already running "
                         "(without a prefix cache). Prints each phase's median, the "
                         "cold/warm ratio and the hardware.")
    p.add_argument("--runs", type=int, default=d.runs, help=f"runs per side (default: {d.runs})")
    p.add_argument("--location", metavar="FILE:LINE:COL",
                   help="the request (default: autan's indexer/files.py:20:1, copied to a "
                   "temporary repository)")
    p.add_argument("--model", type=Path, help="model folder (default: the default model)")
    p.add_argument("--device", default=d.device, help=f"cpu, cuda (default: {d.device})")
    p.add_argument("--budget", type=int, default=d.budget,
                   help=f"context budget in tokens (default: {d.budget})")
    p.add_argument("--max-tokens", type=int, default=d.max_tokens,
                   help=f"tokens to generate at most (default: {d.max_tokens})")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    from autan.model.io.demo import default_or_demo

    if args.runs < 1:
        raise UsageError(f"--runs {args.runs}: must be positive")
    model = (args.model or default_or_demo()).resolve()
    with tempfile.TemporaryDirectory(prefix="autan-", dir=short_tmp()) as tmp:
        env = {**os.environ, "XDG_CACHE_HOME": f"{tmp}/cache", "XDG_RUNTIME_DIR": f"{tmp}/run"}
        location = args.location or default_location(Path(tmp))
        command = [sys.executable, "-P", "-m", "autan.cli", "complete", location, "--json",
                   "--model", str(model), "--device", args.device, "--budget",
                   str(args.budget), "--max-tokens", str(args.max_tokens)]
        one_run(command, env)  # untimed: the index, the OS file cache
        cold = measure(command, env, args.runs)
        with running_engine(model, args.device, env, Path(tmp) / "engine.log"):
            one_run(command, env)  # untimed: its first request pays one-off costs
            warm = measure(command, env, args.runs)
    report(args, model, location, cold, warm)
    return ExitCode.OK


def short_tmp() -> str | None:
    """/tmp when it exists: a Unix socket path must stay under ~100 bytes, and $TMPDIR may be
    long (macOS)."""
    return "/tmp" if Path("/tmp").is_dir() else None


def default_location(tmp: Path) -> str:
    """A cursor in a copy of autan's own indexer sources: real code, the same on every
    machine, in a repository of its own (so the run indexes a few files, not a home)."""
    import autan.indexer

    repo = tmp / "repo"
    shutil.copytree(Path(autan.indexer.__file__).parent, repo / "indexer",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (repo / ".git").mkdir()  # marks the repository root for `find_root`
    return f"{repo / 'indexer' / 'files.py'}:20:1"


def one_run(command: list[str], env: dict[str, str]) -> tuple[dict[str, float], str, int]:
    """One `autan complete --json`: its phases (with `wall`), its stderr, its prompt size."""
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    wall_ms = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise UsageError(f"autan complete failed ({done.returncode}): "
                         f"{done.stderr.strip()[-500:]}")
    out = json.loads(done.stdout)
    return {"wall": wall_ms, **out["timings_ms"]}, done.stderr, int(out["prompt_tokens"])


def measure(command: list[str], env: dict[str, str], runs: int) -> Side:
    side = Side()
    for _ in range(runs):
        phases, stderr, side.prompt_tokens = one_run(command, env)
        side.runs.append(phases)
        side.announced += STARTING_LINE in stderr
    return side


@contextmanager
def running_engine(model: Path, device: str, env: dict[str, str],
                   log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`autan engine` on the socket `autan complete` looks for, without a prefix cache."""
    from autan.wire.protocol import default_socket_path

    socket = default_socket_path(model, env)
    args = [sys.executable, "-P", "-m", "autan.cli", "engine", "--socket", str(socket),
            "--model", str(model), "--device", device, "--cache-mib", "0"]
    with open(log, "ab") as sink:
        proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=sink)
    try:
        wait_for_socket(proc, socket, log)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for_socket(proc: subprocess.Popen[bytes], socket: Path, log: Path) -> None:
    """Until the engine listens (it opens its socket once the model is loaded)."""
    deadline = time.monotonic() + ENGINE_WAIT_S
    while not socket.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise UsageError(f"autan engine did not start: "
                             f"{log.read_text(errors='replace').strip()[-500:]}")
        time.sleep(0.1)


def hardware() -> str:
    """The CPU model and core count (torch-free: this process never loads the model)."""
    try:
        lines = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = names[0] if names else (platform.processor() or platform.machine())
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def ratio(cold: float, warm: float) -> float | None:
    # Under 10 ms (a load that did not happen, a connect): a ratio would only measure noise.
    return cold / warm if warm >= 10.0 else None


def report(args: argparse.Namespace, model: Path, location: str, cold: Side,
           warm: Side) -> None:
    medians = {p: (cold.median(p), warm.median(p)) for p in PHASES}
    if args.json:
        print(json.dumps({"hardware": hardware(), "model": str(model), "device": args.device,
                          "location": location, "runs": args.runs,
                          "prompt_tokens": cold.prompt_tokens,
                          "announced": {"cold": cold.announced, "warm": warm.announced},
                          "cold": {p: c for p, (c, _) in medians.items()},
                          "warm": {p: w for p, (_, w) in medians.items()},
                          "ratio": {p: ratio(c, w) for p, (c, w) in medians.items()}}))
        return
    from autan.model.io.default_model import model_name

    print(f"# autan bench start: {hardware()}, device {args.device}")
    print(f"{model_name(model)}, {cold.prompt_tokens:,} prompt tokens, {args.runs} runs per side; "
          f"'{STARTING_LINE}' printed by {cold.announced}/{args.runs} cold and "
          f"{warm.announced}/{args.runs} warm runs")
    print("| phase | cold median ms | warm median ms | cold / warm |")
    print("|---|---:|---:|---:|")
    for phase, (c, w) in medians.items():
        r = ratio(c, w)
        print(f"| {phase} | {c:,.0f} | {w:,.0f} | {'—' if r is None else f'{r:.2f}x'} |")
