"""Granite 4.0 hybrids: HF `GraniteMoeHybridForCausalLM` (Granite-4.0-H tiny, small, micro).

Each checkpoint layer becomes two blocks: its Mamba-2 or attention mixer (block 2i), then its
feed-forward (block 2i + 1), which is a top-k mixture of experts plus an always-on shared MLP,
or the shared MLP alone when the config has no experts (the dense "micro" model). Granite
scales both residual adds by `residual_multiplier`, the embeddings by `embedding_multiplier`
and divides the logits by `logits_scaling`; attention uses `attention_multiplier` as its
softmax scale instead of headdim ** -0.5, and has no rotary positions unless
`position_embedding_type` is "rope".

Weights on disk (what transformers 5 writes with `save_pretrained`, and the Hub layout): the
experts are already stacked, `block_sparse_moe.input_linear.weight` (n_experts, 2 * d_ff,
d_model; gate rows first) and `output_linear.weight`; the router is `router.layer.weight`; the
shared MLP is `shared_mlp.input_linear.weight` (gate rows then up rows). transformers' own
in-memory names (`experts.gate_up_proj`, `router.weight`) are accepted too.
"""

from __future__ import annotations

from pathlib import Path

from autan.model.archs.base import Source, first_present, register, require
from autan.model.archs.common import (
    HF_TOP,
    attention_biases,
    bamba_mamba2,
    build_model_config,
    hf_attention,
    paired_layer_source,
    plain_rope_theta,
    require_silu,
    rows,
)
from autan.model.archs.mamba2 import mamba2_mixer_key
from autan.model.config import AttentionConfig, BlockConfig, MLPConfig, ModelConfig, MoEConfig
from autan.model.errors import ModelFileError

EPS = 1e-6  # transformers' default rms_norm_eps for Granite-4.0-H
TOP = {**HF_TOP, "norm_f.weight": "model.norm.weight"}
MAMBA_TYPES = ("mamba", "linear_attention")
ATTENTION_TYPES = ("attention", "full_attention")
# Engine MoE parameter -> candidate checkpoint suffixes (Hub/saved layout first).
MOE_KEYS = {
    "router.weight": ("block_sparse_moe.router.layer.weight", "block_sparse_moe.router.weight"),
    "gate_up": ("block_sparse_moe.input_linear.weight", "block_sparse_moe.experts.gate_up_proj"),
    "down": ("block_sparse_moe.output_linear.weight", "block_sparse_moe.experts.down_proj"),
}


def layer_types(raw: dict, n_layers: int, source: Path) -> list[str]:
    """Per-layer mixer kind ("mamba2" or "attention"); configs spell it `layer_types`
    (transformers 5: linear_attention / full_attention) or `layers_block_type` (mamba /
    attention, the original Hub files)."""
    types = raw.get("layer_types") or raw.get("layers_block_type") or ["mamba"] * n_layers
    if len(types) != n_layers:
        raise ModelFileError(source, f"layer_types has {len(types)} entries, "
                             f"num_hidden_layers is {n_layers}")
    kinds: list[str] = []
    for t in types:
        if t not in MAMBA_TYPES + ATTENTION_TYPES:
            raise ModelFileError(source, f"unknown layer type {t!r} in layer_types")
        kinds.append("mamba2" if t in MAMBA_TYPES else "attention")
    return kinds


def rope_theta(raw: dict, source: Path) -> float | None:
    """The rotary base, or None for NoPE (Granite-4.0-H's choice: no position_embedding_type)."""
    if raw.get("position_embedding_type") != "rope":
        return None
    return plain_rope_theta(raw, source)


def attention_config(raw: dict, d_model: int, source: Path) -> AttentionConfig:
    """`attention_multiplier` is the softmax scale (instead of headdim ** -0.5)."""
    return hf_attention(raw, d_model, source, rope_theta=rope_theta(raw, source),
                        scale=float(raw.get("attention_multiplier", 1.0)),
                        **attention_biases(raw))


def ffn_block(raw: dict, source: Path) -> BlockConfig:
    """Experts (top-k of the logits, then softmax over those k) plus the shared MLP; or the
    shared MLP alone when `num_local_experts` is 0."""
    shared = int(raw.get("shared_intermediate_size", 1024))
    n_experts = int(raw.get("num_local_experts") or 0)
    if n_experts == 0:
        return BlockConfig("mlp", MLPConfig(d_ff=shared))
    return BlockConfig("moe", MoEConfig(
        n_experts=n_experts, top_k=int(raw.get("num_experts_per_tok", 2)),
        d_ff=int(require(raw, "intermediate_size", source)), router="topk_softmax",
        shared_d_ff=shared,
    ))


class GraniteMoeHybridAdapter:
    architectures = ("GraniteMoeHybridForCausalLM",)

    def model_config(self, raw: dict, source: Path) -> ModelConfig:
        d_model = int(require(raw, "hidden_size", source))
        n_layers = int(require(raw, "num_hidden_layers", source))
        require_silu(raw, "hidden_act", source)  # the MLPs' and the Mamba conv's activation
        blocks: list[BlockConfig] = []
        for kind in layer_types(raw, n_layers, source):
            mixer = (bamba_mamba2(raw, d_model, EPS) if kind == "mamba2"
                     else attention_config(raw, d_model, source))
            blocks += [BlockConfig(kind, mixer), ffn_block(raw, source)]
        return build_model_config(
            "GraniteMoeHybridForCausalLM", raw, source, d_model, blocks,
            norm_eps=float(raw.get("rms_norm_eps", EPS)),
            tie_embeddings=bool(raw.get("tie_word_embeddings", False)),
            embedding_multiplier=float(raw.get("embedding_multiplier", 1.0)),
            residual_multiplier=float(raw.get("residual_multiplier", 1.0)),
            logits_multiplier=1.0 / float(raw.get("logits_scaling", 1.0)),
        )

    def source(self, name: str, cfg: ModelConfig, available: set[str]) -> Source | None:
        def mixer(block: int, prefix: str, rest: str) -> Source:
            kind = cfg.blocks[block].kind
            if kind == "mamba2":
                return Source((prefix + "mamba." + mamba2_mixer_key(rest),))
            if kind == "attention":
                return Source((prefix + "self_attn." + rest,))
            return self.ffn_source(prefix, rest, cfg.blocks[block], available)

        return paired_layer_source(name, TOP, "post_attention_layernorm", mixer)

    def ffn_source(self, prefix: str, rest: str, block: BlockConfig,
                   available: set[str]) -> Source:
        """The experts, or the shared MLP whose fused input_linear is split into gate and up."""
        if rest in MOE_KEYS:
            return Source((first_present([prefix + k for k in MOE_KEYS[rest]], available),))
        part = rest.removeprefix("shared.")
        d_ff = block.mixer.shared_d_ff if block.kind == "moe" else block.mixer.d_ff
        if part == "down_proj.weight":
            return Source((prefix + "shared_mlp.output_linear.weight",))
        fused = prefix + "shared_mlp.input_linear.weight"
        if part == "gate_proj.weight":
            return Source((fused,), rows(0, d_ff))
        if part == "up_proj.weight":
            return Source((fused,), rows(d_ff, 2 * d_ff))
        raise KeyError(rest)


register(GraniteMoeHybridAdapter())
