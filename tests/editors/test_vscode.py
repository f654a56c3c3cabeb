"""The VS Code extension's tests, from the project's one test command (`pytest -q`).

In order: `npm ci` (only when `node_modules` is missing or `package-lock.json` or Node
changed since the last one: a stamp file in `node_modules`), the unit tests (`npm test`), the
package (`npm run package` writes `editors/vscode/autan.vsix`), the end-to-end tools
(`test/e2e/tools.sh`: Node 24, code-server, playwright-core, Debian's chromium; a no-op when
they are there), then the end-to-end tests in a real code-server with Node 24, the server
being the `autan` console script beside this Python. Nothing is skipped: a missing tool is a
failure that says what is missing. Each test shows the tail of its command's output when it
fails. Nothing is left running: the e2e harness kills what it started, and the last test
checks that no process of the e2e run is left.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
EXT = REPO / "editors" / "vscode"
E2E = EXT / "test" / "e2e"
E2E_TESTS = ("smoke.test.mjs", "harness.test.mjs", "autan.test.mjs")
STAMP = EXT / "node_modules" / ".autan-npm-ci-stamp"
TAIL = 6000  # characters of output shown on failure
NPM_CI_S, NPM_S, TOOLS_S, E2E_S = 600, 300, 900, 900
# Temporary paths of an e2e run (harness.mjs, autan.test.mjs): no process may name one after.
E2E_MARKERS = ("autan-e2e-ws-", "autan-e2e-profile-", "autan-e2e-chromium-", "autan-e2e-srv-")


def run(cmd: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> str:
    """Run `cmd` in its own process group; fail with the tail of its output unless it exits
    0. On a timeout the whole group is killed."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace", start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"{' '.join(cmd)} (in {cwd}) timed out after {timeout} s:\n{out[-TAIL:]}")
    finally:
        with_group_gone(proc.pid)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} (in {cwd}) exited {proc.returncode}:\n{out[-TAIL:]}")
    return out


def with_group_gone(pgid: int) -> None:
    """Kill what is left of a finished command's process group."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def npm() -> str:
    found = shutil.which("npm")
    if found is None:
        pytest.fail("npm is not on PATH: install Node 20+ with npm to build the VS Code extension")
    return found


def ci_stamp() -> str:
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=60)
    lock = hashlib.sha256((EXT / "package-lock.json").read_bytes()).hexdigest()
    return f"{lock} node {node.stdout.strip()}\n"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    """`npm ci`, unless the stamp says node_modules is from this lock file and Node."""
    want = ci_stamp()
    if not (STAMP.is_file() and STAMP.read_text() == want):
        run([npm(), "ci", "--no-audit", "--no-fund"], EXT, NPM_CI_S)
        STAMP.write_text(want)
    return EXT / "node_modules"


@pytest.fixture(scope="module")
def vsix(node_modules: Path) -> Path:
    run([npm(), "run", "package"], EXT, NPM_S)
    package = EXT / "autan.vsix"
    assert package.is_file(), f"npm run package did not write {package}"
    return package


@pytest.fixture(scope="module")
def e2e_env() -> dict[str, str]:
    """tools.sh, then its env.sh (AUTAN_E2E_NODE and the others) over this environment."""
    out = run(["bash", str(E2E / "tools.sh")], REPO, TOOLS_S)
    tools = {}
    for line in out.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("AUTAN_E2E_"):
            tools[key] = value
    node = tools.get("AUTAN_E2E_NODE", "")
    assert node and Path(node).is_file(), f"tools.sh printed no AUTAN_E2E_NODE:\n{out[-TAIL:]}"
    return {**os.environ, **tools}


def test_unit_tests(node_modules: Path) -> None:
    out = run([npm(), "test"], EXT, NPM_S)
    assert "# fail 0" in out, out[-TAIL:]


def test_package(vsix: Path) -> None:
    assert vsix.stat().st_size > 10_000


def test_e2e_tools(e2e_env: dict[str, str]) -> None:
    for key in ("AUTAN_E2E_NODE", "AUTAN_E2E_CODE_SERVER", "AUTAN_E2E_PLAYWRIGHT_CORE",
                "AUTAN_E2E_CHROMIUM"):
        assert Path(e2e_env.get(key, "")).exists(), f"{key}={e2e_env.get(key)} does not exist"


def test_e2e(vsix: Path, e2e_env: dict[str, str]) -> None:
    server = Path(sys.executable).parent / "autan"
    assert server.is_file(), f"no autan console script beside {sys.executable}"
    env = {**e2e_env, "AUTAN_E2E_SERVER": str(server), "AUTAN_E2E_VSIX": str(vsix)}
    # One file at a time: three code-servers at once are too much for 2 busy cores.
    run([e2e_env["AUTAN_E2E_NODE"], "--test", "--test-concurrency=1",
         *(str(E2E / name) for name in E2E_TESTS)], REPO, E2E_S, env)
    left = leftover_processes()
    assert not left, f"processes of the e2e run are still running: {left}"


def leftover_processes() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(marker in cmdline for marker in E2E_MARKERS):
            found.append(f"{entry.name}: {cmdline[:200]}")
    return found
