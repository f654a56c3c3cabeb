"""Falcon-H1 checkpoints: HF `FalconH1ForCausalLM`.

Each layer becomes two blocks: the parallel Mamba-2 + attention mixer (block 2i, pre-norm
`input_layernorm`) and the gated MLP (block 2i + 1, pre-norm `pre_ff_layernorm`).

Falcon-H1's muP multipliers are folded into the weights they scale, in fp32, as each tensor is
read: `ssm_in_multiplier` and the per-part `ssm_multipliers` ("mup vector") into Mamba's in_proj,
`ssm_out_multiplier` into its out_proj, `attention_in_multiplier` into q/k/v (weights only: it
scales the input, not the bias), `key_multiplier` into k, `attention_out_multiplier` into o, and
`mlp_multipliers` into the MLP's gate and down projections. The embedding and lm-head
multipliers are the model's own `embedding_multiplier` and `logits_multiplier`.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from autan.model.archs.base import Source, json_float, register, require
from autan.model.archs.mamba2 import mamba2_mixer_key
from autan.model.config import AttentionConfig, BlockConfig, Mamba2Config, MLPConfig, ModelConfig
from autan.model.errors import ModelFileError
from autan.model.falcon_h1 import FalconH1MixerConfig

BLOCK = re.compile(r"blocks\.(\d+)\.(norm\.weight|mixer\.(.+))")
MULTIPLIERS = {  # config field -> default
    "attention_in_multiplier": 1.0, "attention_out_multiplier": 1.0, "key_multiplier": 1.0,
    "ssm_in_multiplier": 1.0, "ssm_out_multiplier": 1.0,
}


def rope_theta(raw: dict, source: Path) -> float:
    """The rotary base; only plain RoPE is supported (no scaling types)."""
    rope = raw.get("rope_parameters") or raw.get("rope_scaling") or {}
    kind = rope.get("rope_type", rope.get("type", "default"))
    if kind != "default":
        raise ModelFileError(source, f"unsupported rope_type {kind!r} (only 'default')")
    return float(rope.get("rope_theta") or raw.get("rope_theta") or 10000.0)


def mamba_config(raw: dict, d_model: int, source: Path) -> Mamba2Config:
    d_inner = raw.get("mamba_d_ssm", 1024) or int(raw.get("mamba_expand", 2)) * d_model
    nheads = int(raw.get("mamba_n_heads", 128))
    headdim = raw.get("mamba_d_head", "auto")
    if bool(raw.get("mamba_proj_bias", False)) != bool(raw.get("projectors_bias", False)):
        raise ModelFileError(source, "mamba_proj_bias != projectors_bias is not supported "
                             "(the engine's Mamba-2 uses one bias flag for in_proj and out_proj)")
    if raw.get("hidden_act", "silu") != "silu":
        raise ModelFileError(source, f"unsupported hidden_act {raw['hidden_act']!r} (only silu)")
    return Mamba2Config(
        nheads=nheads,
        headdim=int(d_inner) // nheads if headdim == "auto" else int(headdim),
        d_state=int(raw.get("mamba_d_state", 256)),
        n_groups=int(raw.get("mamba_n_groups", 1)),
        d_conv=int(raw.get("mamba_d_conv", 4)),
        chunk_size=int(raw.get("mamba_chunk_size", 256)),
        conv_bias=bool(raw.get("mamba_conv_bias", True)),
        proj_bias=bool(raw.get("mamba_proj_bias", False)),
        norm_eps=float(raw.get("rms_norm_eps", 1e-5)),
        norm_before_gate=bool(raw.get("mamba_norm_before_gate", True)),
        dt_limit=tuple(json_float(x) for x in raw.get("time_step_limit") or (0.0, "inf")),
        gated_norm=bool(raw.get("mamba_rms_norm", False)),
    )


def attention_config(raw: dict, d_model: int, source: Path) -> AttentionConfig:
    nheads = int(require(raw, "num_attention_heads", source))
    bias = bool(raw.get("attention_bias", False))
    return AttentionConfig(
        nheads=nheads, nkv_heads=int(raw.get("num_key_value_heads") or nheads),
        headdim=int(raw.get("head_dim") or d_model // nheads), rope_theta=rope_theta(raw, source),
        qkv_bias=bias, out_bias=bias,
    )


def mup_vector(m: Mamba2Config, ssm_multipliers: list[float]) -> torch.Tensor:
    """Per-row scale of Mamba's in_proj output [z, x, B, C, dt] (HF `compute_mup_vector`)."""
    bc = m.n_groups * m.d_state
    sizes = [m.d_inner, m.d_inner, bc, bc, m.nheads]
    return torch.cat([torch.full((n,), float(s)) for n, s in zip(sizes, ssm_multipliers,
                                                                  strict=True)])


