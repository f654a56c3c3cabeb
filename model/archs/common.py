"""Config fields and checkpoint layouts that several architectures share.

The HF hybrids were written against each other in transformers (Granite-4.0-H copies Bamba's
Mamba-2, most of them copy Llama's attention and layer names), so their configs spell many
fields alike and their checkpoints use the same names. What is read or laid out the same way
lives here once; what an architecture does differently stays in its adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from autan.model.archs.base import Source, first_present, json_float, require, split_block_name
from autan.model.config import AttentionConfig, BlockConfig, Mamba2Config, MLPConfig, ModelConfig
from autan.model.errors import ModelFileError
from autan.model.layers.mlp import ACTIVATIONS

# HF activation names the engine runs under another name.
ACT_ALIASES = {"swish": "silu", "gelu_pytorch_tanh": "gelu_tanh", "gelu_new": "gelu_tanh"}
# Top-level parameters in the Llama-style layout with a `final_layernorm` (Granite: `norm`).
HF_TOP = {"embed.weight": "model.embed_tokens.weight",
          "norm_f.weight": "model.final_layernorm.weight", "lm_head.weight": "lm_head.weight"}


def build_model_config(architecture: str, raw: dict, source: Path, d_model: int,
                       blocks: list[BlockConfig], *, norm_eps: float, tie_embeddings: bool,
                       **scaling: Any) -> ModelConfig:
    """A `ModelConfig` with the fields every config spells alike (`vocab_size`, required;
    `bos_token_id`, `eos_token_id`). The norm eps and tying are the caller's to read: their
    field names and defaults differ by architecture, as do the multipliers in `scaling`."""
    return ModelConfig(
        architecture, int(require(raw, "vocab_size", source)), d_model, blocks,
        norm_eps=norm_eps, tie_embeddings=tie_embeddings,
        bos_token_id=raw.get("bos_token_id"), eos_token_id=raw.get("eos_token_id"), **scaling,
    )


def require_silu(raw: dict, key: str, source: Path) -> None:
    """Refuse any activation but silu in field `key`, when it also drives the Mamba conv: the
    engine's conv applies silu, so another activation is refused rather than run wrong."""
    act = raw.get(key, "silu")
    if act not in ("silu", "swish"):
        raise ModelFileError(source, f"unsupported {key} {act!r} (only silu)")


def activation_name(raw: dict, key: str, default: str, source: Path) -> str:
    """The engine's name for an HF activation, refused here rather than failing at build."""
    name = str(raw.get(key) or default)
    name = ACT_ALIASES.get(name, name)
    if name not in ACTIVATIONS:
        raise ModelFileError(source, f"unsupported {key} {name!r}; valid: {', '.join(ACTIVATIONS)}")
    return name


def rope_parameters(raw: dict) -> dict:
    """`rope_parameters` (transformers 5) or `rope_scaling` (older files), else empty."""
    return raw.get("rope_parameters") or raw.get("rope_scaling") or {}


def plain_rope_theta(raw: dict, source: Path) -> float:
    """The rotary base; only plain RoPE is supported, so any scaled rope type is refused."""
    rope = rope_parameters(raw)
    kind = rope.get("rope_type") or rope.get("type") or "default"
    if kind != "default":
        raise ModelFileError(source, f"unsupported rope_type {kind!r} (only 'default')")
    return float(rope.get("rope_theta") or raw.get("rope_theta") or 10000.0)


def mamba2_from_fields(raw: dict, nheads: int, headdim: int, **norm: Any) -> Mamba2Config:
    """A Mamba-2 mixer from the `mamba_*` fields Bamba, Granite-4.0-H and Falcon-H1 spell alike,
    with transformers' defaults. The head count and width, and the norm settings in `norm`,
    are the caller's: those fields and defaults differ between the three."""
    return Mamba2Config(
        nheads=nheads,
        headdim=headdim,
        d_state=int(raw.get("mamba_d_state", 256)),
        n_groups=int(raw.get("mamba_n_groups", 1)),
        d_conv=int(raw.get("mamba_d_conv", 4)),
        chunk_size=int(raw.get("mamba_chunk_size", 256)),
        conv_bias=bool(raw.get("mamba_conv_bias", True)),
        proj_bias=bool(raw.get("mamba_proj_bias", False)),
        dt_limit=tuple(json_float(x) for x in raw.get("time_step_limit") or (0.0, "inf")),
        **norm,
    )


def bamba_mamba2(raw: dict, d_model: int, default_eps: float) -> Mamba2Config:
    """Bamba's Mamba-2, which Granite-4.0-H copies: gate applied before the grouped norm, eps =
    `rms_norm_eps` (whose default differs); `mamba_d_head` "auto" means d_inner / mamba_n_heads."""
    nheads = int(raw.get("mamba_n_heads", 128))
    d_inner = int(raw.get("mamba_expand", 2)) * d_model
    head = raw.get("mamba_d_head", "auto")
    headdim = d_inner // nheads if head in (None, "auto") else int(head)
    return mamba2_from_fields(raw, nheads, headdim, norm_before_gate=False,
                              norm_eps=float(raw.get("rms_norm_eps", default_eps)))


