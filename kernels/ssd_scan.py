"""Mamba-2's structured state-space duality (SSD) scan: chunked prefill and one-step decode.

Per head h the recurrence is, with scalar decay `a_t = exp(dt_t * A_h)`:
    state_t = a_t * state_{t-1} + dt_t * outer(x_t, B_t)        state: (headdim, dstate)
    y_t     = state_t @ C_t + D_h * x_t
The chunked form computes the same thing as a few matrix products per chunk (attention-like
inside a chunk, a short recurrence across chunk boundaries), which is how prefill stays fast.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

DtLimit = tuple[float, float]
NO_LIMIT: DtLimit = (0.0, float("inf"))


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
) -> tuple[torch.Tensor, torch.Tensor]:
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
    Returns:
        y: (batch, seqlen, nheads, headdim) in fp32,
        final_state: (batch, nheads, headdim, dstate) fp32, the state after the last token.
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
    entering = []
    for c in range(nchunks):
        entering.append(state)
        state = state * chunk_decay[:, c, :, None, None] + chunk_states[:, c]
    entering_states = torch.stack(entering, dim=1)  # (batch, nchunks, nheads, headdim, dstate)

    # The entering state's share of each output, decayed to the token's position.
    decay_from_start = torch.exp(torch.cumsum(a, dim=-1)).permute(0, 1, 3, 2)  # (b, c, T, h)
    y = y + torch.einsum("bcthn,bchpn->bcthp", C, entering_states) * decay_from_start[..., None]

    y = y.reshape(batch, nchunks * chunk_size, nheads, headdim)[:, :seqlen]
    if D is not None:
        y = y + x.float() * D.float()[:, None]
    return y, state


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
