"""Zamba2 checkpoints: HF `Zamba2ForCausalLM`.

One block per layer: a "mamba2" block for a plain Mamba layer, a "zamba2_hybrid" block (no
pre-norm; the mixer norms internally) for a hybrid one. Hybrid layer k (counting hybrid layers
only) uses shared transformer block k % num_mem_blocks. transformers saves a shared block's
weights, and the adapters of every layer that uses it (adapter list index k), once, under the
first hybrid layer that uses it; a checkpoint that repeats them under each layer is read too.
"""

from __future__ import annotations

import re
from pathlib import Path

from autan.model.archs.base import Source, first_present, register, require, split_block_name
from autan.model.archs.common import (
    HF_TOP,
    activation_name,
    build_model_config,
    plain_rope_theta,
    rows,
)
from autan.model.archs.mamba2 import mamba2_mixer_key
from autan.model.config import AttentionConfig, BlockConfig, Mamba2Config, MLPConfig, ModelConfig
from autan.model.errors import ModelFileError
from autan.model.layers.zamba2_hybrid import Zamba2HybridConfig

SHARED_KEYS = {  # engine name under `shared.` -> suffix under `shared_transformer.`
    "in_norm.weight": "input_layernorm.weight", "ff_norm.weight": "pre_ff_layernorm.weight",
    "q.weight": "self_attn.q_proj.weight", "k.weight": "self_attn.k_proj.weight",
    "v.weight": "self_attn.v_proj.weight", "o.weight": "self_attn.o_proj.weight",
    "down.weight": "feed_forward.down_proj.weight", "down.bias": "feed_forward.down_proj.bias",
}


def rope_theta(raw: dict, source: Path) -> float | None:
    """None without `use_mem_rope` (the shared attention then has no positions at all)."""
    if not raw.get("use_mem_rope", False):
        return None
    return plain_rope_theta(raw, source)


def hybrid_config(raw: dict, d_model: int, mamba: Mamba2Config, source: Path) -> dict:
    """The parts of a hybrid layer's config that every hybrid layer shares."""
    nheads = int(require(raw, "num_attention_heads", source))
    headdim = 2 * d_model // nheads  # the shared attention reads [stream, embeddings]
    attention = AttentionConfig(
        nheads=nheads, nkv_heads=int(raw.get("num_key_value_heads") or nheads), headdim=headdim,
        rope_theta=rope_theta(raw, source), scale=(headdim / 2) ** -0.5,
    )
    mlp = MLPConfig(d_ff=int(raw.get("intermediate_size") or 4 * d_model),
                    activation=activation_name(raw, "hidden_act", "gelu", source),
                    bias=bool(raw.get("add_bias_linear", False)))
    return dict(mamba=mamba, attention=attention, mlp=mlp,
                adapter_rank=int(raw.get("adapter_rank", 128)),
                attention_adapters=bool(raw.get("use_shared_attention_adapter", False)),
                norm_eps=float(raw.get("rms_norm_eps", 1e-5)))


def mamba_config(raw: dict, d_model: int, source: Path) -> Mamba2Config:
    nheads = int(raw.get("n_mamba_heads", 8))
    return Mamba2Config(
        nheads=nheads, headdim=int(raw.get("mamba_expand", 2)) * d_model // nheads,
        d_state=int(raw.get("mamba_d_state", 64)), n_groups=int(raw.get("mamba_ngroups", 1)),
        d_conv=int(raw.get("mamba_d_conv", 4)), chunk_size=int(raw.get("chunk_size", 256)),
        conv_bias=True,  # transformers builds Zamba2's conv with a bias whatever the config says
        proj_bias=bool(raw.get("add_bias_linear", False)),
        norm_eps=1e-5,  # fixed in transformers' Zamba2MambaMixer
        # Only a lower bound (time_step_min); transformers applies it in the chunked scan.
        dt_limit=(float(raw.get("time_step_min", 0.001)), float("inf")),
    )


