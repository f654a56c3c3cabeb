"""Zamba2's hybrid layer: a shared transformer block feeding a Mamba-2 layer.

Zamba2 is a Mamba-2 stack in which some layers ("hybrid") first run a transformer block whose
weights are shared by several layers: its input is the residual stream concatenated with the
original token embeddings (2 * d_model wide), it has no residual of its own, and each use adds its
own low-rank adapters (LoRA) to the shared q/k/v and gate/up projections. A per-use linear maps
its output back, which is added to the Mamba layer's input (not to the residual):

    t = linear(mlp(ff_norm(attention(in_norm([x, embeddings])))))
    x = x + mamba(mamba_norm(x + t))

The mixer reuses `Attention`, `MLP` and `Mamba2Mixer` as they are: the per-use attention and MLP
modules get the shared projections, wrapped with this use's adapter where it has one. All uses
of one shared block hold the same modules (`tie`), so the weights exist once.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from autan.model.config import AttentionConfig, Mamba2Config, MLPConfig
from autan.model.layers.attention import Attention
from autan.model.layers.mamba2 import Mamba2Mixer
from autan.model.layers.mlp import MLP
from autan.model.layers.norm import RMSNorm
from autan.model.runtime.state import CompositeCache


@dataclass
class Zamba2HybridConfig:
    mamba: Mamba2Config
    attention: AttentionConfig  # reads 2 * d_model (stream and embeddings), writes d_model
    mlp: MLPConfig
    shared_id: int  # which shared transformer block this layer uses
    adapter_rank: int
    attention_adapters: bool  # LoRA on q, k, v too (use_shared_attention_adapter)
    norm_eps: float = 1e-5


class LoRALinear(nn.Module):
    """`base(x) + up(down(x))`: a shared projection plus one use's low-rank adapter."""

    def __init__(self, base: nn.Linear, rank: int, down: nn.Linear | None = None) -> None:
        super().__init__()
        self.base = base
        self.down = down if down is not None else nn.Linear(base.in_features, rank, bias=False)
        self.up = nn.Linear(rank, base.out_features, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.up(self.down(x))


class Zamba2Shared(nn.Module):
    """The weights every use of one shared transformer block reads.

    The checkpoint's fused gate_up projection is held as separate gate and up halves, the
    layout `MLP` reads.
    """

    def __init__(self, d_model: int, cfg: Zamba2HybridConfig) -> None:
        super().__init__()
        a, m = cfg.attention, cfg.mlp
        self.in_norm = RMSNorm(2 * d_model, cfg.norm_eps)
        self.q = nn.Linear(2 * d_model, a.nheads * a.headdim, bias=False)
        self.k = nn.Linear(2 * d_model, a.nkv_heads * a.headdim, bias=False)
        self.v = nn.Linear(2 * d_model, a.nkv_heads * a.headdim, bias=False)
        self.o = nn.Linear(a.nheads * a.headdim, d_model, bias=False)
        self.ff_norm = RMSNorm(d_model, cfg.norm_eps)
        self.gate = nn.Linear(d_model, m.d_ff, bias=m.bias)
        self.up = nn.Linear(d_model, m.d_ff, bias=m.bias)
        self.down = nn.Linear(m.d_ff, d_model, bias=m.bias)


class Zamba2HybridMixer(nn.Module):
    """One hybrid layer; the block around it must have no pre-norm (it norms internally)."""

    reads_embeddings = True

    def __init__(self, d_model: int, cfg: Zamba2HybridConfig) -> None:
        super().__init__()
        self.cfg = cfg
        rank = cfg.adapter_rank
        # Registered first, so the shared weights are named `shared.*` in the first use.
        self.shared = Zamba2Shared(d_model, cfg)
        self.attn = Attention(2 * d_model, cfg.attention)
        if cfg.attention_adapters:
            self.attn.q_proj = LoRALinear(self.shared.q, rank)
            self.attn.k_proj = LoRALinear(self.shared.k, rank)
            self.attn.v_proj = LoRALinear(self.shared.v, rank)
        self.mlp = MLP(d_model, cfg.mlp)
        # One adapter on the fused gate_up: a common down projection, the up one split in two.
        ff_down = nn.Linear(d_model, rank, bias=False)
        self.mlp.gate_proj = LoRALinear(self.shared.gate, rank, ff_down)
        self.mlp.up_proj = LoRALinear(self.shared.up, rank, ff_down)
        self.linear = nn.Linear(d_model, d_model, bias=False)
        self.mamba_norm = RMSNorm(d_model, cfg.norm_eps)
        self.mamba = Mamba2Mixer(d_model, cfg.mamba)
        self._wire()

    def _wire(self) -> None:
        """Point the per-use attention and MLP at `self.shared`'s projections."""
        s, attn = self.shared, self.attn
        for name in ("q", "k", "v"):
            proj = getattr(attn, f"{name}_proj")
            if isinstance(proj, LoRALinear):
                proj.base = getattr(s, name)
            else:
                setattr(attn, f"{name}_proj", getattr(s, name))
        attn.o_proj = s.o
        self.mlp.gate_proj.base, self.mlp.up_proj.base, self.mlp.down_proj = s.gate, s.up, s.down

    def tie(self, mixers: list[nn.Module]) -> None:
        """Use the shared block of the first mixer with the same `shared_id` (called by Model)."""
        first = next(m for m in mixers if isinstance(m, Zamba2HybridMixer)
                     and m.cfg.shared_id == self.cfg.shared_id)
        if first is not self:
            self.shared = first.shared
            self._wire()

    def new_cache(self, batch: int, capacity: int, dtype: torch.dtype,
                  device: torch.device) -> CompositeCache:
        return CompositeCache(self.mamba.new_cache(batch, capacity, dtype, device),
                              self.attn.new_cache(batch, capacity, dtype, device))

    def forward(self, u: torch.Tensor, cache: CompositeCache | None, pos: int,
                embeds: torch.Tensor | None = None) -> torch.Tensor:
        """u: (batch, seqlen, d_model) the residual stream (not normed); embeds: the token
        embeddings of the same positions -> the Mamba output (batch, seqlen, d_model)."""
        if embeds is None:
            raise ValueError("a Zamba2 hybrid layer needs the token embeddings")
        mamba_cache, kv_cache = (None, None) if cache is None else cache.parts
        s = self.shared
        h = s.in_norm(torch.cat([u, embeds.to(u.dtype)], dim=-1))
        h = self.mlp(s.ff_norm(self.attn(h, kv_cache, pos)))
        h = self.mamba_norm(u + self.linear(h))
        return self.mamba(h, mamba_cache, pos)