def scaled(key: str, factor: float | torch.Tensor) -> Source:
    """The tensor at `key` times `factor` (a scalar, or one value per output row), in fp32."""
    if isinstance(factor, float) and factor == 1.0:
        return Source((key,))
    if isinstance(factor, torch.Tensor):
        return Source((key,), lambda ts: ts[0].float() * factor.view(-1, *[1] * (ts[0].dim() - 1)))
    return Source((key,), lambda ts: ts[0].float() * factor)


class FalconH1Adapter:
    architectures = ("FalconH1ForCausalLM",)

    def model_config(self, raw: dict, source: Path) -> ModelConfig:
        d_model = int(require(raw, "hidden_size", source))
        mixer = FalconH1MixerConfig(mamba_config(raw, d_model, source),
                                    attention_config(raw, d_model, source))
        mlp = MLPConfig(d_ff=int(require(raw, "intermediate_size", source)), activation="silu",
                        bias=bool(raw.get("mlp_bias", False)))
        blocks: list[BlockConfig] = []
        for _ in range(int(require(raw, "num_hidden_layers", source))):
            blocks += [BlockConfig("falcon_h1", mixer), BlockConfig("mlp", mlp)]
        mults = {k: float(raw.get(k) if raw.get(k) is not None else v)
                 for k, v in MULTIPLIERS.items()}
        mults["mlp_multipliers"] = [float(x) for x in raw.get("mlp_multipliers") or (1.0, 1.0)]
        mults["ssm_multipliers"] = [float(x) for x in raw.get("ssm_multipliers") or [1.0] * 5]
        return ModelConfig(
            "FalconH1ForCausalLM", int(require(raw, "vocab_size", source)), d_model, blocks,
            norm_eps=float(raw.get("rms_norm_eps", 1e-5)),
            tie_embeddings=bool(raw.get("tie_word_embeddings", False)),
            embedding_multiplier=float(raw.get("embedding_multiplier") or 1.0),
            logits_multiplier=float(raw.get("lm_head_multiplier") or 1.0),
            bos_token_id=raw.get("bos_token_id"), eos_token_id=raw.get("eos_token_id"),
            extra={"multipliers": mults},
        )

    def source(self, name: str, cfg: ModelConfig, available: set[str]) -> Source | None:
        top = {"embed.weight": "model.embed_tokens.weight",
               "norm_f.weight": "model.final_layernorm.weight", "lm_head.weight": "lm_head.weight"}
        if name in top:
            return Source((top[name],))
        match = BLOCK.fullmatch(name)
        if match is None:
            raise KeyError(name)
        block, rest = int(match.group(1)), match.group(3)
        layer = f"model.layers.{block // 2}."
        if rest is None:
            norm = "input_layernorm" if block % 2 == 0 else "pre_ff_layernorm"
            return Source((f"{layer}{norm}.weight",))
        mults = cfg.extra["multipliers"]
        if block % 2 == 1:
            return mlp_source(layer, rest, mults)
        if rest.startswith("mamba."):
            return mamba_source(layer, rest.removeprefix("mamba."), cfg.blocks[block].mixer, mults)
        return attention_source(layer, rest.removeprefix("attn."), mults)


def mlp_source(layer: str, rest: str, mults: dict) -> Source:
    gate, down = mults["mlp_multipliers"]
    factor = {"gate_proj": gate, "down_proj": down}.get(rest.split(".")[0], 1.0)
    return scaled(f"{layer}feed_forward.{rest}", factor)


def mamba_source(layer: str, rest: str, mixer: FalconH1MixerConfig, mults: dict) -> Source:
    key = f"{layer}mamba.{mamba2_mixer_key(rest)}"
    if rest.startswith("in_proj."):
        mup = mup_vector(mixer.mamba, mults["ssm_multipliers"])
        return scaled(key, mup * (mults["ssm_in_multiplier"] if rest.endswith("weight") else 1.0))
    if rest.startswith("out_proj."):
        return scaled(key, mults["ssm_out_multiplier"])
    return Source((key,))


def attention_source(layer: str, rest: str, mults: dict) -> Source:
    proj, kind = rest.split(".")
    factor = 1.0 if kind == "bias" else mults["attention_in_multiplier"]
    if proj == "k_proj":
        factor *= mults["key_multiplier"]
    if proj == "o_proj":
        factor = mults["attention_out_multiplier"]
    return scaled(f"{layer}self_attn.{rest}", factor)


register(FalconH1Adapter())
