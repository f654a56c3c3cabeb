"""The engine's op names pick the Triton kernel for CUDA tensors and the reference otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from autan import kernels
from autan.kernels import _triton


def test_cpu_tensors_never_take_the_triton_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even under the interpreter (as in these tests), serving on CPU uses the references."""
    assert not _triton.use_triton(torch.zeros(1))
    x = torch.randn(2, 8)
    w = torch.ones(8)
    assert torch.equal(kernels.rmsnorm(x, w, 1e-5), kernels.rmsnorm_ref(x, w, 1e-5))


@pytest.mark.parametrize("name", ["attention", "causal_conv1d", "gated_rmsnorm", "rmsnorm",
                                  "selective_scan", "selective_state_update", "ssd_chunk_scan",
                                  "ssd_state_update"])
@pytest.mark.parametrize("on_cuda", [False, True])
def test_each_name_routes_by_device(name: str, on_cuda: bool,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    op = getattr(kernels, name)
    assert op.ref is getattr(kernels, f"{name}_ref")
    assert op.fast.__module__ == op.ref.__module__ and op.fast.__name__ == name
    calls: list[tuple[str, tuple, dict]] = []
    monkeypatch.setattr(op, "fast", lambda *a, **k: calls.append(("fast", a, k)))
    monkeypatch.setattr(op, "ref", lambda *a, **k: calls.append(("ref", a, k)))
    monkeypatch.setattr(kernels, "use_triton", lambda t: on_cuda)
    first = torch.zeros(1)
    op(first, 1, key=2)
    assert calls == [("fast" if on_cuda else "ref", (first, 1), {"key": 2})]


def test_ref_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_triton, "HAVE_TRITON", True)

    class FakeCuda:
        is_cuda = True

    monkeypatch.setattr(_triton, "FORCE_REF", True)
    assert not _triton.use_triton(FakeCuda())  # type: ignore[arg-type]
    monkeypatch.setattr(_triton, "FORCE_REF", False)
    assert _triton.use_triton(FakeCuda())  # type: ignore[arg-type]


def test_the_override_is_read_from_the_environment() -> None:
    code = "from autan.kernels import _triton; print(_triton.FORCE_REF)"
    for value, expected in (("ref", "True"), ("", "False")):
        env = {**os.environ, "AUTAN_KERNELS": value}
        out = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True,
                             env=env, timeout=60).stdout.strip()
        assert out == expected
