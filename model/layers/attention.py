"""Grouped-query attention with rotary positions (full, partial or none) and sliding windows."""

from __future__ import annotations

import torch
from torch import nn

from autan import kernels
from autan.model.config import AttentionConfig
from autan.model.runtime.state import KVCache, WindowKVCache


def rotary_cos_sin(
    positions: torch.Tensor, rotary_dim: int, theta: float, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin tables, (seqlen, rotary_dim), computed in fp32 then cast."""
    inv_freq = 1.0 / theta ** (
        torch.arange(0, rotary_dim, 2, dtype=torch.float32, device=positions.device) / rotary_dim
    )
    freqs = positions.float()[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the first `rotary_dim` channels of each head (half-split layout, as HF stores it).

    x: (batch, nheads, seqlen, headdim); cos, sin: (seqlen, rotary_dim).
    """
    rot, rest = x[..., : cos.shape[-1]], x[..., cos.shape[-1] :]
    first, second = rot.chunk(2, dim=-1)
    rotated = torch.cat([-second, first], dim=-1)
    return torch.cat([rot * cos + rotated * sin, rest], dim=-1)


class Attention(nn.Module):
    def __init__(self, d_model: int, cfg: AttentionConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.q_proj = nn.Linear(d_model, cfg.nheads * cfg.headdim, bias=cfg.qkv_bias)
        self.k_proj = nn.Linear(d_model, cfg.nkv_heads * cfg.headdim, bias=cfg.qkv_bias)
        self.v_proj = nn.Linear(d_model, cfg.nkv_heads * cfg.headdim, bias=cfg.qkv_bias)
        self.o_proj = nn.Linear(cfg.nheads * cfg.headdim, d_model, bias=cfg.out_bias)

    def new_cache(self, batch: int, capacity: int, dtype: torch.dtype,
                  device: torch.device) -> KVCache | WindowKVCache:
        c = self.cfg
        if c.sliding_window is not None:
            return WindowKVCache(batch, c.nkv_heads, c.headdim, c.sliding_window, dtype, device)
        return KVCache(batch, c.nkv_heads, c.headdim, capacity, dtype, device)

    def forward(self, u: torch.Tensor, cache: KVCache | WindowKVCache | None,
                pos: int) -> torch.Tensor:
        """u: (batch, seqlen, d_model) -> (batch, seqlen, d_model); queries start at `pos`."""
        c = self.cfg
        batch, seqlen, _ = u.shape
        q = self.q_proj(u).view(batch, seqlen, c.nheads, c.headdim).transpose(1, 2)
        k = self.k_proj(u).view(batch, seqlen, c.nkv_heads, c.headdim).transpose(1, 2)
        v = self.v_proj(u).view(batch, seqlen, c.nkv_heads, c.headdim).transpose(1, 2)
        q_pos = torch.arange(pos, pos + seqlen, device=u.device)
        if c.rope_theta is not None:
            cos, sin = rotary_cos_sin(q_pos, c.rotary_dim, c.rope_theta, q.dtype)
            q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if cache is None:
            keys, values, k_pos = k, v, q_pos
        else:
            keys, values, k_pos = cache.extend(k, v, pos)
        out = kernels.attention(q, keys, values, q_pos, k_pos, c.scale, c.sliding_window)
        return self.o_proj(out.transpose(1, 2).reshape(batch, seqlen, c.nheads * c.headdim))
