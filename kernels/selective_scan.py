"""Mamba-1's selective scan: per-channel diagonal state with input-dependent dt, B and C.

    state_t = exp(dt_t * A) * state_{t-1} + dt_t * B_t * x_t      state: (dim, dstate)
    y_t     = state_t @ C_t + D * x_t, then gated by silu(z_t)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _discretize(dt: torch.Tensor, dt_bias: torch.Tensor | None, softplus: bool) -> torch.Tensor:
    dt = dt.float()
    if dt_bias is not None:
        dt = dt + dt_bias.float()
    return F.softplus(dt) if softplus else dt


def selective_scan_ref(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    z: torch.Tensor | None = None,
    dt_bias: torch.Tensor | None = None,
    dt_softplus: bool = True,
    initial_state: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequential selective scan from `initial_state`; the slow, obviously-right form.

    Args:
        x: (batch, dim, seqlen)
        dt: (batch, dim, seqlen) before bias and softplus.
        A: (dim, dstate) negative (`-exp(A_log)`).
        B: (batch, dstate, seqlen)
        C: (batch, dstate, seqlen)
        D: (dim,) or None.
        z: (batch, dim, seqlen) gate, or None.
        dt_bias: (dim,) or None.
        initial_state: (batch, dim, dstate) fp32, or None for zeros.
    Returns:
        y: (batch, dim, seqlen) fp32,
        final_state: (batch, dim, dstate) fp32.
    """
    batch, dim, seqlen = x.shape
    dt = _discretize(dt, None if dt_bias is None else dt_bias[:, None], dt_softplus)
    x32, B32, C32 = x.float(), B.float(), C.float()
    decay = torch.exp(dt[..., None] * A.float()[None, :, None, :])  # (batch, dim, seqlen, dstate)
    inputs = (dt * x32)[..., None] * B32.transpose(1, 2)[:, None]  # (batch, dim, seqlen, dstate)
    state = (
        initial_state.float()
        if initial_state is not None
        else x32.new_zeros(batch, dim, A.shape[-1])
    )
    ys = []
    for t in range(seqlen):
        state = decay[:, :, t] * state + inputs[:, :, t]
        ys.append(torch.einsum("bdn,bn->bd", state, C32[:, :, t]))
    y = torch.stack(ys, dim=-1)
    if D is not None:
        y = y + x32 * D.float()[:, None]
    if z is not None:
        y = y * F.silu(z.float())
    return y, state


def selective_state_update_ref(
    state: torch.Tensor,
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    z: torch.Tensor | None = None,
    dt_bias: torch.Tensor | None = None,
    dt_softplus: bool = True,
) -> torch.Tensor:
    """One decode step of the selective scan, updating `state` in place.

    Args:
        state: (batch, dim, dstate) fp32.
        x: (batch, dim)
        dt: (batch, dim) before bias and softplus.
        A: (dim, dstate)
        B: (batch, dstate)
        C: (batch, dstate)
        D: (dim,) or None.
        z: (batch, dim) or None.
        dt_bias: (dim,) or None.
    Returns:
        y: (batch, dim) fp32.
    """
    dt = _discretize(dt, dt_bias, dt_softplus)
    new_state = state.float() * torch.exp(dt[..., None] * A.float()) + (
        (dt * x.float())[..., None] * B.float()[:, None, :]
    )
    state.copy_(new_state)
    y = (new_state @ C.float()[:, :, None])[..., 0]  # (batch, dim)
    if D is not None:
        y = y + x.float() * D.float()
    if z is not None:
        y = y * F.silu(z.float())
    return y
