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

from pathlib import Path

import torch

from autan.model.archs.base import Source, register, require
from autan.model.archs.common import (
    HF_TOP,
    attention_biases,
    build_model_config,
    hf_attention,
    mamba2_from_fields,
    paired_layer_source,
    plain_rope_theta,
    require_silu,
    swiglu_mlp,
)
from autan.model.archs.mamba2 import mamba2_mixer_key
from autan.model.config import AttentionConfig, BlockConfig, Mamba2Config, ModelConfig
from autan.model.errors import ModelFileError
from autan.model.layers.falcon_h1_hybrid import FalconH1MixerConfig

MULTIPLIERS = {  # config field -> default
    "attention_in_multiplier": 1.0, "attention_out_multiplier": 1.0, "key_multiplier": 1.0,
    "ssm_in_multiplier": 1.0, "ssm_out_multiplier": 1.0,
}


def mamba_config(raw: dict, d_model: int, source: Path) -> Mamba2Config:
    d_inner = raw.get("mamba_d_ssm", 1024) or int(raw.get("mamba_expand", 2)) * d_model
    nheads = int(raw.get("mamba_n_heads", 128))
    headdim = raw.get("mamba_d_head", "auto")
    if bool(raw.get("mamba_proj_bias", False)) != bool(raw.get("projectors_bias", False)):
        raise ModelFileError(source, "mamba_proj_bias != projectors_bias is not supported "
                             "(the engine's Mamba-2 uses one bias flag for in_proj and out_proj)")
    require_silu(raw, "hidden_act", source)  # the MLP's and the Mamba conv's activation
    return mamba2_from_fields(
        raw, nheads, int(d_inner) // nheads if headdim == "auto" else int(headdim),
        norm_eps=float(raw.get("rms_norm_eps", 1e-5)),
        norm_before_gate=bool(raw.get("mamba_norm_before_gate", True)),
        gated_norm=bool(raw.get("mamba_rms_norm", False)),
    )


def attention_config(raw: dict, d_model: int, source: Path) -> AttentionConfig:
    """Plain RoPE over the whole head, scale headdim ** -0.5."""
    return hf_attention(raw, d_model, source, rope_theta=plain_rope_theta(raw, source),
                        **attention_biases(raw))


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
        mlp = swiglu_mlp(raw, source)
        blocks: list[BlockConfig] = []
        for _ in range(int(require(raw, "num_hidden_layers", source))):
            blocks += [BlockConfig("falcon_h1", mixer), BlockConfig("mlp", mlp)]
        mults = {k: float(raw.get(k) if raw.get(k) is not None else v)
                 for k, v in MULTIPLIERS.items()}
        mults["mlp_multipliers"] = [float(x) for x in raw.get("mlp_multipliers") or (1.0, 1.0)]
        mults["ssm_multipliers"] = [float(x) for x in raw.get("ssm_multipliers") or [1.0] * 5]
        return build_model_config(
            "FalconH1ForCausalLM", raw, source, d_model, blocks,
            norm_eps=float(raw.get("rms_norm_eps", 1e-5)),
            tie_embeddings=bool(raw.get("tie_word_embeddings", False)),
            embedding_multiplier=float(raw.get("embedding_multiplier") or 1.0),
            logits_multiplier=float(raw.get("lm_head_multiplier") or 1.0),
            extra={"multipliers": mults},
        )

    def source(self, name: str, cfg: ModelConfig, available: set[str]) -> Source | None:
        def mixer(block: int, layer: str, rest: str) -> Source:
            mults = cfg.extra["multipliers"]
            if block % 2 == 1:
                return mlp_source(layer, rest, mults)
            if rest.startswith("mamba."):
                mamba = rest.removeprefix("mamba.")
                return mamba_source(layer, mamba, cfg.blocks[block].mixer, mults)
            return attention_source(layer, rest.removeprefix("attn."), mults)

        return paired_layer_source(name, HF_TOP, "pre_ff_layernorm", mixer)


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
