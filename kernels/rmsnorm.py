"""RMSNorm and the gated, grouped RMSNorm that Mamba-2 applies before its output projection."""

from __future__ import annotations

import torch
import torch.nn.functional as F


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
