"""Triton RMSNorm and gated grouped RMSNorm against their references.

Tolerances: both sides normalise in fp32 and round once to the input dtype before the weight,
so they differ only by fp32 summation order (about 1e-6 relative) plus, in fp16, an occasional
one-ulp flip of the two roundings (2^-10 relative each). bf16 allows two full ulps (2^-6):
Triton's interpreter truncates fp32 to bf16 where the GPU and torch round to nearest, so each
of the two roundings may be off by up to one ulp (2^-7) there.
"""

from __future__ import annotations

import pytest
import torch

from autan.kernels.rmsnorm import gated_rmsnorm, gated_rmsnorm_ref, rmsnorm, rmsnorm_ref
from tests.kernels.helpers import KERNEL_DEVICES, assert_close

TOL = {torch.float32: (1e-5, 1e-5), torch.float16: (2e-3, 2e-3), torch.bfloat16: (1.6e-2, 1.6e-2)}
DTYPES = [torch.float32, torch.float16, torch.bfloat16]


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rows,dim,group_size", [(1, 64, 64), (7, 96, 24), (33, 128, 32)])
@pytest.mark.parametrize("gate,norm_before_gate", [(True, False), (True, True), (False, False)])
def test_gated_rmsnorm(device: str, dtype: torch.dtype, rows: int, dim: int, group_size: int,
                       gate: bool, norm_before_gate: bool) -> None:
    torch.manual_seed(rows * dim + group_size)
    x = torch.randn(2, rows, dim, device=device, dtype=dtype)
    z = torch.randn(2, rows, dim, device=device, dtype=dtype) if gate else None
    w = (1 + 0.5 * torch.randn(dim, device=device)).to(dtype)
    got = gated_rmsnorm(x, z, w, 1e-5, group_size, norm_before_gate)
    want = gated_rmsnorm_ref(x, z, w, 1e-5, group_size, norm_before_gate)
    assert got.dtype == want.dtype
    assert_close(got, want, *TOL[dtype], name="gated_rmsnorm")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gated_rmsnorm_fp32_input_bf16_weight(device: str, dtype: torch.dtype) -> None:
    """Mamba-2 feeds the fp32 scan output with a model-dtype gate and weight."""
    torch.manual_seed(3)
    x = torch.randn(5, 64, device=device)
    z = torch.randn(5, 64, device=device, dtype=dtype)
    w = torch.randn(64, device=device, dtype=dtype)
    got = gated_rmsnorm(x, z, w, 1e-6, 16)
    want = gated_rmsnorm_ref(x, z, w, 1e-6, 16)
    assert got.dtype == want.dtype == torch.float32
    assert_close(got, want, *TOL[torch.float32], name="gated_rmsnorm fp32 x")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1, 64), (3, 5, 80), (2, 200)])
def test_rmsnorm(device: str, dtype: torch.dtype, shape: tuple[int, ...]) -> None:
    torch.manual_seed(sum(shape))
    x = torch.randn(*shape, device=device, dtype=dtype) * 3
    w = torch.randn(shape[-1], device=device, dtype=dtype)
    assert_close(rmsnorm(x, w, 1e-5), rmsnorm_ref(x, w, 1e-5), *TOL[dtype], name="rmsnorm")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_gated_rmsnorm_real_shape(device: str) -> None:
    """Codestral Mamba's norm: d_inner 8192 in 8 groups of 1024; Bamba's single 8192 group."""
    if device == "cpu":
        pytest.skip("real shapes run compiled on CUDA; the interpreter gets the small ones")
    torch.manual_seed(0)
    x = torch.randn(4, 8192, device=device)
    z = torch.randn(4, 8192, device=device, dtype=torch.bfloat16)
    w = torch.randn(8192, device=device, dtype=torch.bfloat16)
    for group in (1024, 8192):
        assert_close(gated_rmsnorm(x, z, w, 1e-5, group), gated_rmsnorm_ref(x, z, w, 1e-5, group),
                     *TOL[torch.float32], name=f"gated_rmsnorm group {group}")