class Zamba2Adapter:
    architectures = ("Zamba2ForCausalLM",)

    def model_config(self, raw: dict, source: Path) -> ModelConfig:
        d_model = int(require(raw, "hidden_size", source))
        types = raw.get("layers_block_type") or require(raw, "layer_types", source)
        if len(types) != int(require(raw, "num_hidden_layers", source)):
            raise ModelFileError(source, "layers_block_type does not list every layer")
        mamba = mamba_config(raw, d_model, source)
        shared = hybrid_config(raw, d_model, mamba, source)
        n_mem = int(raw.get("num_mem_blocks", 1))
        blocks, n_hybrid = [], 0
        for kind in types:
            if kind == "hybrid":
                hybrid = Zamba2HybridConfig(shared_id=n_hybrid % n_mem, **shared)
                blocks.append(BlockConfig("zamba2_hybrid", hybrid, norm=False))
                n_hybrid += 1
            else:
                blocks.append(BlockConfig("mamba2", mamba))
        return build_model_config(
            "Zamba2ForCausalLM", raw, source, d_model, blocks,
            norm_eps=float(raw.get("rms_norm_eps", 1e-5)),
            tie_embeddings=bool(raw.get("tie_word_embeddings", True)),
        )

    def source(self, name: str, cfg: ModelConfig, available: set[str]) -> Source | None:
        if name in HF_TOP:
            return Source((HF_TOP[name],))
        block, rest = split_block_name(name)
        layer = f"model.layers.{block}."
        if cfg.blocks[block].kind == "mamba2":
            suffix = "input_layernorm.weight" if rest is None else "mamba." + mamba2_mixer_key(rest)
            return Source((layer + suffix,))
        if rest.startswith("mamba."):
            return Source((f"{layer}mamba_decoder.mamba.{mamba2_mixer_key(rest[6:])}",))
        own = {"mamba_norm.weight": "mamba_decoder.input_layernorm.weight",
               "linear.weight": "linear.weight"}
        if rest in own:
            return Source((layer + own[rest],))
        return shared_source(rest, block, cfg, available)


def shared_source(rest: str, block: int, cfg: ModelConfig, available: set[str]) -> Source:
    """A shared-transformer weight or one of this use's adapters."""
    hybrids = [i for i, b in enumerate(cfg.blocks) if b.kind == "zamba2_hybrid"]
    use = hybrids.index(block)
    owner = hybrids[cfg.blocks[block].mixer.shared_id]  # first layer using this shared block
    d_ff = cfg.blocks[block].mixer.mlp.d_ff

    def key(suffix: str) -> str:
        return first_present([f"model.layers.{i}.shared_transformer.{suffix}"
                              for i in (owner, block)], available)

    gate_up = re.fullmatch(r"shared\.(gate|up)\.(weight|bias)", rest)
    if gate_up:  # halves of the fused gate_up projection
        return halves(key(f"feed_forward.gate_up_proj.{gate_up[2]}"), gate_up[1] == "gate", d_ff)
    if rest.startswith("shared."):
        return Source((key(SHARED_KEYS[rest[7:]]),))
    lora = re.fullmatch(r"(attn|mlp)\.(\w)\w*_proj\.(down|up)\.weight", rest)
    if lora is None:
        raise KeyError(rest)
    part, proj, side = lora.groups()
    index = 0 if side == "down" else 1
    if part == "attn":
        return Source((key(f"self_attn.linear_{proj}_adapter_list.{use}.{index}.weight"),))
    adapter = key(f"feed_forward.gate_up_proj_adapter_list.{use}.{index}.weight")
    return Source((adapter,)) if side == "down" else halves(adapter, proj == "g", d_ff)


def halves(key: str, first: bool, d_ff: int) -> Source:
    """Rows [:d_ff] (gate) or [d_ff:] (up) of a fused gate_up tensor."""
    return Source((key,), rows(0, d_ff) if first else rows(d_ff, None))


register(Zamba2Adapter())