def attention_heads(raw: dict, d_model: int, source: Path) -> tuple[int, int, int]:
    """(heads, KV heads, head width) from the Llama-style fields: `num_attention_heads`
    (required), `num_key_value_heads` (default: as many), `head_dim` (default: d_model / heads)."""
    nheads = int(require(raw, "num_attention_heads", source))
    nkv = int(raw.get("num_key_value_heads") or nheads)
    return nheads, nkv, int(raw.get("head_dim") or d_model // nheads)


def attention_biases(raw: dict) -> dict[str, bool]:
    """HF's single `attention_bias` flag, which sets the q/k/v and the o biases alike."""
    bias = bool(raw.get("attention_bias", False))
    return {"qkv_bias": bias, "out_bias": bias}


def hf_attention(raw: dict, d_model: int, source: Path, **specific: Any) -> AttentionConfig:
    """Attention shaped by `attention_heads`; `specific` holds what the architecture decides
    (positions, biases, softmax scale)."""
    nheads, nkv, headdim = attention_heads(raw, d_model, source)
    return AttentionConfig(nheads=nheads, nkv_heads=nkv, headdim=headdim, **specific)


def swiglu_mlp(raw: dict, source: Path) -> MLPConfig:
    """The gated silu MLP of `intermediate_size` (required), biased if `mlp_bias`."""
    return MLPConfig(d_ff=int(require(raw, "intermediate_size", source)), activation="silu",
                     gated=True, bias=bool(raw.get("mlp_bias", False)))


MixerSource = Callable[[int, str, str], Source]


def paired_layer_source(name: str, top: dict[str, str], ff_norm: str,
                        mixer: MixerSource) -> Source:
    """Where a parameter lives when HF layer i makes two blocks: its mixer (block 2i, normed by
    `input_layernorm`) and its feed-forward (block 2i + 1, normed by `ff_norm`), under
    `model.layers.{i}.`. `top` maps the top-level parameters; `mixer(block, prefix, rest)` maps
    mixer parameter `rest` of `block`, the part each architecture names its own way."""
    if name in top:
        return Source((top[name],))
    block, rest = split_block_name(name)
    prefix = f"model.layers.{block // 2}."
    if rest is None:
        norm = "input_layernorm" if block % 2 == 0 else ff_norm
        return Source((f"{prefix}{norm}.weight",))
    return mixer(block, prefix, rest)


def backbone_source(name: str, prefix: str, mixer_key: Callable[[str], str],
                    available: set[str]) -> Source:
    """mamba_ssm's layout, which HF Mamba and Mamba-2 keep: `{prefix}backbone.` holds
    `embeddings` (or `embedding`), `layers.{i}.norm` and `layers.{i}.mixer.*` (suffix from
    `mixer_key`) and `norm_f`; the head is `{prefix}lm_head`."""
    backbone = prefix + "backbone."
    if name == "embed.weight":
        return Source((first_present([backbone + "embeddings.weight",
                                      backbone + "embedding.weight"], available),))
    if name == "norm_f.weight":
        return Source((backbone + "norm_f.weight",))
    if name == "lm_head.weight":
        return Source((prefix + "lm_head.weight",))
    block, rest = split_block_name(name)
    suffix = "norm.weight" if rest is None else "mixer." + mixer_key(rest)
    return Source((f"{backbone}layers.{block}.{suffix}",))


def rows(start: int, stop: int | None) -> Callable[[list[torch.Tensor]], torch.Tensor]:
    """A `Source.combine` taking rows [start, stop) of one tensor (half of a fused matrix)."""

    def take(tensors: list[torch.Tensor]) -> torch.Tensor:
        return tensors[0][start:stop]

    return take


def stack_experts(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Per-expert matrices (out, in) -> the engine's stacked (n_experts, out, in)."""
    return torch.stack(tensors)


def expert_source(prefix: str, proj: str, n_experts: int, available: set[str]) -> Source:
    """One stacked expert projection: `{prefix}experts.{proj}` whole when the checkpoint holds it
    stacked (transformers' in-memory layout), else `{prefix}experts.{j}.{proj}.weight` for each
    expert j (the Hub layout, which `save_pretrained` writes) stacked here."""
    fused = f"{prefix}experts.{proj}"
    if fused in available:
        return Source((fused,))
    keys = tuple(f"{prefix}experts.{j}.{proj}.weight" for j in range(n_experts))
    return Source(keys, stack_experts)
