"""Mamba-2's structured state-space duality (SSD) scan: the chunked prefill.

Per head h the recurrence is, with scalar decay `a_t = exp(dt_t * A_h)`:
    state_t = a_t * state_{t-1} + dt_t * outer(x_t, B_t)        state: (headdim, dstate)
    y_t     = state_t @ C_t + D_h * x_t
The chunked form computes the same thing as a few matrix products per chunk (attention-like
inside a chunk, a short recurrence across chunk boundaries), which is how prefill stays fast.

The Triton prefill runs in four kernels (the mamba-ssm design): dt discretisation with the
within-chunk cumulative log-decay; each chunk's own state contribution; a sequential pass over
chunks turning those into the state at each chunk's end; and the outputs, attention-like inside
the chunk plus the decayed entering state. The one-step decode is in `ssd_state_update.py`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from autan.kernels._triton import dot_dtype, require_triton, softplus, tl, triton

DtLimit = tuple[float, float]
NO_LIMIT: DtLimit = (0.0, float("inf"))


# Triton kernels. Every load is converted to fp32 at once (the interpreter keeps bf16 as raw
# bits); matrix products cast their operands to DOT_DTYPE and accumulate in fp32. Program ids
# are widened to int64 before they scale a stride: at 256K tokens x 8192 channels an element
# offset reaches 2^31.


@triton.jit
def _tl_discretize_dt(dt, dt_min, dt_max, SOFTPLUS: tl.constexpr):
    """clamp(softplus(dt)) in fp32, the Triton twin of `discretize_dt` (bias already added)."""
    if SOFTPLUS:
        dt = softplus(dt)
    return tl.minimum(tl.maximum(dt, dt_min), dt_max)


@triton.jit
def _ssd_dt_kernel(
    # Pointers
    dt_ptr, dt_bias_ptr, A_ptr, dt_out_ptr, dA_cum_ptr,
    # Dimensions
    seqlen, nheads, chunk_size, dt_min, dt_max,
    # Strides (dt_out and dA_cum share one contiguous (batch, nheads, nchunks, chunk) layout)
    stride_dt_b, stride_dt_l, stride_dt_h,
    stride_cum_b, stride_cum_h, stride_cum_c,
    # Meta-parameters
    HAS_BIAS: tl.constexpr, SOFTPLUS: tl.constexpr, BLOCK_T: tl.constexpr,
    BLOCK_H: tl.constexpr,
):
    pid_b = tl.program_id(0).to(tl.int64)
    pid_c = tl.program_id(1)
    offs_t = tl.arange(0, BLOCK_T)
    offs_h = tl.program_id(2) * BLOCK_H + tl.arange(0, BLOCK_H)
    pos = pid_c * chunk_size + offs_t
    h_ok = offs_h < nheads
    in_chunk = (offs_t[:, None] < chunk_size) & h_ok[None, :]
    valid = in_chunk & (pos[:, None] < seqlen)
    dt = tl.load(dt_ptr + pid_b * stride_dt_b + pos[:, None].to(tl.int64) * stride_dt_l
                 + offs_h[None, :] * stride_dt_h, mask=valid, other=0.0).to(tl.float32)
    if HAS_BIAS:
        dt += tl.load(dt_bias_ptr + offs_h, mask=h_ok, other=0.0).to(tl.float32)[None, :]
    dt = _tl_discretize_dt(dt, dt_min, dt_max, SOFTPLUS)
    # Past the sequence end dt = 0, as the reference pads: it adds nothing and decays nothing.
    dt = tl.where(valid, dt, 0.0)
    A = tl.load(A_ptr + offs_h, mask=h_ok, other=0.0).to(tl.float32)
    dA_cum = tl.cumsum(dt * A[None, :], axis=0)
    out = (pid_b * stride_cum_b + offs_h[None, :] * stride_cum_h + pid_c * stride_cum_c
           + offs_t[:, None])
    tl.store(dt_out_ptr + out, dt, mask=in_chunk)
    tl.store(dA_cum_ptr + out, dA_cum, mask=in_chunk)


@triton.jit
def _ssd_chunk_state_kernel(
    # Pointers
    x_ptr, B_ptr, dt_ptr, dA_cum_ptr, states_ptr,
    # Dimensions
    seqlen, chunk_size, headdim, dstate, heads_per_group,
    # Strides (states is contiguous (batch, nchunks, nheads, headdim, dstate))
    stride_x_b, stride_x_l, stride_x_h, stride_x_p,
    stride_B_b, stride_B_l, stride_B_g, stride_B_n,
    stride_cum_b, stride_cum_h, stride_cum_c,
    stride_st_b, stride_st_c, stride_st_h, stride_st_p,
    # Meta-parameters
    DOT_DTYPE: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_N: tl.constexpr,
    BLOCK_S: tl.constexpr,
):
    """states[b, c, h] = sum_s x[s] dt[s] exp(cum[last] - cum[s]) outer B[s], from zero."""
    n_blocks = tl.cdiv(dstate, BLOCK_N)
    tiles = tl.cdiv(headdim, BLOCK_P) * n_blocks
    pid_h = (tl.program_id(0) // tiles).to(tl.int64)
    tile = tl.program_id(0) % tiles
    offs_p = (tile // n_blocks) * BLOCK_P + tl.arange(0, BLOCK_P)
    offs_n = (tile % n_blocks) * BLOCK_N + tl.arange(0, BLOCK_N)
    pid_c = tl.program_id(1)
    pid_b = tl.program_id(2).to(tl.int64)
    start = pid_c * chunk_size
    chunk_len = tl.minimum(chunk_size, seqlen - start)
    x_ptr += pid_b * stride_x_b + start.to(tl.int64) * stride_x_l + pid_h * stride_x_h
    B_ptr += (pid_b * stride_B_b + start.to(tl.int64) * stride_B_l
              + (pid_h // heads_per_group) * stride_B_g)
    cum_off = pid_b * stride_cum_b + pid_h * stride_cum_h + pid_c * stride_cum_c
    cum_last = tl.load(dA_cum_ptr + cum_off + chunk_size - 1)
    p_ok = offs_p < headdim
    n_ok = offs_n < dstate
    acc = tl.zeros((BLOCK_P, BLOCK_N), dtype=tl.float32)
    for s0 in range(0, chunk_len, BLOCK_S):
        offs_s = s0 + tl.arange(0, BLOCK_S)
        s_ok = offs_s < chunk_len
        xt = tl.load(x_ptr + offs_p[:, None] * stride_x_p + offs_s[None, :] * stride_x_l,
                     mask=p_ok[:, None] & s_ok[None, :], other=0.0).to(tl.float32)
        b = tl.load(B_ptr + offs_s[:, None] * stride_B_l + offs_n[None, :] * stride_B_n,
                    mask=s_ok[:, None] & n_ok[None, :], other=0.0).to(tl.float32)
        dt = tl.load(dt_ptr + cum_off + offs_s, mask=s_ok, other=0.0)
        cum = tl.load(dA_cum_ptr + cum_off + offs_s, mask=s_ok, other=0.0)
        scale = dt * tl.exp(cum_last - cum)
        # "ieee": fp32 operands multiply in full fp32, not tf32 (no effect on bf16/fp16).
        acc = tl.dot((xt * scale[None, :]).to(DOT_DTYPE), b.to(DOT_DTYPE), acc,
                     input_precision="ieee")
    st = (pid_b * stride_st_b + pid_c.to(tl.int64) * stride_st_c + pid_h * stride_st_h
          + offs_p[:, None] * stride_st_p + offs_n[None, :])
    tl.store(states_ptr + st, acc, mask=p_ok[:, None] & n_ok[None, :])


@triton.jit
def _ssd_state_passing_kernel(
    # Pointers
    states_ptr, dA_cum_ptr, init_ptr, final_ptr,
    # Dimensions
    nchunks, chunk_size, state_size,
    # Strides (states, init and final are contiguous in (headdim, dstate))
    stride_st_b, stride_st_c, stride_st_h,
    stride_cum_b, stride_cum_h, stride_cum_c,
    stride_init_b, stride_init_h,
    stride_fin_b, stride_fin_h,
    # Meta-parameters
    HAS_INIT: tl.constexpr, BLOCK: tl.constexpr,
):
    """In place: chunk c's own contribution becomes the state at its end, in chunk order."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < state_size
    pid_b = tl.program_id(1).to(tl.int64)
    pid_h = tl.program_id(2).to(tl.int64)
    if HAS_INIT:
        state = tl.load(init_ptr + pid_b * stride_init_b + pid_h * stride_init_h + offs,
                        mask=mask, other=0.0).to(tl.float32)
    else:
        state = tl.zeros((BLOCK,), dtype=tl.float32)
    states_ptr += pid_b * stride_st_b + pid_h * stride_st_h + offs
    cum_ptr = dA_cum_ptr + pid_b * stride_cum_b + pid_h * stride_cum_h + chunk_size - 1
    for _ in range(nchunks):
        # Advance the pointers rather than index by chunk: c * stride overflows int32.
        decay = tl.exp(tl.load(cum_ptr))
        state = state * decay + tl.load(states_ptr, mask=mask, other=0.0)
        tl.store(states_ptr, state, mask=mask)
        states_ptr += stride_st_c
        cum_ptr += stride_cum_c
    tl.store(final_ptr + pid_b * stride_fin_b + pid_h * stride_fin_h + offs, state, mask=mask)


