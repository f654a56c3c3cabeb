"""Falcon-H1's hybrid mixer: Mamba-2 and attention side by side on the same normed input.

A Falcon-H1 layer is `x + ssm_out * mamba(ssm_in * h) + attn_out * attention(attn_in * h)` with
`h = norm(x)`, followed by a gated-MLP block. Every muP multiplier Falcon-H1 adds (on the inputs
and outputs of both branches, on the keys, on each part of Mamba's in_proj, on the MLP's gate and
down projections) is linear in some weight, so the adapter folds them into the weights at load
time (`archs/falcon_h1.py`). The mixer is then just the sum of the two existing mixers, and the
kernels never see a multiplier.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from autan.model.config import AttentionConfig, Mamba2Config
from autan.model.layers.attention import Attention
from autan.model.layers.mamba2 import Mamba2Mixer
from autan.model.runtime.state import CompositeCache


@dataclass
class FalconH1MixerConfig:
    mamba: Mamba2Config
    attention: AttentionConfig


class FalconH1Mixer(nn.Module):
    """`mamba(u) + attn(u)`; its cache holds the Mamba state and the keys/values together."""

    def __init__(self, d_model: int, cfg: FalconH1MixerConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.mamba = Mamba2Mixer(d_model, cfg.mamba)
        self.attn = Attention(d_model, cfg.attention)

    def new_cache(self, batch: int, capacity: int, dtype: torch.dtype,
                  device: torch.device) -> CompositeCache:
        return CompositeCache(self.mamba.new_cache(batch, capacity, dtype, device),
                              self.attn.new_cache(batch, capacity, dtype, device))

    def forward(self, u: torch.Tensor, cache: CompositeCache | None, pos: int) -> torch.Tensor:
        """u: (batch, seqlen, d_model), already normed -> (batch, seqlen, d_model)."""
        ssm_cache, kv_cache = (None, None) if cache is None else cache.parts
        return self.mamba(u, ssm_cache, pos) + self.attn(u, kv_cache, pos)
