"""Dependencies point one way (see ARCHITECTURE.md): kernels and wire at the bottom; model ->
kernels, wire; indexer -> nothing of ours; server (the LSP process) -> indexer, wire and the
torch-free parts of model; engine_process -> model, wire; review, train -> indexer, model;
bench -> any of those; cli -> anything; nothing imports the application layers but cli (and
bench). The engine never imports the test oracle (transformers) or LSP libraries; neither the
indexer nor the LSP process imports torch. Checked on the source text with `ast`, so an
import hidden inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

APP = {"autan.server", "autan.engine_process", "autan.review", "autan.train", "autan.bench",
       "autan.cli"}  # the layers above the engine and the indexer: nothing below imports them
LSP = {"pygls", "lsprotocol"}
FORBIDDEN = {
    "kernels": {"autan.model", "autan.indexer", "autan.wire", *APP, "transformers", *LSP},
    "wire": {"autan.model", "autan.kernels", "autan.indexer", *APP, "torch", *LSP},
    "model": {"autan.indexer", *APP, "transformers", *LSP, "pickle"},
    "indexer": {"autan.model", "autan.kernels", "autan.wire", *APP, "torch", *LSP,
                "transformers"},
    # The LSP process: it reaches the model only through the engine process.
    "server": {*APP - {"autan.server"}, "torch", "autan.kernels", "transformers"},
    "engine_process": {*APP - {"autan.engine_process"}, "autan.indexer", "transformers", *LSP},
    "review": {*APP - {"autan.review"}, "transformers", *LSP},
    "train": {*APP - {"autan.train"}, "transformers", *LSP},
    "bench": {"autan.cli", "autan.review", "autan.train", "transformers"},
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
            "autan.server.remote, autan.wire.protocol, autan.cli.lsp, autan.cli.main; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
