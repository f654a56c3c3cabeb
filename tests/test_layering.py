"""Dependencies point one way (see ARCHITECTURE.md): server -> indexer, model; review ->
indexer, model; model -> kernels; cli -> anything; nothing imports server, review or cli; the
engine never imports the test oracle (transformers) or LSP libraries; the indexer imports no
torch. Checked on the source text with `ast`, so an import hidden inside a function counts
too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "kernels": {"autan.model", "autan.indexer", "autan.server", "autan.review", "autan.cli",
                "transformers", "pygls", "lsprotocol"},
    "model": {"autan.indexer", "autan.server", "autan.review", "autan.cli", "transformers",
              "pygls", "lsprotocol", "pickle"},
    "indexer": {"autan.model", "autan.kernels", "autan.server", "autan.review", "autan.cli",
                "torch", "pygls", "lsprotocol", "transformers"},
    "server": {"autan.review", "autan.cli", "transformers"},
    "review": {"autan.server", "autan.cli", "transformers", "pygls", "lsprotocol"},
    "cli": {"transformers"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def violates(module: str, forbidden: set[str]) -> bool:
    return any(module == f or module.startswith(f + ".") for f in forbidden)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_point_one_way(package: str) -> None:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for module in imported_modules(path):
            if violates(module, FORBIDDEN[package]):
                bad.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not bad, "\n".join(bad)


def test_no_unpickling_anywhere_in_the_engine() -> None:
    """Weights come from safetensors only: no torch.load, no pickle in model/ or kernels/."""
    for package in ("model", "kernels"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert "torch.load(" not in text and "pickle.load" not in text, path


def test_the_lsp_process_never_loads_torch() -> None:
    """The model runs in the engine process; the language server must start fast and never
    stall on a model step, so importing it must not import torch."""
    import subprocess
    import sys

    code = ("import sys, autan.server.lsp, autan.server.completion, autan.server.backend, "
            "autan.cli.lsp, autan.cli.main; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
