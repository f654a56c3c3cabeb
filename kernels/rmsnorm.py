"""RMSNorm and the gated, grouped RMSNorm that Mamba-2 applies before its output projection.

One Triton kernel serves both: each program normalises one group of channels of a block of
rows, with the SiLU gate applied before or after the norm. Plain RMSNorm is the case of no gate
and a single group.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from autan.kernels._triton import require_triton, tl, triton


@triton.jit
def _gated_rmsnorm_kernel(
    # Pointers
    x_ptr, gate_ptr, weight_ptr, out_ptr,
    # Dimensions
    n_rows, group_size, eps,
    # Strides (rows are contiguous in the last axis)
    stride_x_row, stride_gate_row, stride_out_row,
    # Meta-parameters
    HAS_GATE: tl.constexpr, NORM_BEFORE_GATE: tl.constexpr,
    ROWS: tl.constexpr, BLOCK_N: tl.constexpr,
):
    rows = tl.program_id(0) * ROWS + tl.arange(0, ROWS)
    cols = tl.program_id(1) * group_size + tl.arange(0, BLOCK_N)
    col_ok = tl.arange(0, BLOCK_N) < group_size
    mask = (rows[:, None] < n_rows) & col_ok[None, :]
    x = tl.load(x_ptr + rows[:, None] * stride_x_row + cols[None, :], mask=mask,
                other=0.0).to(tl.float32)
    if HAS_GATE:
        g = tl.load(gate_ptr + rows[:, None] * stride_gate_row + cols[None, :], mask=mask,
                    other=0.0).to(tl.float32)
        silu_g = g * tl.sigmoid(g)
        if not NORM_BEFORE_GATE:
            x = x * silu_g
    mean_sq = tl.sum(x * x, axis=1) / group_size
    x = x * (1.0 / tl.sqrt(mean_sq + eps))[:, None]
    if HAS_GATE and NORM_BEFORE_GATE:
        x = x * silu_g
    # Round to the input's dtype before the weight, as the reference (and the checkpoints'
    # training code) does; the product is then rounded to the output dtype.
    x = x.to(x_ptr.dtype.element_ty).to(tl.float32)
    w = tl.load(weight_ptr + cols, mask=col_ok, other=0.0).to(tl.float32)
    tl.store(out_ptr + rows[:, None] * stride_out_row + cols[None, :],
             (x * w[None, :]).to(out_ptr.dtype.element_ty), mask=mask)


def _gated_rmsnorm_fwd(
    x: torch.Tensor, gate: torch.Tensor | None, weight: torch.Tensor, eps: float,
    group_size: int, norm_before_gate: bool,
) -> torch.Tensor:
    require_triton()
    dim = x.shape[-1]
    if dim % group_size:
        raise ValueError(f"dim {dim} is not a multiple of group_size {group_size}")
    x2 = x.reshape(-1, dim).contiguous()
    gate2 = None if gate is None else gate.reshape(-1, dim).contiguous()
    out = torch.empty(x2.shape, dtype=torch.promote_types(x.dtype, weight.dtype),
                      device=x.device)
    block_n = triton.next_power_of_2(group_size)
    # Enough rows per program that a small group still moves a few KB per program; one row
    # when the group alone fills the registers (Codestral Mamba: 1024 channels).
    rows = max(1, min(16, 2048 // block_n))
    grid = (triton.cdiv(x2.shape[0], rows), dim // group_size)
    _gated_rmsnorm_kernel[grid](
        x2, x2 if gate2 is None else gate2, weight, out,
        x2.shape[0], group_size, eps,
        x2.stride(0), 0 if gate2 is None else gate2.stride(0), out.stride(0),
        HAS_GATE=gate2 is not None, NORM_BEFORE_GATE=norm_before_gate,
        ROWS=rows, BLOCK_N=block_n,
        num_warps=4 if block_n <= 1024 else 8,
    )
    return out.view(x.shape)


def rmsnorm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """Triton twin of `rmsnorm_ref` (same arguments and result)."""
    return _gated_rmsnorm_fwd(x, None, weight, eps, x.shape[-1], norm_before_gate=False)


def rmsnorm_ref(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """Root-mean-square norm over the last axis, computed in fp32.

    Args:
        x: (..., dim)
        weight: (dim,)
    Returns:
        (..., dim): `weight * normalised(x)`, normalised in fp32 and cast back to x's dtype
        before the weight, as the reference checkpoints were trained.
    """
    x32 = x.float()
    normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
    return weight * normed.to(x.dtype)


def gated_rmsnorm(
    x: torch.Tensor,
    gate: torch.Tensor | None,
    weight: torch.Tensor,
    eps: float,
    group_size: int,
    norm_before_gate: bool = False,
) -> torch.Tensor:
    """Triton twin of `gated_rmsnorm_ref` (same arguments and result)."""
    return _gated_rmsnorm_fwd(x, gate, weight, eps, group_size, norm_before_gate)


def gated_rmsnorm_ref(
    x: torch.Tensor,
    gate: torch.Tensor | None,
    weight: torch.Tensor,
    eps: float,
    group_size: int,
    norm_before_gate: bool = False,
) -> torch.Tensor:
    """RMSNorm per group of `group_size` channels, multiplied by `silu(gate)`.

    Codestral Mamba has n_groups = 8, so each group of 1024 channels is normalised on its own
    (normalising across all 8192 channels gives different, wrong outputs).

    Args:
        x: (..., dim)
        gate: (..., dim) or None.
        weight: (dim,)
        group_size: channels per normalisation group; `dim` must be a multiple of it.
        norm_before_gate: False (Mamba-2's choice) gates first, then normalises.
    Returns:
        (..., dim) in x's dtype.
    """
    dtype = x.dtype
    x32 = x.float()
    if gate is not None and not norm_before_gate:
        x32 = x32 * F.silu(gate.float())
    *lead, dim = x32.shape
    grouped = x32.view(*lead, dim // group_size, group_size)
    grouped = grouped * torch.rsqrt(grouped.pow(2).mean(-1, keepdim=True) + eps)
    x32 = grouped.view(*lead, dim)
    if gate is not None and norm_before_gate:
        x32 = x32 * F.silu(gate.float())
    return weight * x32.to(dtype)
