"""Mamba-1 checkpoints: HF `MambaForCausalLM`."""

from __future__ import annotations

import math
from pathlib import Path

from autan.model.archs.base import Source, register, require
from autan.model.archs.common import backbone_source, build_model_config
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
        return build_model_config(
            "MambaForCausalLM", raw, source, d_model,
            [BlockConfig("mamba1", mixer) for _ in range(n_layers)],
            norm_eps=float(raw.get("layer_norm_epsilon", 1e-5)),
            tie_embeddings=bool(raw.get("tie_word_embeddings", True)),
        )

    def source(self, name: str, cfg: ModelConfig, available: set[str]) -> Source | None:
        return backbone_source(name, "", mamba1_mixer_key, available)


register(MambaAdapter())
