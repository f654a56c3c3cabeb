"""No folder shadows an installed package: not the repository's, not the user's workspace's.

`kernels/` at the root is also the name of Hugging Face's `kernels`, which transformers imports
when it is installed, and `model/`, `server/` or `cli/` are common names too. The folders
install only as `autan.*`, and no process of ours puts the repository root or its working
folder on sys.path: pytest runs as `.venv/bin/pytest` with `--import-mode=importlib`, the
`autan` console script starts from its own folder, and every Python child process (the engine
above all, started in the user's workspace) starts with `-P`.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autan.model.io.demo import make_demo_checkpoint

ROOT = Path(__file__).resolve().parent.parent
# Every folder at the root that Python could import by its bare name. `tests` is left out:
# pytest itself imports the suite as the package `tests`, from its files.
TOP_LEVEL = sorted(p.name for p in ROOT.iterdir()
                   if p.is_dir() and p.name.isidentifier() and p.name != "tests")
# The transformers modules the parity tests use as oracles; importing them imports
# `transformers.activations`, which imports `kernels` when Hugging Face's package is installed.
ORACLES = ("transformers.models.mamba2.modeling_mamba2",
           "transformers.models.bamba.modeling_bamba",
           "transformers.models.falcon_h1.modeling_falcon_h1")
# Names the engine imports: a workspace folder with one of these names must not replace it.
ENGINE_DEPENDENCIES = ("torch", "tokenizers", "safetensors", "msgpack", "kernels", "model")


def inside(path: str | os.PathLike[str], folder: Path) -> bool:
    return Path(path or os.getcwd()).resolve().is_relative_to(folder)


def test_the_repository_root_is_not_on_sys_path() -> None:
    entries = [e for e in sys.path if Path(e or os.getcwd()).resolve() == ROOT]
    assert not entries, ("the repository root is on sys.path, where its folders shadow "
                         "installed packages: run the suite as `.venv/bin/pytest`, not "
                         "`python -m pytest`, which adds the working folder")


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_no_root_folder_is_importable_by_its_bare_name(name: str) -> None:
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    locations = [spec.origin] if spec.origin else list(spec.submodule_search_locations or ())
    # The folder itself, not the root: a `.venv/` inside the checkout holds the real packages.
    assert not any(inside(place, ROOT / name) for place in locations), (
        f"`import {name}` -> {locations}")


def test_import_kernels_finds_hugging_face_kernels_in_site_packages() -> None:
    import kernels

    installed = Path(importlib.metadata.distribution("kernels").locate_file("")).resolve()
    assert inside(kernels.__file__, installed), kernels.__file__
    assert not inside(kernels.__file__, ROOT / "kernels"), kernels.__file__


@pytest.mark.parametrize("module", ORACLES)
def test_transformers_modeling_modules_import(module: str) -> None:
    importlib.import_module(module)


@pytest.fixture
def poisoned_workspace(tmp_path: Path) -> Path:
    """A workspace with a folder named after each engine dependency, which fails if imported."""
    workspace = tmp_path / "workspace"
    for name in ENGINE_DEPENDENCIES:
        (workspace / name).mkdir(parents=True)
        (workspace / name / "__init__.py").write_text(
            f"raise ImportError('{name} was imported from the working folder')\n")
    (workspace / "app.py").write_text("def add(a, b):\n    return \n")
    return workspace


@pytest.mark.slow
def test_the_cli_and_its_engine_ignore_folders_in_the_working_folder(
        poisoned_workspace: Path, tmp_path: Path) -> None:
    """`autan complete` starts the engine in the user's folder: both must import the real
    torch, tokenizers and the rest, not the workspace's folders of the same names."""
    model = make_demo_checkpoint(tmp_path / "model")
    autan = Path(sys.executable).with_name("autan")  # the console script, as a user runs it
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = subprocess.run([str(autan), "complete", "app.py:2:12", "--model", str(model),
                             "--device", "cpu", "--max-tokens", "4", "--json"],
                            cwd=poisoned_workspace, env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "imported from the working folder" not in result.stderr
    assert "text" in json.loads(result.stdout.splitlines()[-1])
