"""Mistral transformers (Codestral 22B): HF `MistralForCausalLM` and Mistral's `params.json`.

Each layer becomes two blocks: attention (block 2i) and the gated MLP (block 2i + 1).
"""

from __future__ import annotations

from pathlib import Path

import torch

from autan.model.archs.base import Source, register, require, split_block_name
from autan.model.archs.common import build_model_config
from autan.model.config import AttentionConfig, BlockConfig, MLPConfig, ModelConfig

HF_KEYS = {
    "attention": {
        "norm.weight": "input_layernorm.weight",
        "q_proj.weight": "self_attn.q_proj.weight",
        "k_proj.weight": "self_attn.k_proj.weight",
        "v_proj.weight": "self_attn.v_proj.weight",
        "o_proj.weight": "self_attn.o_proj.weight",
    },
    "mlp": {
        "norm.weight": "post_attention_layernorm.weight",
        "gate_proj.weight": "mlp.gate_proj.weight",
        "up_proj.weight": "mlp.up_proj.weight",
        "down_proj.weight": "mlp.down_proj.weight",
    },
}
MISTRAL_KEYS = {
    "attention": {
        "norm.weight": "attention_norm.weight",
        "q_proj.weight": "attention.wq.weight",
        "k_proj.weight": "attention.wk.weight",
        "v_proj.weight": "attention.wv.weight",
        "o_proj.weight": "attention.wo.weight",
    },
    "mlp": {
        "norm.weight": "ffn_norm.weight",
        "gate_proj.weight": "feed_forward.w1.weight",
        "up_proj.weight": "feed_forward.w3.weight",
        "down_proj.weight": "feed_forward.w2.weight",
    },
}


def interleaved_to_half(nheads: int) -> object:
    """Mistral's own checkpoints rotate (x0, x1), (x2, x3)... pairs; the engine rotates the
    first half against the second. Reordering the rows of wq/wk makes them equivalent."""

    def permute(tensors: list[torch.Tensor]) -> torch.Tensor:
        w = tensors[0]
        rows, cols = w.shape
        return w.view(nheads, rows // nheads // 2, 2, cols).transpose(1, 2).reshape(rows, cols)

    return permute


class MistralAdapter:
    architectures = ("MistralForCausalLM", "mistral:transformer")

    def model_config(self, raw: dict, source: Path) -> ModelConfig:
        mistral = "dim" in raw

        def get(mistral_key: str, hf_key: str) -> object:
            return raw.get(mistral_key if mistral else hf_key)

        d_model = int(require(raw, "dim" if mistral else "hidden_size", source))
        nheads = int(require(raw, "n_heads" if mistral else "num_attention_heads", source))
        nkv = int(get("n_kv_heads", "num_key_value_heads") or nheads)
        headdim = int(get("head_dim", "head_dim") or d_model // nheads)
        rope = raw.get("rope_parameters") or {}
        theta = float(rope.get("rope_theta") or raw.get("rope_theta") or
                      (1e6 if mistral else 10000.0))
        window = get("sliding_window", "sliding_window")
        d_ff = int(require(raw, "hidden_dim" if mistral else "intermediate_size", source))
        n_layers = int(require(raw, "n_layers" if mistral else "num_hidden_layers", source))
        blocks: list[BlockConfig] = []
        for _ in range(n_layers):
            att = AttentionConfig(nheads=nheads, nkv_heads=nkv, headdim=headdim, rope_theta=theta,
                                  sliding_window=int(window) if window else None)
            blocks += [BlockConfig("attention", att),
                       BlockConfig("mlp", MLPConfig(d_ff=d_ff, activation="silu"))]
        return build_model_config(
            "MistralForCausalLM", raw, source, d_model, blocks,
            norm_eps=float(get("norm_eps", "rms_norm_eps") or 1e-5),
            tie_embeddings=bool(raw.get("tie_word_embeddings", False)),
            extra={"mistral_format": mistral},
        )

    def source(self, name: str, cfg: ModelConfig, available: set[str]) -> Source | None:
        mistral = cfg.extra.get("mistral_format", False)
        top = {"embed.weight": ("tok_embeddings.weight", "model.embed_tokens.weight"),
               "norm_f.weight": ("norm.weight", "model.norm.weight"),
               "lm_head.weight": ("output.weight", "lm_head.weight")}
        if name in top:
            return Source((top[name][0 if mistral else 1],))
        block, mixer_rest = split_block_name(name)
        kind = cfg.blocks[block].kind
        rest = "norm.weight" if mixer_rest is None else mixer_rest
        suffix = (MISTRAL_KEYS if mistral else HF_KEYS)[kind][rest]
        key = f"layers.{block // 2}.{suffix}" if mistral else f"model.layers.{block // 2}.{suffix}"
        if mistral and rest in ("q_proj.weight", "k_proj.weight"):
            att = cfg.blocks[block].mixer
            heads = att.nheads if rest == "q_proj.weight" else att.nkv_heads
            return Source((key,), interleaved_to_half(heads))
        return Source((key,))


register(MistralAdapter())
