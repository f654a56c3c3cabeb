"""Mamba-2 checkpoints: HF `Mamba2ForCausalLM` and Mistral's `params.json` (Codestral Mamba)."""

from __future__ import annotations

from pathlib import Path

from autan.model.archs.base import Source, json_float, register, require
from autan.model.archs.common import backbone_source, build_model_config
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
            eps, tie = 1e-5, bool(raw.get("tie_embeddings", False))
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
            tie = bool(raw.get("tie_word_embeddings", False))
        blocks = [BlockConfig("mamba2", mixer) for _ in range(n_layers)]
        return build_model_config("Mamba2ForCausalLM", raw, source, d_model, blocks, norm_eps=eps,
                                  tie_embeddings=tie)

    def hf_config(self, cfg: ModelConfig) -> dict:
        """The config.json transformers would write for this model (for `writer.py`)."""
        m = cfg.blocks[0].mixer
        return {
            "architectures": ["Mamba2ForCausalLM"], "model_type": "mamba2",
            "vocab_size": cfg.vocab_size, "hidden_size": cfg.d_model,
            "num_hidden_layers": cfg.n_blocks, "num_heads": m.nheads, "head_dim": m.headdim,
            "expand": m.d_inner // cfg.d_model, "state_size": m.d_state,
            "n_groups": m.n_groups, "conv_kernel": m.d_conv, "chunk_size": m.chunk_size,
            "use_conv_bias": m.conv_bias, "use_bias": m.proj_bias,
            "layer_norm_epsilon": cfg.norm_eps, "tie_word_embeddings": cfg.tie_embeddings,
            "time_step_limit": [m.dt_limit[0], {"__float__": "Infinity"}
                                if m.dt_limit[1] == float("inf") else m.dt_limit[1]],
            "bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id,
            "residual_in_fp32": True,
        }

    def source(self, name: str, cfg: ModelConfig, available: set[str]) -> Source | None:
        prefix = "model." if any(k.startswith("model.backbone.") for k in available) else ""
        return backbone_source(name, prefix, mamba2_mixer_key, available)


register(Mamba2Adapter())
