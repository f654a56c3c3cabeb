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

import re
from pathlib import Path

from autan.model.archs.base import Source, json_float, register, require
from autan.model.archs.mamba2 import mamba2_mixer_key
from autan.model.config import AttentionConfig, BlockConfig, Mamba2Config, MLPConfig, ModelConfig
from autan.model.errors import ModelFileError

BLOCK = re.compile(r"blocks\.(\d+)\.(norm\.weight|mixer\.(.+))")
TOP = {"embed.weight": "model.embed_tokens.weight", "norm_f.weight": "model.final_layernorm.weight",
       "lm_head.weight": "lm_head.weight"}
NORMS = {"mamba2": "input_layernorm", "attention": "input_layernorm", "mlp": "pre_ff_layernorm"}
MIXERS = {"mamba2": "mamba", "attention": "self_attn", "mlp": "feed_forward"}


def mamba_config(raw: dict, d_model: int) -> Mamba2Config:
    """Bamba's Mamba-2 mixer; `mamba_d_head` "auto" means d_inner / mamba_n_heads."""
    nheads = int(raw.get("mamba_n_heads", 128))
    d_inner = int(raw.get("mamba_expand", 2)) * d_model
    head = raw.get("mamba_d_head", "auto")
    limit = raw.get("time_step_limit") or (0.0, float("inf"))
    return Mamba2Config(
        nheads=nheads,
        headdim=d_inner // nheads if head in (None, "auto") else int(head),
        d_state=int(raw.get("mamba_d_state", 256)),
        n_groups=int(raw.get("mamba_n_groups", 1)),
        d_conv=int(raw.get("mamba_d_conv", 4)),
        chunk_size=int(raw.get("mamba_chunk_size", 256)),
        conv_bias=bool(raw.get("mamba_conv_bias", True)),
        proj_bias=bool(raw.get("mamba_proj_bias", False)),
        norm_eps=float(raw.get("rms_norm_eps", 1e-5)),
        norm_before_gate=False,
        dt_limit=tuple(json_float(x) for x in limit),
    )


def attention_config(raw: dict, d_model: int, source: Path) -> AttentionConfig:
    """RoPE on the first `partial_rotary_factor` (0.5) of each head, scale headdim ** -0.5."""
    nheads = int(require(raw, "num_attention_heads", source))
    headdim = int(raw.get("head_dim") or d_model // nheads)
    rope = raw.get("rope_parameters") or raw.get("rope_scaling") or {}
    kind = rope.get("rope_type") or rope.get("type") or "default"
    if kind != "default":
        raise ModelFileError(source, f"unsupported rope_type {kind!r} (only 'default')")
    theta = float(rope.get("rope_theta") or raw.get("rope_theta") or 10000.0)
    factor = float(rope.get("partial_rotary_factor") or 0.5)
    bias = bool(raw.get("attention_bias", False))
    return AttentionConfig(
        nheads=nheads, nkv_heads=int(raw.get("num_key_value_heads") or nheads), headdim=headdim,
        rope_theta=theta, rotary_dim=int(headdim * factor), qkv_bias=bias, out_bias=bias,
    )


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
        act = raw.get("hidden_act", "silu")
        if act not in ("silu", "swish"):  # also the Mamba conv activation, fixed to silu
            raise ModelFileError(source, f"unsupported hidden_act {act!r} (only silu)")
        mlp = MLPConfig(d_ff=int(require(raw, "intermediate_size", source)), activation="silu",
                        gated=True, bias=bool(raw.get("mlp_bias", False)))
        blocks: list[BlockConfig] = []
        for kind in layer_kinds(raw, n_layers, source):
            mixer = (mamba_config(raw, d_model) if kind == "mamba2"
                     else attention_config(raw, d_model, source))
            blocks += [BlockConfig(kind, mixer), BlockConfig("mlp", mlp)]
        return ModelConfig(
            "BambaForCausalLM", int(require(raw, "vocab_size", source)), d_model, blocks,
            norm_eps=float(raw.get("rms_norm_eps", 1e-5)),
            tie_embeddings=bool(raw.get("tie_word_embeddings", False)),
            bos_token_id=raw.get("bos_token_id"), eos_token_id=raw.get("eos_token_id"),
        )

    def source(self, name: str, cfg: ModelConfig, available: set[str]) -> Source | None:
        if name in TOP:
            return Source((TOP[name],))
        match = BLOCK.fullmatch(name)
        if match is None:
            raise KeyError(name)
        block, rest = int(match.group(1)), match.group(3)
        kind = cfg.blocks[block].kind
        prefix = f"model.layers.{block // 2}."
        if rest is None:
            return Source((f"{prefix}{NORMS[kind]}.weight",))
        suffix = mamba2_mixer_key(rest) if kind == "mamba2" else rest
        return Source((f"{prefix}{MIXERS[kind]}.{suffix}",))


register(BambaAdapter())
