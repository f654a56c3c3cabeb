"""Mamba-1 checkpoints: HF `MambaForCausalLM`."""

from __future__ import annotations

import math
import re
from pathlib import Path

from autan.model.archs.base import Source, first_present, register, require
from autan.model.config import BlockConfig, Mamba1Config, ModelConfig

MIXER_KEYS = {
    "in_proj.weight": "in_proj.weight",
    "in_proj.bias": "in_proj.bias",
    "conv_weight": "conv1d.weight",
    "conv_bias": "conv1d.bias",
    "x_proj.weight": "x_proj.weight",
    "dt_proj.weight": "dt_proj.weight",
    "dt_proj.bias": "dt_proj.bias",
    "A_log": "A_log",
    "D": "D",
    "out_proj.weight": "out_proj.weight",
    "out_proj.bias": "out_proj.bias",
    "inner_norms.dt.weight": "dt_layernorm.weight",
    "inner_norms.B.weight": "b_layernorm.weight",
    "inner_norms.C.weight": "c_layernorm.weight",
}
BLOCK = re.compile(r"blocks\.(\d+)\.(norm\.weight|mixer\.(.+))")


def mamba1_mixer_key(rest: str) -> str:
    """Checkpoint suffix of a Mamba-1 mixer parameter (shared with the Jamba adapter)."""
    return MIXER_KEYS[rest]


class MambaAdapter:
    architectures = ("MambaForCausalLM",)

    def model_config(self, raw: dict, source: Path) -> ModelConfig:
        d_model = int(require(raw, "hidden_size", source))
        d_inner = int(raw.get("intermediate_size") or int(raw.get("expand", 2)) * d_model)
        rank = raw.get("time_step_rank", "auto")
        mixer = Mamba1Config(
            d_inner=d_inner,
            d_state=int(raw.get("state_size", 16)),
            d_conv=int(raw.get("conv_kernel", 4)),
            dt_rank=math.ceil(d_model / 16) if rank == "auto" else int(rank),
            conv_bias=bool(raw.get("use_conv_bias", True)),
            proj_bias=bool(raw.get("use_bias", False)),
        )
        n_layers = int(require(raw, "num_hidden_layers", source))
        return ModelConfig(
            "MambaForCausalLM", int(require(raw, "vocab_size", source)), d_model,
            [BlockConfig("mamba1", mixer) for _ in range(n_layers)],
            norm_eps=float(raw.get("layer_norm_epsilon", 1e-5)),
            tie_embeddings=bool(raw.get("tie_word_embeddings", True)),
            bos_token_id=raw.get("bos_token_id"), eos_token_id=raw.get("eos_token_id"),
        )

    def source(self, name: str, cfg: ModelConfig, available: set[str]) -> Source | None:
        if name == "embed.weight":
            return Source((first_present(["backbone.embeddings.weight",
                                          "backbone.embedding.weight"], available),))
        if name == "norm_f.weight":
            return Source(("backbone.norm_f.weight",))
        if name == "lm_head.weight":
            return Source(("lm_head.weight",))
        match = BLOCK.fullmatch(name)
        if match is None:
            raise KeyError(name)
        layer, _, rest = match.groups()
        suffix = "norm.weight" if rest is None else "mixer." + mamba1_mixer_key(rest)
        return Source((f"backbone.layers.{layer}.{suffix}",))


register(MambaAdapter())
