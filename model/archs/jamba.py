"""Jamba: HF `JambaForCausalLM` (AI21 Jamba v0.1, Jamba 1.5 / 1.6 / Mini).

Each checkpoint layer becomes two blocks: a Mamba-1 or attention mixer (block 2i), then a
feed-forward (block 2i + 1). Layer i is attention when `i % attn_layer_period ==
attn_layer_offset`, and its feed-forward is a mixture of experts when `i % expert_layer_period
== expert_layer_offset` (a layer with one expert is a plain gated MLP, stored as such). Jamba's
Mamba-1 normalises dt, B and C (RMSNorm, eps = rms_norm_eps) before the scan; its attention
has no positional encoding; its router takes the softmax over all experts and keeps the top k
weights unnormalised.

Weights on disk (the Hub layout, and what transformers 5 writes back with `save_pretrained`):
one matrix per expert, `feed_forward.experts.{e}.{gate,up,down}_proj.weight`, stacked here
into the engine's `gate_up` / `down`; transformers' in-memory fused layout
(`feed_forward.experts.gate_up_proj`, gate rows first) is accepted too.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from autan.model.archs.base import Source, register, require
from autan.model.archs.common import (
    HF_TOP,
    build_model_config,
    expert_source,
    hf_attention,
    paired_layer_source,
    require_silu,
)
from autan.model.archs.mamba1 import mamba1_mixer_key
from autan.model.config import BlockConfig, Mamba1Config, MLPConfig, ModelConfig, MoEConfig


def stack_gate_up(tensors: list[torch.Tensor]) -> torch.Tensor:
    """[gate_0, up_0, gate_1, up_1, ...] -> (n_experts, 2 * d_ff, d_model), gate rows first."""
    pairs = zip(tensors[0::2], tensors[1::2], strict=True)
    return torch.stack([torch.cat(pair, dim=0) for pair in pairs])


def mamba_config(raw: dict, d_model: int) -> Mamba1Config:
    rank = raw.get("mamba_dt_rank", "auto")
    return Mamba1Config(
        d_inner=int(raw.get("mamba_expand", 2)) * d_model,
        d_state=int(raw.get("mamba_d_state", 16)),
        d_conv=int(raw.get("mamba_d_conv", 4)),
        dt_rank=math.ceil(d_model / 16) if rank == "auto" else int(rank),
        conv_bias=bool(raw.get("mamba_conv_bias", True)),
        proj_bias=bool(raw.get("mamba_proj_bias", False)),
        inner_norm_eps=float(raw.get("rms_norm_eps", 1e-6)),
    )


def ffn_block(raw: dict, layer: int, source: Path) -> BlockConfig:
    d_ff = int(require(raw, "intermediate_size", source))
    n_experts = int(raw.get("num_experts", 16))
    period, offset = int(raw.get("expert_layer_period", 2)), int(raw.get("expert_layer_offset", 1))
    if n_experts > 1 and layer % period == offset:
        return BlockConfig("moe", MoEConfig(
            n_experts=n_experts, top_k=int(raw.get("num_experts_per_tok", 2)), d_ff=d_ff,
            router="softmax_topk", normalize_topk=False,
        ))
    return BlockConfig("mlp", MLPConfig(d_ff=d_ff))


class JambaAdapter:
    architectures = ("JambaForCausalLM",)

    def model_config(self, raw: dict, source: Path) -> ModelConfig:
        d_model = int(require(raw, "hidden_size", source))
        n_layers = int(require(raw, "num_hidden_layers", source))
        require_silu(raw, "hidden_act", source)  # the MLPs' and the Mamba conv's activation
        period, offset = int(raw.get("attn_layer_period", 8)), int(raw.get("attn_layer_offset", 4))
        blocks: list[BlockConfig] = []
        for i in range(n_layers):
            if i % period == offset:  # attention without positions
                attention = hf_attention(raw, d_model, source, rope_theta=None)
                blocks.append(BlockConfig("attention", attention))
            else:
                blocks.append(BlockConfig("mamba1", mamba_config(raw, d_model)))
            blocks.append(ffn_block(raw, i, source))
        return build_model_config(
            "JambaForCausalLM", raw, source, d_model, blocks,
            norm_eps=float(raw.get("rms_norm_eps", 1e-6)),
            tie_embeddings=bool(raw.get("tie_word_embeddings", False)),
        )

    def source(self, name: str, cfg: ModelConfig, available: set[str]) -> Source | None:
        def mixer(block: int, prefix: str, rest: str) -> Source:
            kind = cfg.blocks[block].kind
            if kind == "mamba1":
                return Source((prefix + "mamba." + mamba1_mixer_key(rest),))
            if kind == "attention":
                return Source((prefix + "self_attn." + rest,))
            if kind == "mlp":
                return Source((prefix + "feed_forward." + rest,))
            moe = cfg.blocks[block].mixer
            return self.moe_source(prefix + "feed_forward.", rest, moe, available)

        return paired_layer_source(name, HF_TOP, "pre_ff_layernorm", mixer)

    def moe_source(self, prefix: str, rest: str, moe: MoEConfig, available: set[str]) -> Source:
        """Router as is; experts from the fused tensors if present, else stacked per expert
        (gate and up matrices of each expert concatenated, gate rows first)."""
        if rest == "router.weight":
            return Source((prefix + "router.weight",))
        if rest == "down":
            return expert_source(prefix, "down_proj", moe.n_experts, available)
        if rest != "gate_up":
            raise KeyError(rest)
        if prefix + "experts.gate_up_proj" in available:
            return Source((prefix + "experts.gate_up_proj",))
        keys = tuple(f"{prefix}experts.{e}.{p}" for e in range(moe.n_experts)
                     for p in ("gate_proj.weight", "up_proj.weight"))
        return Source(keys, stack_gate_up)


register(JambaAdapter())
