"""The model: embedding, a stack of residual blocks, final norm and the language-model head.

Read top to bottom: `Model.forward(ids, state)` runs `ids` after whatever `state` has consumed
and returns logits. A prompt can be fed in one call or split into pieces at any points; the
state carries everything between pieces, so both give the same logits.
"""

from __future__ import annotations

import torch
from torch import nn

from autan.model.config import BlockConfig, ModelConfig
from autan.model.layers.attention import Attention
from autan.model.layers.falcon_h1_hybrid import FalconH1Mixer
from autan.model.layers.mamba1 import Mamba1Mixer
from autan.model.layers.mamba2 import Mamba2Mixer
from autan.model.layers.mlp import MLP, MoE
from autan.model.layers.norm import RMSNorm
from autan.model.layers.zamba2_hybrid import Zamba2HybridMixer
from autan.model.runtime.state import InferenceState

MIXERS: dict[str, type[nn.Module]] = {
    "mamba1": Mamba1Mixer,
    "mamba2": Mamba2Mixer,
    "attention": Attention,
    "mlp": MLP,
    "moe": MoE,
    "zamba2_hybrid": Zamba2HybridMixer,
    "falcon_h1": FalconH1Mixer,
}


class Block(nn.Module):
    """`x + residual_multiplier * mixer(norm(x))`."""

    def __init__(self, d_model: int, cfg: BlockConfig, eps: float, residual_mult: float) -> None:
        super().__init__()
        self.kind = cfg.kind
        self.norm = RMSNorm(d_model, eps) if cfg.norm else None
        self.mixer = MIXERS[cfg.kind](d_model, cfg.mixer)
        self.residual_mult = residual_mult
        # Zamba2's shared blocks also read the token embeddings, not only the residual stream.
        self.reads_embeddings = getattr(self.mixer, "reads_embeddings", False)

    def forward(self, x: torch.Tensor, cache: object, pos: int,
                embeds: torch.Tensor | None = None) -> torch.Tensor:
        # The residual stream stays fp32 (as Mamba's residual_in_fp32); the mixer sees the
        # model dtype.
        dtype = self.mixer_dtype()
        h = x.to(dtype) if self.norm is None else self.norm(x.to(dtype))
        extra = {"embeds": embeds} if self.reads_embeddings else {}
        # One kernel: the add promotes the mixer's output to fp32 and scales it on the way
        # (at batch-1 decode, a separate cast, multiply and add were three launches per block).
        return torch.add(x, self.mixer(h, cache, pos, **extra), alpha=self.residual_mult)

    def mixer_dtype(self) -> torch.dtype:
        return next(self.mixer.parameters()).dtype


class Model(nn.Module):
    def __init__(self, cfg: ModelConfig, init_embedding: bool = True) -> None:
        """`init_embedding=False` leaves the embedding uninitialised, for a caller that assigns
        every weight (the loader, on the meta device): there `normal_` has only a Python meta
        kernel, and its first call imports torch._dynamo, a second of a cold start on a CPU."""
        super().__init__()
        self.cfg = cfg
        self.embed = (nn.Embedding(cfg.vocab_size, cfg.d_model) if init_embedding else
                      nn.Embedding(cfg.vocab_size, cfg.d_model,
                                   _weight=torch.empty(cfg.vocab_size, cfg.d_model)))
        self.blocks = nn.ModuleList(
            Block(cfg.d_model, b, cfg.norm_eps, cfg.residual_multiplier) for b in cfg.blocks
        )
        # Mixers that reuse an earlier block's weights (Zamba2's shared transformer) link up.
        for block in self.blocks:
            if hasattr(block.mixer, "tie"):
                block.mixer.tie([b.mixer for b in self.blocks])
        self.norm_f = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.embed.weight

    @property
    def dtype(self) -> torch.dtype:
        return self.embed.weight.dtype

    @property
    def device(self) -> torch.device:
        return self.embed.weight.device

    def new_state(self, batch: int = 1, capacity: int = 2048) -> InferenceState:
        """Empty caches for `batch` sequences; full KV caches start at `capacity` tokens."""
        return InferenceState(
            [b.mixer.new_cache(batch, capacity, self.dtype, self.device) for b in self.blocks]
        )

    def hidden(self, ids: torch.Tensor, state: InferenceState | None = None) -> torch.Tensor:
        """ids: (batch, seqlen) -> final-normed hidden states (batch, seqlen, d_model), fp32."""
        pos = 0 if state is None else state.pos
        x = self.embed(ids).float() * self.cfg.embedding_multiplier
        embeds = x
        for i, block in enumerate(self.blocks):
            x = block(x, None if state is None else state.caches[i], pos, embeds)
        if state is not None:
            state.pos += ids.shape[1]
        return self.norm_f(x.to(self.dtype))

    def forward(self, ids: torch.Tensor, state: InferenceState | None = None,
                last_only: bool = False) -> torch.Tensor:
        """ids: (batch, seqlen) -> logits (batch, seqlen or 1, vocab) in fp32.

        With `last_only`, the head runs for the last position alone: for a long prompt the
        head over every position would cost more than the whole rest of a small model.
        """
        h = self.hidden(ids, state)
        if last_only:
            h = h[:, -1:]
        return self.lm_head(h).float() * self.cfg.logits_multiplier
