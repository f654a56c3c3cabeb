"""One decode step of Mamba-2's SSD recurrence (the prefill is `ssd_scan.py`).

Per head h, with scalar decay `a = exp(dt * A_h)`:
    state = a * state + dt * outer(x, B)        state: (headdim, dstate), fp32
    y     = state @ C + D_h * x
The Triton kernel is memory-bound: each program reads its state tile once and writes it once.
"""

from __future__ import annotations

import torch

from autan.kernels._triton import require_triton, tl, triton
from autan.kernels.ssd_scan import (
    NO_LIMIT,
    DtLimit,
    _heads_per_group,
    _tl_discretize_dt,
    discretize_dt,
)


@triton.jit
def _ssd_state_update_kernel(
    # Pointers
    state_ptr, x_ptr, dt_ptr, dt_bias_ptr, A_ptr, B_ptr, C_ptr, D_ptr, y_ptr,
    # Dimensions
    headdim, dstate, heads_per_group, dt_min, dt_max,
    # Strides (y is contiguous in headdim)
    stride_s_b, stride_s_h, stride_s_p, stride_s_n,
    stride_x_b, stride_x_h, stride_x_p,
    stride_dt_b, stride_dt_h,
    stride_B_b, stride_B_g, stride_B_n,
    stride_C_b, stride_C_g, stride_C_n,
    stride_y_b, stride_y_h,
    # Meta-parameters
    HAS_D: tl.constexpr, HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr,
    BLOCK_P: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """One program reads and writes its (BLOCK_P, dstate) tile of the state exactly once."""
    offs_p = tl.program_id(0) * BLOCK_P + tl.arange(0, BLOCK_P)
    pid_b = tl.program_id(1).to(tl.int64)
    pid_h = tl.program_id(2).to(tl.int64)
    offs_n = tl.arange(0, BLOCK_N)
    p_ok, n_ok = offs_p < headdim, offs_n < dstate
    mask = p_ok[:, None] & n_ok[None, :]
    state_ptr += (pid_b * stride_s_b + pid_h * stride_s_h + offs_p[:, None] * stride_s_p
                  + offs_n[None, :] * stride_s_n)
    state = tl.load(state_ptr, mask=mask, other=0.0).to(tl.float32)
    x = tl.load(x_ptr + pid_b * stride_x_b + pid_h * stride_x_h + offs_p * stride_x_p,
                mask=p_ok, other=0.0).to(tl.float32)
    dt = tl.load(dt_ptr + pid_b * stride_dt_b + pid_h * stride_dt_h).to(tl.float32)
    if HAS_BIAS:
        dt += tl.load(dt_bias_ptr + pid_h).to(tl.float32)
    dt = _tl_discretize_dt(dt, dt_min, dt_max, SOFTPLUS)
    decay = tl.exp(dt * tl.load(A_ptr + pid_h).to(tl.float32))
    group = pid_h // heads_per_group
    b = tl.load(B_ptr + pid_b * stride_B_b + group * stride_B_g + offs_n * stride_B_n,
                mask=n_ok, other=0.0).to(tl.float32)
    c = tl.load(C_ptr + pid_b * stride_C_b + group * stride_C_g + offs_n * stride_C_n,
                mask=n_ok, other=0.0).to(tl.float32)
    state = state * decay + (dt * x)[:, None] * b[None, :]
    tl.store(state_ptr, state, mask=mask)
    y = tl.sum(state * c[None, :], axis=1)
    if HAS_D:
        y += tl.load(D_ptr + pid_h).to(tl.float32) * x
    tl.store(y_ptr + pid_b * stride_y_b + pid_h * stride_y_h + offs_p, y, mask=p_ok)


# Launchers. x, dt, B, C and the decode state are read through their strides (the model passes
# views of one projection, and the state is updated in place); the small per-head vectors and
# the initial state are made contiguous, a copy at most one state in size.
# Block sizes are hand-picked for Codestral Mamba (chunk 256, headdim 64, dstate 128), not
# autotuned: they are the mamba-ssm choices at that shape, and every dot dimension stays >= 16.


def _ssd_state_update_fwd(
    state: torch.Tensor, x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
    C: torch.Tensor, D: torch.Tensor | None, dt_bias: torch.Tensor | None, dt_softplus: bool,
    dt_limit: DtLimit,
) -> torch.Tensor:
    require_triton()
    if state.dtype != torch.float32:
        raise TypeError(f"the SSD state must be fp32, got {state.dtype}")
    batch, nheads, headdim = x.shape
    dstate = B.shape[-1]
    y = torch.empty(batch, nheads, headdim, dtype=torch.float32, device=x.device)
    block_n = triton.next_power_of_2(dstate)
    # 2048-value (8 KiB) state tiles: at Codestral's shape (64 x 128 per head) that is 512
    # programs per batch row, about four per H100 SM, enough loads in flight to near HBM speed.
    block_p = min(triton.next_power_of_2(headdim), max(1, 2048 // block_n))
    bias = None if dt_bias is None else dt_bias.contiguous()
    _ssd_state_update_kernel[(triton.cdiv(headdim, block_p), batch, nheads)](
        state, x, dt, x if bias is None else bias, A.contiguous(), B, C,
        x if D is None else D.contiguous(), y,
        headdim, dstate, _heads_per_group(nheads, B.shape[1]),
        float(dt_limit[0]), float(dt_limit[1]),
        *state.stride(), *x.stride(), *dt.stride(), *B.stride(), *C.stride(), *y.stride()[:2],
        HAS_D=D is not None, HAS_BIAS=bias is not None, SOFTPLUS=dt_softplus,
        BLOCK_P=block_p, BLOCK_N=block_n,
        num_warps=4,  # 16 values per thread: memory-bound, more warps add nothing
    )
    return y


def ssd_state_update(
    state: torch.Tensor, x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
    C: torch.Tensor, D: torch.Tensor | None = None, dt_bias: torch.Tensor | None = None,
    dt_softplus: bool = True, dt_limit: DtLimit = NO_LIMIT,
) -> torch.Tensor:
    """Triton twin of `ssd_state_update_ref` (same arguments and result; updates `state`)."""
    return _ssd_state_update_fwd(state, x, dt, A, B, C, D, dt_bias, dt_softplus, dt_limit)


def ssd_state_update_ref(
    state: torch.Tensor,
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    dt_bias: torch.Tensor | None = None,
    dt_softplus: bool = True,
    dt_limit: DtLimit = NO_LIMIT,
) -> torch.Tensor:
    """One decode step of the SSD recurrence, updating `state` in place.

    Args:
        state: (batch, nheads, headdim, dstate) fp32.
        x: (batch, nheads, headdim)
        dt: (batch, nheads) before bias and softplus.
        A: (nheads,)
        B: (batch, ngroups, dstate)
        C: (batch, ngroups, dstate)
        D: (nheads,) or None.
        dt_bias: (nheads,) or None.
    Returns:
        y: (batch, nheads, headdim) fp32.
    """
    heads_per_group = x.shape[1] // B.shape[1]
    dt = discretize_dt(dt, dt_bias, dt_softplus, dt_limit)  # (batch, nheads)
    B = B.float().repeat_interleave(heads_per_group, dim=1)  # (batch, nheads, dstate)
    C = C.float().repeat_interleave(heads_per_group, dim=1)
    decay = torch.exp(dt * A.float())[..., None, None]
    new_state = state.float() * decay + (dt[..., None] * x.float())[..., None] * B[:, :, None, :]
    state.copy_(new_state)
    y = (new_state @ C[..., None])[..., 0]  # (batch, nheads, headdim)
    if D is not None:
        y = y + x.float() * D.float()[:, None]
    return y