@triton.jit
def _ssd_chunk_scan_kernel(
    # Pointers
    x_ptr, B_ptr, C_ptr, dt_ptr, dA_cum_ptr, states_ptr, init_ptr, D_ptr, y_ptr,
    # Dimensions
    seqlen, chunk_size, headdim, dstate, heads_per_group,
    # Strides (states, init: dstate contiguous; y: headdim contiguous)
    stride_x_b, stride_x_l, stride_x_h, stride_x_p,
    stride_B_b, stride_B_l, stride_B_g, stride_B_n,
    stride_C_b, stride_C_l, stride_C_g, stride_C_n,
    stride_cum_b, stride_cum_h, stride_cum_c,
    stride_st_b, stride_st_c, stride_st_h, stride_st_p,
    stride_init_b, stride_init_h, stride_init_p,
    stride_y_b, stride_y_l, stride_y_h,
    # Meta-parameters
    HAS_INIT: tl.constexpr, HAS_D: tl.constexpr, DOT_DTYPE: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_P: tl.constexpr, BLOCK_N: tl.constexpr,
    BLOCK_S: tl.constexpr,
):
    """y[t] = sum_{s<=t} C[t].B[s] exp(cum[t]-cum[s]) dt[s] x[s] + exp(cum[t]) C[t].h + D x[t]."""
    p_blocks = tl.cdiv(headdim, BLOCK_P)
    tiles = tl.cdiv(chunk_size, BLOCK_M) * p_blocks
    pid_h = (tl.program_id(0) // tiles).to(tl.int64)
    pid_m = (tl.program_id(0) % tiles) // p_blocks
    offs_p = (tl.program_id(0) % p_blocks) * BLOCK_P + tl.arange(0, BLOCK_P)
    pid_c = tl.program_id(1)
    pid_b = tl.program_id(2).to(tl.int64)
    start = pid_c * chunk_size
    chunk_len = tl.minimum(chunk_size, seqlen - start)
    x_ptr += pid_b * stride_x_b + start.to(tl.int64) * stride_x_l + pid_h * stride_x_h
    group = pid_h // heads_per_group
    B_ptr += pid_b * stride_B_b + start.to(tl.int64) * stride_B_l + group * stride_B_g
    C_ptr += pid_b * stride_C_b + start.to(tl.int64) * stride_C_l + group * stride_C_g
    cum_off = pid_b * stride_cum_b + pid_h * stride_cum_h + pid_c * stride_cum_c
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    m_ok, p_ok, n_ok = offs_m < chunk_len, offs_p < headdim, offs_n < dstate
    cum_m = tl.load(dA_cum_ptr + cum_off + offs_m, mask=m_ok, other=0.0)
    c_tile = tl.load(C_ptr + offs_m[:, None] * stride_C_l + offs_n[None, :] * stride_C_n,
                     mask=m_ok[:, None] & n_ok[None, :], other=0.0).to(tl.float32)
    c_tile = c_tile.to(DOT_DTYPE)

    # The state entering the chunk: the previous chunk's end state, or the initial one.
    # (The chunk index is broadcast before it joins a mask: the interpreter rejects a mask
    # made of a scalar condition and a block.)
    h_mask = n_ok[:, None] & p_ok[None, :]
    not_first = (offs_n[:, None] * 0 + pid_c) > 0
    h = tl.load(states_ptr + pid_b * stride_st_b + (pid_c - 1).to(tl.int64) * stride_st_c
                + pid_h * stride_st_h + offs_n[:, None] + offs_p[None, :] * stride_st_p,
                mask=h_mask & not_first, other=0.0)
    if HAS_INIT:
        h += tl.load(init_ptr + pid_b * stride_init_b + pid_h * stride_init_h + offs_n[:, None]
                     + offs_p[None, :] * stride_init_p, mask=h_mask & ~not_first, other=0.0)
    acc = tl.dot(c_tile, h.to(DOT_DTYPE), input_precision="ieee") * tl.exp(cum_m)[:, None]

    # Inside the chunk: causal, so the keys stop at this block's last query.
    s_end = tl.minimum(chunk_len, (pid_m + 1) * BLOCK_M)
    for s0 in range(0, s_end, BLOCK_S):
        offs_s = s0 + tl.arange(0, BLOCK_S)
        s_ok = offs_s < chunk_len
        bt = tl.load(B_ptr + offs_n[:, None] * stride_B_n + offs_s[None, :] * stride_B_l,
                     mask=n_ok[:, None] & s_ok[None, :], other=0.0).to(tl.float32)
        cb = tl.dot(c_tile, bt.to(DOT_DTYPE), input_precision="ieee")
        cum_s = tl.load(dA_cum_ptr + cum_off + offs_s, mask=s_ok, other=0.0)
        dt_s = tl.load(dt_ptr + cum_off + offs_s, mask=s_ok, other=0.0)
        causal = (offs_m[:, None] >= offs_s[None, :]) & s_ok[None, :]
        # Mask the exponent, not the product: above the diagonal it is positive and may overflow.
        decay = tl.exp(tl.where(causal, cum_m[:, None] - cum_s[None, :], float("-inf")))
        xs = tl.load(x_ptr + offs_s[:, None] * stride_x_l + offs_p[None, :] * stride_x_p,
                     mask=s_ok[:, None] & p_ok[None, :], other=0.0).to(tl.float32)
        acc = tl.dot((cb * decay * dt_s[None, :]).to(DOT_DTYPE), xs.to(DOT_DTYPE), acc,
                     input_precision="ieee")

    out_mask = m_ok[:, None] & p_ok[None, :]
    if HAS_D:
        xm = tl.load(x_ptr + offs_m[:, None] * stride_x_l + offs_p[None, :] * stride_x_p,
                     mask=out_mask, other=0.0).to(tl.float32)
        acc += tl.load(D_ptr + pid_h).to(tl.float32) * xm
    y_ptr += pid_b * stride_y_b + start.to(tl.int64) * stride_y_l + pid_h * stride_y_h
    tl.store(y_ptr + offs_m[:, None] * stride_y_l + offs_p[None, :], acc, mask=out_mask)


def _pow2_at_least_16(n: int, cap: int) -> int:
    """A power-of-two block for a dot dimension of size n: at least 16, at most `cap`."""
    return min(cap, max(16, triton.next_power_of_2(n)))


def _heads_per_group(nheads: int, ngroups: int) -> int:
    if nheads % ngroups:
        raise ValueError(f"nheads {nheads} is not a multiple of ngroups {ngroups}")
    return nheads // ngroups


def _dt_cumsum_fwd(
    dt: torch.Tensor, dt_bias: torch.Tensor | None, A: torch.Tensor, chunk: int, nchunks: int,
    softplus: bool, limit: DtLimit,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Discretised dt and its within-chunk cumsum of dt * A: (batch, nheads, nchunks, chunk)."""
    batch, seqlen, nheads = dt.shape
    dt_out = torch.empty(batch, nheads, nchunks, chunk, dtype=torch.float32, device=dt.device)
    dA_cum = torch.empty_like(dt_out)
    block_t = triton.next_power_of_2(chunk)
    block_h = max(1, min(16, 4096 // block_t))  # a tile of at most 4096 values per program
    bias = None if dt_bias is None else dt_bias.contiguous()
    _ssd_dt_kernel[(batch, nchunks, triton.cdiv(nheads, block_h))](
        dt, dt if bias is None else bias, A.contiguous(), dt_out, dA_cum,
        seqlen, nheads, chunk, float(limit[0]), float(limit[1]),
        *dt.stride(), *dt_out.stride()[:3],
        HAS_BIAS=bias is not None, SOFTPLUS=softplus, BLOCK_T=block_t, BLOCK_H=block_h,
        num_warps=4,  # a few thousand values per program: light elementwise work
    )
    return dt_out, dA_cum


def _chunk_state_fwd(
    x: torch.Tensor, B: torch.Tensor, dt: torch.Tensor, dA_cum: torch.Tensor,
) -> torch.Tensor:
    """Each chunk's own contribution to the state at its end: (batch, nchunks, nheads, p, n)."""
    batch, seqlen, nheads, headdim = x.shape
    dstate = B.shape[-1]
    nchunks, chunk = dA_cum.shape[2:]
    states = torch.empty(batch, nchunks, nheads, headdim, dstate, dtype=torch.float32,
                         device=x.device)
    block_p, block_n = _pow2_at_least_16(headdim, 64), _pow2_at_least_16(dstate, 128)
    tiles = triton.cdiv(headdim, block_p) * triton.cdiv(dstate, block_n)
    # Grid: heads (and tiles) first so neighbouring programs share a group's B in L2; chunks
    # and batch on the y/z axes, which CUDA caps at 65535 each.
    _ssd_chunk_state_kernel[(tiles * nheads, nchunks, batch)](
        x, B, dt, dA_cum, states,
        seqlen, chunk, headdim, dstate, _heads_per_group(nheads, B.shape[2]),
        *x.stride(), *B.stride(), *dA_cum.stride()[:3], *states.stride()[:4],
        DOT_DTYPE=dot_dtype(x.dtype), BLOCK_P=block_p, BLOCK_N=block_n,
        BLOCK_S=_pow2_at_least_16(chunk, 64),
        num_warps=4, num_stages=2,  # a 64x128 fp32 accumulator; overlap the next loads
    )
    return states


def _state_passing_fwd(
    states: torch.Tensor, dA_cum: torch.Tensor, initial_state: torch.Tensor | None,
) -> torch.Tensor:
    """Turns `states` in place into the state at each chunk's end; returns the final state."""
    batch, nchunks, nheads, headdim, dstate = states.shape
    final = torch.empty(batch, nheads, headdim, dstate, dtype=torch.float32,
                        device=states.device)
    size = headdim * dstate
    block = min(1024, triton.next_power_of_2(size))
    init = final if initial_state is None else initial_state
    _ssd_state_passing_kernel[(triton.cdiv(size, block), batch, nheads)](
        states, dA_cum, init, final,
        nchunks, dA_cum.shape[3], size,
        *states.stride()[:3], *dA_cum.stride()[:3],
        init.stride(0), init.stride(1), final.stride(0), final.stride(1),
        HAS_INIT=initial_state is not None, BLOCK=block,
        num_warps=4,  # streaming, 8 values per thread per chunk
    )
    return final


def _chunk_scan_fwd(
    x: torch.Tensor, B: torch.Tensor, C: torch.Tensor, dt: torch.Tensor, dA_cum: torch.Tensor,
    states: torch.Tensor, initial_state: torch.Tensor | None, D: torch.Tensor | None,
) -> torch.Tensor:
    """The outputs y (batch, seqlen, nheads, headdim) in fp32."""
    batch, seqlen, nheads, headdim = x.shape
    dstate = B.shape[-1]
    nchunks, chunk = dA_cum.shape[2:]
    y = torch.empty(batch, seqlen, nheads, headdim, dtype=torch.float32, device=x.device)
    # fp32 operands are twice the size and use no tensor cores: 64-row blocks spill (1.6 KB
    # per thread on sm_90), so fp32 takes 32 rows.
    block_m = _pow2_at_least_16(chunk, 32 if x.dtype == torch.float32 else 64)
    block_p = _pow2_at_least_16(headdim, 64)
    # The whole dstate in one tile: C[t] is loaded once and C.B needs the full dot product.
    block_n = _pow2_at_least_16(dstate, 1 << 30)
    tiles = triton.cdiv(chunk, block_m) * triton.cdiv(headdim, block_p)
    init = states if initial_state is None else initial_state
    _ssd_chunk_scan_kernel[(tiles * nheads, nchunks, batch)](
        x, B, C, dt, dA_cum, states, init, x if D is None else D.contiguous(), y,
        seqlen, chunk, headdim, dstate, _heads_per_group(nheads, B.shape[2]),
        *x.stride(), *B.stride(), *C.stride(), *dA_cum.stride()[:3], *states.stride()[:4],
        *init.stride()[:3], *y.stride()[:3],
        HAS_INIT=initial_state is not None, HAS_D=D is not None, DOT_DTYPE=dot_dtype(x.dtype),
        BLOCK_M=block_m, BLOCK_P=block_p, BLOCK_N=block_n, BLOCK_S=block_m,
        num_warps=4, num_stages=2,  # 64x64 fp32 accumulator, 64x128 C tile kept in registers
    )
    return y


def _ssd_chunk_scan_fwd(
    x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
    chunk_size: int, D: torch.Tensor | None, dt_bias: torch.Tensor | None,
    initial_state: torch.Tensor | None, dt_softplus: bool, dt_limit: DtLimit,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    require_triton()
    seqlen = x.shape[1]
    chunk = min(chunk_size, seqlen)  # as the reference: a short piece is one short chunk
    nchunks = triton.cdiv(seqlen, chunk)
    dt_d, dA_cum = _dt_cumsum_fwd(dt, dt_bias, A, chunk, nchunks, dt_softplus, dt_limit)
    init = None if initial_state is None else initial_state.float().contiguous()
    states = _chunk_state_fwd(x, B, dt_d, dA_cum)
    final = _state_passing_fwd(states, dA_cum, init)
    y = _chunk_scan_fwd(x, B, C, dt_d, dA_cum, states, init, D)
    return y, final, states


def discretize_dt(
    dt: torch.Tensor, dt_bias: torch.Tensor | None, softplus: bool, limit: DtLimit
) -> torch.Tensor:
    """`dt = clamp(softplus(dt + dt_bias))` in fp32. dt: (..., nheads)."""
    dt = dt.float()
    if dt_bias is not None:
        dt = dt + dt_bias.float()
    if softplus:
        dt = F.softplus(dt)
    return dt.clamp(min=limit[0], max=limit[1])


def segment_sum(a: torch.Tensor) -> torch.Tensor:
    """Sums of `a` over every causal segment, computed stably (no difference of cumsums).

    Args:
        a: (..., T)
    Returns:
        (..., T, T): `out[..., t, s] = a[s+1] + ... + a[t]` for s <= t, and -inf above the
        diagonal, so that `exp(out)` is the causal decay matrix.
    """
    T = a.shape[-1]
    rep = a[..., None].expand(*a.shape, T)  # rep[..., r, s] = a[r]
    strictly_below = torch.tril(torch.ones(T, T, dtype=torch.bool, device=a.device), diagonal=-1)
    sums = torch.cumsum(rep.masked_fill(~strictly_below, 0.0), dim=-2)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool, device=a.device))
    return sums.masked_fill(~causal, float("-inf"))


def ssd_chunk_scan(
    x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
    chunk_size: int, D: torch.Tensor | None = None, dt_bias: torch.Tensor | None = None,
    initial_state: torch.Tensor | None = None, dt_softplus: bool = True,
    dt_limit: DtLimit = NO_LIMIT, return_chunk_states: bool = False,
) -> tuple[torch.Tensor, ...]:
    """Triton twin of `ssd_chunk_scan_ref` (same arguments and results)."""
    y, final, chunk_states = _ssd_chunk_scan_fwd(x, dt, A, B, C, chunk_size, D, dt_bias,
                                                 initial_state, dt_softplus, dt_limit)
    return (y, final, chunk_states) if return_chunk_states else (y, final)


def ssd_chunk_scan_ref(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    chunk_size: int,
    D: torch.Tensor | None = None,
    dt_bias: torch.Tensor | None = None,
    initial_state: torch.Tensor | None = None,
    dt_softplus: bool = True,
    dt_limit: DtLimit = NO_LIMIT,
    return_chunk_states: bool = False,
) -> tuple[torch.Tensor, ...]:
    """Chunked SSD scan over a whole prompt piece, starting from `initial_state`.

    Args:
        x: (batch, seqlen, nheads, headdim)
        dt: (batch, seqlen, nheads) before bias and softplus.
        A: (nheads,) negative decay rates (`-exp(A_log)`).
        B: (batch, seqlen, ngroups, dstate); head h reads group h // (nheads // ngroups).
        C: (batch, seqlen, ngroups, dstate)
        D: (nheads,) skip connection, or None.
        dt_bias: (nheads,) or None.
        initial_state: (batch, nheads, headdim, dstate) fp32, or None for zeros.
        dt_softplus: apply softplus to `dt + dt_bias`; dt_limit: then clamp dt to (min, max).
        return_chunk_states: also return the state at every chunk boundary (the prefix cache
            keeps them), where chunks are `min(chunk_size, seqlen)` tokens, the last partial.
    Returns:
        y: (batch, seqlen, nheads, headdim) in fp32,
        final_state: (batch, nheads, headdim, dstate) fp32, the state after the last token,
        chunk_states (only when asked): (batch, nchunks, nheads, headdim, dstate) fp32, the
            state after each chunk, nchunks = ceil(seqlen / min(chunk_size, seqlen)); the last
            equals final_state.
    """
    batch, seqlen, nheads, headdim = x.shape
    heads_per_group = nheads // B.shape[2]
    dt = discretize_dt(dt, dt_bias, dt_softplus, dt_limit)
    B = B.float().repeat_interleave(heads_per_group, dim=2)
    C = C.float().repeat_interleave(heads_per_group, dim=2)
    xdt = x.float() * dt[..., None]
    log_decay = dt * A.float()  # (batch, seqlen, nheads)

    # A piece shorter than a chunk is one chunk of its own length: the result is the same and
    # a 16-token keystroke does not pay for a 256-token chunk.
    chunk_size = min(chunk_size, seqlen)
    # Padding with dt = 0 adds nothing and decays nothing, so the final state is exact.
    pad = (-seqlen) % chunk_size
    xdt, B, C = (F.pad(t, (0, 0, 0, 0, 0, pad)) for t in (xdt, B, C))
    log_decay = F.pad(log_decay, (0, 0, 0, pad))
    nchunks = (seqlen + pad) // chunk_size

    def chunks(t: torch.Tensor) -> torch.Tensor:
        return t.reshape(batch, nchunks, chunk_size, *t.shape[2:])

    xdt, B, C = chunks(xdt), chunks(B), chunks(C)
    a = chunks(log_decay).permute(0, 1, 3, 2)  # (batch, nchunks, nheads, T)
    seg = segment_sum(a)  # (batch, nchunks, nheads, T, T)

    # Inside each chunk: attention-like product with the causal decay matrix.
    scores = torch.einsum("bcthn,bcshn->bchts", C, B) * torch.exp(seg)
    y = torch.einsum("bchts,bcshp->bcthp", scores, xdt)

    # Each chunk's own contribution to the state at its end (from a zero start).
    decay_to_end = torch.exp(seg[..., -1, :])  # (batch, nchunks, nheads, T)
    chunk_states = torch.einsum("bcshn,bchs,bcshp->bchpn", B, decay_to_end, xdt)

    # Across chunks: a short recurrence gives the state entering each chunk.
    state = (
        initial_state.float()
        if initial_state is not None
        else x.new_zeros(batch, nheads, headdim, B.shape[-1], dtype=torch.float32)
    )
    chunk_decay = torch.exp(a.sum(-1))  # (batch, nchunks, nheads)
    entering, ends = [], []
    for c in range(nchunks):
        entering.append(state)
        state = state * chunk_decay[:, c, :, None, None] + chunk_states[:, c]
        ends.append(state)
    entering_states = torch.stack(entering, dim=1)  # (batch, nchunks, nheads, headdim, dstate)

    # The entering state's share of each output, decayed to the token's position.
    decay_from_start = torch.exp(torch.cumsum(a, dim=-1)).permute(0, 1, 3, 2)  # (b, c, T, h)
    y = y + torch.einsum("bcthn,bchpn->bcthp", C, entering_states) * decay_from_start[..., None]

    y = y.reshape(batch, nchunks * chunk_size, nheads, headdim)[:, :seqlen]
    if D is not None:
        y = y + x.float() * D.float()[:, None]
    return (y, state, torch.stack(ends, dim=1)) if return_chunk_states else (y, state)
