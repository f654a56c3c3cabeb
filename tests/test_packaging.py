"""The wheel holds every subpackage and data file, and runs from an unpacked copy of itself.

The source folders sit at the repository root (`model/`, `server/`, ...) and are mapped to
`autan.*` by pyproject.toml; a folder missing from that mapping would work in the editable
checkout and silently vanish from the wheel. This test builds the wheel and proves otherwise.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"cli": "autan/cli", "model": "autan/model", "kernels": "autan/kernels",
            "indexer": "autan/indexer", "server": "autan/server"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-P", "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        check=True, capture_output=True, text=True,
    )
    (found,) = out.glob("autan-*.whl")
    return found


def source_files() -> set[str]:
    """Every file the wheel must carry, as its path inside the wheel."""
    expected = set()
    for folder, target in PACKAGES.items():
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".json", ".scm") and (
                "__pycache__" not in path.parts
            ):
                expected.add(f"{target}/{path.relative_to(ROOT / folder).as_posix()}")
    return expected


def test_wheel_holds_every_source_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = source_files() - names
    assert not missing, f"missing from the wheel: {sorted(missing)}"
    assert not any(n.split("/")[0] in PACKAGES for n in names), "bare top-level package"


def test_wheel_runs_from_an_unpacked_copy(wheel: Path, tmp_path: Path) -> None:
    zipfile.ZipFile(wheel).extractall(tmp_path)
    code = ("import autan.cli.main, autan.model.io.loader, autan.kernels, autan.indexer, "
            "autan.server, autan.model.archs as a; "
            "print(autan.model.io.loader.__file__); print(len(a.ADAPTERS))")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True,
                            env=env, cwd=tmp_path, check=True)
    loader_file, adapters = result.stdout.split()
    assert loader_file.startswith(str(tmp_path)), loader_file
    assert int(adapters) >= 3
    help_text = subprocess.run([sys.executable, "-P", "-m", "autan.cli", "--help"], env=env,
                               cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert "generate" in help_text and "score" in help_text
