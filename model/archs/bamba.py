"""Bamba hybrids: HF `BambaForCausalLM` (IBM's Bamba-9B).

Each checkpoint layer becomes two blocks: its Mamba-2 or attention mixer (block 2i, normed by
`input_layernorm`), then the SwiGLU MLP every layer has (block 2i + 1, normed by
`pre_ff_layernorm`). The layers listed in `attn_layer_indices` are attention, the rest Mamba-2.
Attention rotates only the first half of each head: transformers hard-codes Bamba's
`partial_rotary_factor` to 0.5 (written into `rope_parameters` on save). The Mamba-2 mixer
gates before its RMSNorm, normalised per group of d_inner / n_groups channels, eps =
`rms_norm_eps`; its conv activation is `hidden_act`, which the engine only runs as silu.

Weights (transformers 5 `save_pretrained` writes the Hub names unchanged):
`model.embed_tokens`, `model.layers.{i}.{input_layernorm,pre_ff_layernorm}`,
`model.layers.{i}.mamba.*` or `.self_attn.{q,k,v,o}_proj`, `.feed_forward.{gate,up,down}_proj`,
`model.final_layernorm`, `lm_head` (absent when tied).
"""

from __future__ import annotations

from pathlib import Path

from autan.model.archs.base import Source, register, require
from autan.model.archs.common import (
    HF_TOP,
    attention_biases,
    attention_heads,
    bamba_mamba2,
    build_model_config,
    paired_layer_source,
    plain_rope_theta,
    require_silu,
    rope_parameters,
    swiglu_mlp,
)
from autan.model.archs.mamba2 import mamba2_mixer_key
from autan.model.config import AttentionConfig, BlockConfig, ModelConfig
from autan.model.errors import ModelFileError

EPS = 1e-5  # transformers' default rms_norm_eps for Bamba
MIXERS = {"mamba2": "mamba", "attention": "self_attn", "mlp": "feed_forward"}


def attention_config(raw: dict, d_model: int, source: Path) -> AttentionConfig:
    """RoPE on the first `partial_rotary_factor` (0.5) of each head, scale headdim ** -0.5."""
    nheads, nkv, headdim = attention_heads(raw, d_model, source)
    theta = plain_rope_theta(raw, source)
    factor = float(rope_parameters(raw).get("partial_rotary_factor") or 0.5)
    return AttentionConfig(nheads=nheads, nkv_heads=nkv, headdim=headdim, rope_theta=theta,
                           rotary_dim=int(headdim * factor), **attention_biases(raw))


def layer_kinds(raw: dict, n_layers: int, source: Path) -> list[str]:
    """Per layer: "attention" if listed in `attn_layer_indices`, else "mamba2"."""
    attn = [int(i) for i in raw.get("attn_layer_indices") or []]
    bad = [i for i in attn if not 0 <= i < n_layers]
    if bad:
        raise ModelFileError(source, f"attn_layer_indices {bad} outside 0..{n_layers - 1}")
    return ["attention" if i in attn else "mamba2" for i in range(n_layers)]


class BambaAdapter:
    architectures = ("BambaForCausalLM",)

    def model_config(self, raw: dict, source: Path) -> ModelConfig:
        d_model = int(require(raw, "hidden_size", source))
        n_layers = int(require(raw, "num_hidden_layers", source))
        require_silu(raw, "hidden_act", source)  # also the Mamba conv activation
        mlp = swiglu_mlp(raw, source)
        blocks: list[BlockConfig] = []
        for kind in layer_kinds(raw, n_layers, source):
            mixer = (bamba_mamba2(raw, d_model, EPS) if kind == "mamba2"
                     else attention_config(raw, d_model, source))
            blocks += [BlockConfig(kind, mixer), BlockConfig("mlp", mlp)]
        return build_model_config(
            "BambaForCausalLM", raw, source, d_model, blocks,
            norm_eps=float(raw.get("rms_norm_eps", EPS)),
            tie_embeddings=bool(raw.get("tie_word_embeddings", False)),
        )

    def source(self, name: str, cfg: ModelConfig, available: set[str]) -> Source | None:
        def mixer(block: int, prefix: str, rest: str) -> Source:
            kind = cfg.blocks[block].kind
            suffix = mamba2_mixer_key(rest) if kind == "mamba2" else rest
            return Source((f"{prefix}{MIXERS[kind]}.{suffix}",))

        return paired_layer_source(name, HF_TOP, "pre_ff_layernorm", mixer)


register(BambaAdapter())
