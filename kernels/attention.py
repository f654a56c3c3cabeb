"""Causal attention with grouped-query heads and an optional sliding window, over cached keys.

Keys carry their absolute positions, so the same function reads a growing KV cache and a
rolling sliding-window buffer whose slots are out of order (empty slots have position -1).
"""

from __future__ import annotations

import torch


def attention_mask(
    q_pos: torch.Tensor, k_pos: torch.Tensor, window: int | None
) -> torch.Tensor:
    """Which keys each query may see.

    Args:
        q_pos: (seqlen_q,) absolute positions of the queries.
        k_pos: (seqlen_k,) absolute positions of the keys, -1 for an empty slot.
        window: a query at position i sees keys at positions i - window + 1 .. i; None = all.
    Returns:
        (seqlen_q, seqlen_k) bool.
    """
    q = q_pos[:, None]
    k = k_pos[None, :]
    allowed = (k >= 0) & (k <= q)
    if window is not None:
        allowed &= q - k < window
    return allowed


def attention_ref(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    q_pos: torch.Tensor,
    k_pos: torch.Tensor,
    scale: float,
    window: int | None = None,
) -> torch.Tensor:
    """Softmax attention computed in fp32, heads grouped as `kv_head = q_head // (hq // hkv)`.

    Args:
        q: (batch, nheads_q, seqlen_q, headdim)
        k: (batch, nheads_kv, seqlen_k, headdim)
        v: (batch, nheads_kv, seqlen_k, headdim)
        q_pos: (seqlen_q,)
        k_pos: (seqlen_k,)
        scale: multiplies q·k (usually headdim ** -0.5).
        window: sliding-window size, or None.
    Returns:
        (batch, nheads_q, seqlen_q, headdim) in q's dtype.
    """
    group = q.shape[1] // k.shape[1]
    k = k.repeat_interleave(group, dim=1).float()
    v = v.repeat_interleave(group, dim=1).float()
    scores = torch.matmul(q.float(), k.transpose(-1, -2)) * scale
    mask = attention_mask(q_pos, k_pos, window)
    scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    # A query with no visible key (impossible for causal self-attention) would give NaN; zero it.
    weights = torch.nan_to_num(weights, nan=0.0)
    return torch.matmul(weights, v).to(q.dtype)
