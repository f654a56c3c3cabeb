"""Mamba-1's selective scan: per-channel diagonal state with input-dependent dt, B and C.

    state_t = exp(dt_t * A) * state_{t-1} + dt_t * B_t * x_t      state: (dim, dstate)
    y_t     = state_t @ C_t + D * x_t, then gated by silu(z_t)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from autan.kernels._triton import require_triton, softplus, tl, triton


@triton.jit
def _tl_discretize_dt(dt, bias, DT_SOFTPLUS: tl.constexpr):
    """fp32 dt plus bias, through softplus when asked; the Triton twin of `discretize_dt`."""
    dt = dt + bias
    if DT_SOFTPLUS:
        dt = softplus(dt)
    return dt


@triton.jit
def _compose_steps(decay_a, input_a, decay_b, input_b):
    """Step a then step b of `h -> decay * h + input` as one step of the same form."""
    return decay_a * decay_b, decay_b * input_a + input_b


@triton.jit
def _selective_scan_kernel(
    # Pointers
    x_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, dt_bias_ptr, init_ptr, y_ptr, final_ptr,
    # Dimensions
    dim, dstate, seqlen,
    # Strides
    stride_x_b, stride_x_d, stride_x_t,
    stride_dt_b, stride_dt_d, stride_dt_t,
    stride_A_d, stride_A_n,
    stride_B_b, stride_B_n, stride_B_t,
    stride_C_b, stride_C_n, stride_C_t,
    stride_z_b, stride_z_d, stride_z_t,
    stride_init_b, stride_init_d, stride_init_n,
    stride_y_b, stride_y_d, stride_y_t,
    stride_final_b, stride_final_d, stride_final_n,
    # Meta-parameters
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_DT_BIAS: tl.constexpr,
    HAS_INIT: tl.constexpr, DT_SOFTPLUS: tl.constexpr,
    BLOCK_D: tl.constexpr, BLOCK_T: tl.constexpr, BLOCK_N: tl.constexpr,
):
    # One program owns BLOCK_D channels of one sequence and walks the whole sequence, BLOCK_T
    # steps at a time: each chunk's inputs are loaded as tiles up front (so the loads overlap
    # instead of paying one memory latency per step), the chunk's steps are composed by a
    # parallel scan, and the state entering the chunk is applied to all of them at once.
    # Offsets are int64: batch * seqlen * channels passes 2^31 at 256K tokens.
    pid_b = tl.program_id(1).to(tl.int64)
    offs_d = tl.program_id(0).to(tl.int64) * BLOCK_D + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    offs_t = tl.arange(0, BLOCK_T)
    d_ok = offs_d < dim
    n_ok = offs_n < dstate
    dn_ok = d_ok[:, None] & n_ok[None, :]
    # Padded states (n >= dstate) get A = 0 and B = C = 0: they stay 0 and add nothing to y.
    # A is pre-scaled by log2(e) so each decay is one exp2 (the GPU's exp is an exp2 anyway):
    # a multiply saved per (channel, step, state). A literal, as kernels read no globals.
    A = tl.load(A_ptr + offs_d[:, None] * stride_A_d + offs_n[None, :] * stride_A_n,
                mask=dn_ok, other=0.0).to(tl.float32) * 1.4426950408889634
    bias = tl.zeros((BLOCK_D,), dtype=tl.float32)
    if HAS_DT_BIAS:
        bias = tl.load(dt_bias_ptr + offs_d, mask=d_ok, other=0.0).to(tl.float32)
    if HAS_D:
        skip = tl.load(D_ptr + offs_d, mask=d_ok, other=0.0).to(tl.float32)
    state = tl.zeros((BLOCK_D, BLOCK_N), dtype=tl.float32)
    if HAS_INIT:
        state = tl.load(init_ptr + pid_b * stride_init_b + offs_d[:, None] * stride_init_d
                        + offs_n[None, :] * stride_init_n, mask=dn_ok, other=0.0).to(tl.float32)
    x_rows = x_ptr + pid_b * stride_x_b + offs_d[:, None] * stride_x_d
    dt_rows = dt_ptr + pid_b * stride_dt_b + offs_d[:, None] * stride_dt_d
    z_rows = z_ptr + pid_b * stride_z_b + offs_d[:, None] * stride_z_d
    y_rows = y_ptr + pid_b * stride_y_b + offs_d[:, None] * stride_y_d
    B_cols = B_ptr + pid_b * stride_B_b + offs_n[None, :] * stride_B_n
    C_cols = C_ptr + pid_b * stride_C_b + offs_n[None, :] * stride_C_n
    is_last = (offs_t == BLOCK_T - 1)[None, :, None]
    for t0 in range(0, seqlen, BLOCK_T):
        t = (t0 + offs_t).to(tl.int64)
        t_ok = t < seqlen
        dt_ok = d_ok[:, None] & t_ok[None, :]
        tn_ok = t_ok[:, None] & n_ok[None, :]
        x = tl.load(x_rows + t[None, :] * stride_x_t, mask=dt_ok, other=0.0).to(tl.float32)
        dt = tl.load(dt_rows + t[None, :] * stride_dt_t, mask=dt_ok, other=0.0).to(tl.float32)
        # Steps past the end get dt = 0: decay 1 and input 0 leave the state as it was, so the
        # chunk's last column is the state after the sequence's last real step.
        dt = tl.where(dt_ok, _tl_discretize_dt(dt, bias[:, None], DT_SOFTPLUS), 0.0)
        B = tl.load(B_cols + t[:, None] * stride_B_t, mask=tn_ok, other=0.0).to(tl.float32)
        C = tl.load(C_cols + t[:, None] * stride_C_t, mask=tn_ok, other=0.0).to(tl.float32)
        decay = tl.exp2(dt[:, :, None] * A[:, None, :])  # (BLOCK_D, BLOCK_T, BLOCK_N)
        inputs = (dt * x)[:, :, None] * B[None, :, :]
        decay, inputs = tl.associative_scan((decay, inputs), 1, _compose_steps)
        h = decay * state[:, None, :] + inputs
        y = tl.sum(h * C[None, :, :], axis=2)  # (BLOCK_D, BLOCK_T)
        state = tl.sum(tl.where(is_last, h, 0.0), axis=1)
        if HAS_D:
            y += x * skip[:, None]
        if HAS_Z:
            z = tl.load(z_rows + t[None, :] * stride_z_t, mask=dt_ok, other=0.0).to(tl.float32)
            y *= z * tl.sigmoid(z)
        tl.store(y_rows + t[None, :] * stride_y_t, y, mask=dt_ok)
    tl.store(final_ptr + pid_b * stride_final_b + offs_d[:, None] * stride_final_d
             + offs_n[None, :] * stride_final_n, state, mask=dn_ok)


def _channels_last_like(x: torch.Tensor) -> torch.Tensor:
    """An fp32 (batch, dim, seqlen) output laid out like `x`: channel-contiguous when `x` is.

    The model hands in `(batch, seqlen, dim)` activations transposed, and transposes the result
    back; matching that layout keeps the stores coalesced and the model's transpose free.
    """
    batch, dim, seqlen = x.shape
    if x.stride(1) == 1:
        return torch.empty(batch, seqlen, dim, dtype=torch.float32,
                           device=x.device).transpose(1, 2)
    return torch.empty(batch, dim, seqlen, dtype=torch.float32, device=x.device)


def _selective_scan_fwd(
    x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
    D: torch.Tensor | None, z: torch.Tensor | None, dt_bias: torch.Tensor | None,
    dt_softplus: bool, initial_state: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    require_triton()
    batch, dim, seqlen = x.shape
    dstate = A.shape[-1]
    # Strided views are read in place (the model passes transposed activations): every tensor's
    # strides go to the kernel, so nothing is copied.
    y = _channels_last_like(x)
    final = torch.empty(batch, dim, dstate, dtype=torch.float32, device=x.device)
    block_n = triton.next_power_of_2(dstate)
    block_t = min(16, triton.next_power_of_2(max(seqlen, 1)))
    # About 4096 fp32 elements per (channel, step, state) tile: with 4 warps, 32 registers per
    # thread for each of the handful of such tiles alive at once (decay, input, their scans),
    # which keeps several programs resident per SM. 16 channels x 16 steps at dstate 16.
    block_d = max(1, min(triton.next_power_of_2(dim), 4096 // (block_t * block_n)))
    init = initial_state
    grid = (triton.cdiv(dim, block_d), batch)
    _selective_scan_kernel[grid](
        x, dt, A, B, C, x if D is None else D, x if z is None else z,
        x if dt_bias is None else dt_bias, final if init is None else init, y, final,
        dim, dstate, seqlen,
        *x.stride(), *dt.stride(), *A.stride(), *B.stride(), *C.stride(),
        *(z.stride() if z is not None else (0, 0, 0)),
        *(init.stride() if init is not None else (0, 0, 0)),
        *y.stride(), *final.stride(),
        HAS_D=D is not None, HAS_Z=z is not None, HAS_DT_BIAS=dt_bias is not None,
        HAS_INIT=init is not None, DT_SOFTPLUS=dt_softplus,
        BLOCK_D=block_d, BLOCK_T=block_t, BLOCK_N=block_n,
        num_warps=4,
    )
    return y, final


def selective_scan(
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
    """Triton twin of `selective_scan_ref` (same arguments and results).

    `y` comes back channel-contiguous (a transposed `(batch, seqlen, dim)` buffer) when `x` is.
    """
    return _selective_scan_fwd(x, dt, A, B, C, D, z, dt_bias, dt_softplus, initial_state)


def discretize_dt(dt: torch.Tensor, dt_bias: torch.Tensor | None, softplus: bool) -> torch.Tensor:
    """`dt + dt_bias` in fp32, through softplus when asked (Mamba-1 has no dt clamp)."""
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
    dt = discretize_dt(dt, None if dt_bias is None else dt_bias[:, None], dt_softplus)
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


@triton.jit
def _selective_state_update_kernel(
    # Pointers
    state_ptr, x_ptr, dt_ptr, A_ptr, B_ptr, C_ptr, D_ptr, z_ptr, dt_bias_ptr, y_ptr,
    # Dimensions
    dim, dstate,
    # Strides
    stride_state_b, stride_state_d, stride_state_n,
    stride_x_b, stride_x_d,
    stride_dt_b, stride_dt_d,
    stride_A_d, stride_A_n,
    stride_B_b, stride_B_n,
    stride_C_b, stride_C_n,
    stride_z_b, stride_z_d,
    stride_y_b, stride_y_d,
    # Meta-parameters
    HAS_D: tl.constexpr, HAS_Z: tl.constexpr, HAS_DT_BIAS: tl.constexpr,
    DT_SOFTPLUS: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_N: tl.constexpr,
):
    # One program per BLOCK_D channels of one sequence: its (BLOCK_D, dstate) state tile is read
    # once and written once, by the same threads, so the in-place update has no race.
    pid_b = tl.program_id(1).to(tl.int64)
    offs_d = tl.program_id(0).to(tl.int64) * BLOCK_D + tl.arange(0, BLOCK_D)
    offs_n = tl.arange(0, BLOCK_N)
    d_ok = offs_d < dim
    n_ok = offs_n < dstate
    dn_ok = d_ok[:, None] & n_ok[None, :]
    state_tile = (state_ptr + pid_b * stride_state_b + offs_d[:, None] * stride_state_d
                  + offs_n[None, :] * stride_state_n)
    state = tl.load(state_tile, mask=dn_ok, other=0.0).to(tl.float32)
    A = tl.load(A_ptr + offs_d[:, None] * stride_A_d + offs_n[None, :] * stride_A_n,
                mask=dn_ok, other=0.0).to(tl.float32) * 1.4426950408889634  # log2(e)
    x = tl.load(x_ptr + pid_b * stride_x_b + offs_d * stride_x_d, mask=d_ok,
                other=0.0).to(tl.float32)
    dt = tl.load(dt_ptr + pid_b * stride_dt_b + offs_d * stride_dt_d, mask=d_ok,
                 other=0.0).to(tl.float32)
    bias = tl.zeros((BLOCK_D,), dtype=tl.float32)
    if HAS_DT_BIAS:
        bias = tl.load(dt_bias_ptr + offs_d, mask=d_ok, other=0.0).to(tl.float32)
    dt = _tl_discretize_dt(dt, bias, DT_SOFTPLUS)
    B = tl.load(B_ptr + pid_b * stride_B_b + offs_n * stride_B_n, mask=n_ok,
                other=0.0).to(tl.float32)
    C = tl.load(C_ptr + pid_b * stride_C_b + offs_n * stride_C_n, mask=n_ok,
                other=0.0).to(tl.float32)
    state = state * tl.exp2(dt[:, None] * A) + (dt * x)[:, None] * B[None, :]
    tl.store(state_tile, state.to(state_ptr.dtype.element_ty), mask=dn_ok)
    y = tl.sum(state * C[None, :], axis=1)
    if HAS_D:
        y += x * tl.load(D_ptr + offs_d, mask=d_ok, other=0.0).to(tl.float32)
    if HAS_Z:
        z = tl.load(z_ptr + pid_b * stride_z_b + offs_d * stride_z_d, mask=d_ok,
                    other=0.0).to(tl.float32)
        y *= z * tl.sigmoid(z)
    tl.store(y_ptr + pid_b * stride_y_b + offs_d * stride_y_d, y, mask=d_ok)


def _selective_state_update_fwd(
    state: torch.Tensor, x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
    C: torch.Tensor, D: torch.Tensor | None, z: torch.Tensor | None,
    dt_bias: torch.Tensor | None, dt_softplus: bool,
) -> torch.Tensor:
    require_triton()
    batch, dim, dstate = state.shape
    y = torch.empty(batch, dim, dtype=torch.float32, device=x.device)
    block_n = triton.next_power_of_2(dstate)
    # 512-element state tiles (32 channels at dstate 16, 2 KB): a decode step at batch 1 then
    # spreads 8192 channels over 256 programs, enough to keep HBM busy for this small transfer.
    block_d = max(1, min(triton.next_power_of_2(dim), 512 // block_n))
    grid = (triton.cdiv(dim, block_d), batch)
    _selective_state_update_kernel[grid](
        state, x, dt, A, B, C, x if D is None else D, x if z is None else z,
        x if dt_bias is None else dt_bias, y,
        dim, dstate,
        *state.stride(), *x.stride(), *dt.stride(), *A.stride(), *B.stride(), *C.stride(),
        *(z.stride() if z is not None else (0, 0)), *y.stride(),
        HAS_D=D is not None, HAS_Z=z is not None, HAS_DT_BIAS=dt_bias is not None,
        DT_SOFTPLUS=dt_softplus, BLOCK_D=block_d, BLOCK_N=block_n,
        num_warps=4,
    )
    return y


def selective_state_update(
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
    """Triton twin of `selective_state_update_ref` (same arguments and result; `state` is
    updated in place)."""
    return _selective_state_update_fwd(state, x, dt, A, B, C, D, z, dt_bias, dt_softplus)


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
    dt = discretize_dt(dt, dt_bias, dt_softplus)
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
