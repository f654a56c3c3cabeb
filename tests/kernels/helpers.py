"""Shared pieces of the kernel tests.

Every Triton op is tested on each device it can run on: CPU under Triton's interpreter at small
shapes (CI), and CUDA, compiled, at small and real model shapes when a GPU is present.
"""

from __future__ import annotations

import math

import pytest
import torch

from autan.kernels._triton import HAVE_TRITON, interpreting

needs_triton = pytest.mark.skipif(not HAVE_TRITON, reason="Triton is not installed")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

# The devices a Triton op is tested on: the interpreter needs CPU tensors, compiled kernels CUDA.
KERNEL_DEVICES = [
    pytest.param("cpu", marks=[needs_triton, pytest.mark.skipif(
        not interpreting(), reason="CPU runs need TRITON_INTERPRET=1")]),
    pytest.param("cuda", marks=[needs_triton, needs_cuda]),
]


def max_diff(got: torch.Tensor, want: torch.Tensor) -> float:
    """Largest absolute difference, in fp32; NaN anywhere counts as infinitely wrong."""
    diff = (got.float() - want.float()).abs()
    return math.inf if diff.isnan().any() else float(diff.max()) if diff.numel() else 0.0


def assert_close(got: torch.Tensor, want: torch.Tensor, rtol: float, atol: float,
                 name: str) -> None:
    """`|got - want| <= atol + rtol * |want|` everywhere, with the max difference printed."""
    assert got.shape == want.shape, f"{name}: shape {tuple(got.shape)} != {tuple(want.shape)}"
    print(f"{name}: max abs diff {max_diff(got, want):.3g}")
    assert not got.isnan().any(), f"{name}: NaN in output (an element was never written)"
    torch.testing.assert_close(got.float(), want.float(), rtol=rtol, atol=atol,
                               msg=lambda m: f"{name}: {m}")
