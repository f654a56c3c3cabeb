"""Mamba-2 checkpoints: HF `Mamba2ForCausalLM` and Mistral's `params.json` (Codestral Mamba)."""

from __future__ import annotations

import re
from pathlib import Path

from autan.model.archs.base import Source, first_present, json_float, register, require
from autan.model.config import BlockConfig, Mamba2Config, ModelConfig

MIXER_KEYS = {
    "in_proj.weight": "in_proj.weight",
    "in_proj.bias": "in_proj.bias",
    "conv_weight": "conv1d.weight",
    "conv_bias": "conv1d.bias",
    "dt_bias": "dt_bias",
    "A_log": "A_log",
    "D": "D",
    "norm_weight": "norm.weight",
    "out_proj.weight": "out_proj.weight",
    "out_proj.bias": "out_proj.bias",
}
BLOCK = re.compile(r"blocks\.(\d+)\.(norm\.weight|mixer\.(.+))")


def mamba2_mixer_key(rest: str) -> str:
    """Checkpoint suffix of a Mamba-2 mixer parameter (shared by the hybrid adapters)."""
    return MIXER_KEYS[rest]


class Mamba2Adapter:
    """HF layout: `backbone.layers.{i}.mixer.*`; Mistral layout adds a `model.` prefix and
    calls the embedding `embedding` (HF: `embeddings`)."""

    architectures = ("Mamba2ForCausalLM", "mistral:mamba")

    def model_config(self, raw: dict, source: Path) -> ModelConfig:
        if "dim" in raw:  # Mistral params.json; shapes are mamba_ssm's Mamba-2 defaults
            d_model = int(require(raw, "dim", source))
            n_layers = int(require(raw, "n_layers", source))
            mixer = Mamba2Config(nheads=2 * d_model // 64, headdim=64,
                                 n_groups=int(raw.get("n_groups", 1)))
            vocab, eps, tie = int(require(raw, "vocab_size", source)), 1e-5, bool(
                raw.get("tie_embeddings", False))
        else:
            d_model = int(require(raw, "hidden_size", source))
            n_layers = int(require(raw, "num_hidden_layers", source))
            eps = float(raw.get("layer_norm_epsilon", 1e-5))
            mixer = Mamba2Config(
                nheads=int(require(raw, "num_heads", source)),
                headdim=int(raw.get("head_dim", 64)),
                d_state=int(raw.get("state_size", 128)),
                n_groups=int(raw.get("n_groups", 1)),
                d_conv=int(raw.get("conv_kernel", 4)),
                chunk_size=int(raw.get("chunk_size", 256)),
                conv_bias=bool(raw.get("use_conv_bias", True)),
                proj_bias=bool(raw.get("use_bias", False)),
                norm_eps=eps,
                dt_limit=tuple(json_float(x) for x in raw.get("time_step_limit", (0.0, "inf"))),
            )
            vocab, tie = int(require(raw, "vocab_size", source)), bool(
                raw.get("tie_word_embeddings", False))
        blocks = [BlockConfig("mamba2", mixer) for _ in range(n_layers)]
        return ModelConfig("Mamba2ForCausalLM", vocab, d_model, blocks, norm_eps=eps,
                           tie_embeddings=tie, bos_token_id=raw.get("bos_token_id"),
                           eos_token_id=raw.get("eos_token_id"))

    def source(self, name: str, cfg: ModelConfig, available: set[str]) -> Source | None:
        prefix = "model." if any(k.startswith("model.backbone.") for k in available) else ""
        backbone = prefix + "backbone."
        if name == "embed.weight":
            return Source((first_present([backbone + "embeddings.weight",
                                          backbone + "embedding.weight"], available),))
        if name == "norm_f.weight":
            return Source((backbone + "norm_f.weight",))
        if name == "lm_head.weight":
            return Source((prefix + "lm_head.weight",))
        match = BLOCK.fullmatch(name)
        if match is None:
            raise KeyError(name)
        layer, part, rest = match.groups()
        suffix = "norm.weight" if rest is None else "mixer." + mamba2_mixer_key(rest)
        return Source((f"{backbone}layers.{layer}.{suffix}",))


register(Mamba2Adapter())
