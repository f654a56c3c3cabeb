"""The wheel holds every subpackage and data file, and runs from an unpacked copy of itself.

The source folders sit at the repository root (`model/`, `server/`, ...) and are mapped to
`autan.*` by pyproject.toml; a folder missing from that mapping would work in the editable
checkout and silently vanish from the wheel. These tests read the mapping from pyproject.toml,
check that it covers every folder with Python files, build the wheel and prove it holds them.
"""

from __future__ import annotations

import fnmatch
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Root folders with Python files that are not part of the package, on purpose: the test suite,
# and the editor clients' own scripts and fixtures (shipped with each editor's client).
NOT_PACKAGED = frozenset({"tests", "editors"})
# Whatever a build or a virtualenv leaves at the root (hidden folders are skipped as well).
BUILD_OUTPUTS = frozenset({"build", "dist", "__pycache__"})


def setuptools_config(root: Path) -> dict[str, Any]:
    return tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]


def package_map(root: Path) -> dict[str, str]:
    """Each package pyproject.toml installs -> its source folder, relative to `root`.

    setuptools' rule: a package without a `package-dir` entry lives in the folder of its
    nearest mapped parent package, one subfolder per further name part."""
    config = setuptools_config(root)
    dirs: dict[str, str] = config.get("package-dir", {})
    folders: dict[str, str] = {}
    for package in config["packages"]:
        parent, tail = package, []
        while parent not in dirs and "." in parent:
            parent, _, last = parent.rpartition(".")
            tail.insert(0, last)
        base = dirs.get(parent, dirs.get("", "") + "/" + parent.replace(".", "/"))
        folders[package] = "/".join(part for part in [base.strip("/"), *tail] if part)
    return folders


def unpackaged_folders(root: Path) -> set[str]:
    """Folders under `root` that hold Python files but no installed package maps to."""
    packaged = set(package_map(root).values())
    found: set[str] = set()
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).parts
        if parts[0] in NOT_PACKAGED or any(
                p.startswith(".") or p in BUILD_OUTPUTS or p.endswith(".egg-info")
                for p in parts[:-1]):
            continue
        folder = "/".join(parts[:-1])
        if folder not in packaged:
            found.add(folder or ".")
    return found


def test_every_folder_with_python_files_is_a_package() -> None:
    assert not unpackaged_folders(ROOT), (
        "folders missing from [tool.setuptools] packages / package-dir in pyproject.toml "
        f"(or from NOT_PACKAGED here): {sorted(unpackaged_folders(ROOT))}")


def test_a_folder_missing_from_pyproject_is_reported(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.setuptools]\npackages = ["autan.model", "autan.model.io"]\n'
        '[tool.setuptools.package-dir]\n"autan.model" = "model"\n')
    for file in ("model/a.py", "model/io/b.py", "model/extra/c.py", "newpkg/d.py", "top.py",
                 "tests/test_x.py", ".venv/lib/site.py", "model/__pycache__/e.py"):
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file).write_text("")
    assert package_map(tmp_path) == {"autan.model": "model", "autan.model.io": "model/io"}
    assert unpackaged_folders(tmp_path) == {"model/extra", "newpkg", "."}


def wheel_files(root: Path) -> set[str]:
    """Every file the wheel must carry, as its path inside the wheel: each package's Python
    files and the package data pyproject.toml declares for it."""
    data: dict[str, list[str]] = setuptools_config(root).get("package-data", {})
    expected: set[str] = set()
    for package, folder in package_map(root).items():
        patterns = ["*.py", *data.get(package, [])]
        for path in (root / folder).iterdir():
            if path.is_file() and any(fnmatch.fnmatch(path.name, p) for p in patterns):
                expected.add(f"{package.replace('.', '/')}/{path.name}")
    return expected


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


def test_wheel_holds_every_source_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = wheel_files(ROOT)
    assert "autan/indexer/queries/python-identifiers.scm" in expected  # data is counted too
    missing = expected - names
    assert not missing, f"missing from the wheel: {sorted(missing)}"
    tops = {n.split("/")[0] for n in names}
    bare = {t for t in tops if t != "autan" and not t.endswith(".dist-info")}
    assert not bare, f"bare top-level names in site-packages: {sorted(bare)}"


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
