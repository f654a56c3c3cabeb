"""Nemotron-H hybrids: HF `NemotronHForCausalLM` (Nemotron-H, Nemotron Nano 2, Nemotron 3).

One checkpoint layer is one engine block: RMSNorm, then a single mixer chosen by the pattern
(`hybrid_override_pattern` on the Hub, `layers_block_type` in transformers 5):
    M  Mamba-2 (gate before the RMSNorm, grouped by n_groups; eps = layer_norm_epsilon)
    *  attention without any positional encoding (NoPE), no biases
    -  non-gated MLP, down(act(up(x))) with act = mlp_hidden_act (relu2: relu(x) ** 2)
    E  mixture of experts: non-gated relu2 experts chosen by a DeepSeek-V3 sigmoid router
       (per-expert `e_score_correction_bias`, top `topk_group` of `n_group` groups, weights
       normalised if `norm_topk_prob`, times `routed_scaling_factor`), plus one always-on
       shared expert; with `moe_latent_size` the routed experts work in a projected space.
No embedding or residual scaling; the head is never tied (transformers ties nothing here).

Weights: transformers 5 `save_pretrained` writes the Hub layout, `backbone.` prefix and one
tensor per expert (`mixer.experts.{j}.up_proj.weight`); it renames to `model.` and stacks the
experts (`mixer.experts.up_proj`, (n_experts, d_ff, d)) in memory only. Both are accepted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from autan.model.archs.base import (
    Source,
    first_present,
    json_float,
    register,
    require,
    split_block_name,
)
from autan.model.archs.common import (
    activation_name,
    build_model_config,
    expert_source,
    require_silu,
)
from autan.model.archs.mamba2 import mamba2_mixer_key
from autan.model.config import (
    AttentionConfig,
    BlockConfig,
    Mamba2Config,
    MixerKind,
    MLPConfig,
    ModelConfig,
    MoEConfig,
)
from autan.model.errors import ModelFileError

PATTERN_KINDS: dict[str, MixerKind] = {"M": "mamba2", "*": "attention", "-": "mlp", "E": "moe"}
# transformers 5 names, then the names of NVIDIA's original remote code.
TYPE_KINDS: dict[str, MixerKind] = {
    "linear_attention": "mamba2", "full_attention": "attention", "mlp": "mlp", "moe": "moe",
    "mamba": "mamba2", "attention": "attention",
}
# Engine MoE parameter -> checkpoint name under `mixer.` (experts are handled apart).
MOE_KEYS = {
    "router.weight": "gate.weight",
    "e_score_correction_bias": "gate.e_score_correction_bias",
    "latent_in.weight": "fc1_latent_proj.weight",
    "latent_out.weight": "fc2_latent_proj.weight",
    "shared.up_proj.weight": "shared_experts.up_proj.weight",
    "shared.down_proj.weight": "shared_experts.down_proj.weight",
}
EXPERT_PROJ = {"gate_up": "up_proj", "down": "down_proj"}


def pick(raw: dict, names: tuple[str, ...], default: Any) -> Any:
    """The first of `names` present: transformers 5 renamed several fields (n_groups was
    mamba_n_groups, chunk_size was mamba_chunk_size...) and Hub files use either spelling."""
    return next((raw[n] for n in names if raw.get(n) is not None), default)


def layer_kinds(raw: dict, source: Path) -> list[MixerKind]:
    """The mixer of each layer, from the list of layer types or the pattern string."""
    types = raw.get("layers_block_type") or raw.get("layer_types")
    if types is None:
        pattern = str(require(raw, "hybrid_override_pattern", source))
        unknown = sorted(set(pattern) - set(PATTERN_KINDS))
        if unknown:
            raise ModelFileError(source, f"unknown layer symbols {unknown} in "
                                 "hybrid_override_pattern (valid: M * - E)")
        return [PATTERN_KINDS[c] for c in pattern]
    unknown = sorted({str(t) for t in types} - set(TYPE_KINDS))
    if unknown:
        raise ModelFileError(source, f"unknown layer types {unknown} in layers_block_type")
    return [TYPE_KINDS[t] for t in types]


def dt_limit(raw: dict) -> tuple[float, float]:
    """The clamp on dt the checkpoint declares, `time_step_limit` ((0, inf) on the Hub), as
    mamba_ssm's kernels, NVIDIA's CUDA path and vLLM apply it. transformers 5 (and NVIDIA's
    PyTorch fallback) clamp at `time_step_min` (0.001) instead, which changes every head whose
    dt falls below it; `time_step_min` is an init bound, so the engine does not clamp there."""
    limit = pick(raw, ("time_step_limit", "mamba_dt_limit"), (0.0, float("inf")))
    low, high = (json_float(x) for x in limit)
    return low, high


def mamba_config(raw: dict, source: Path) -> Mamba2Config:
    """Mamba-2 as Nemotron-H sizes it: heads x head_dim given directly (not via expand)."""
    require_silu(raw, "mamba_hidden_act", source)
    return Mamba2Config(
        nheads=int(raw.get("mamba_num_heads", 128)),
        headdim=int(raw.get("mamba_head_dim", 64)),
        d_state=int(raw.get("ssm_state_size", 128)),
        n_groups=int(pick(raw, ("n_groups", "mamba_n_groups"), 8)),
        d_conv=int(pick(raw, ("conv_kernel", "mamba_d_conv"), 4)),
        chunk_size=int(pick(raw, ("chunk_size", "mamba_chunk_size"), 128)),
        conv_bias=bool(pick(raw, ("use_conv_bias", "mamba_conv_bias"), True)),
        proj_bias=bool(raw.get("use_bias", False)),
        norm_eps=float(raw.get("layer_norm_epsilon", 1e-5)),
        norm_before_gate=False,
        dt_limit=dt_limit(raw),
    )


def attention_config(raw: dict, d_model: int, source: Path) -> AttentionConfig:
    """NoPE attention; transformers builds it without biases whatever `attention_bias` says."""
    nheads = int(require(raw, "num_attention_heads", source))
    headdim = pick(raw, ("head_dim", "attention_head_dim"), None) or d_model // nheads
    return AttentionConfig(nheads=nheads, nkv_heads=int(raw.get("num_key_value_heads") or nheads),
                           headdim=int(headdim), rope_theta=None)


def moe_config(raw: dict, act: str, source: Path) -> MoEConfig:
    """Routed experts and the shared expert are both non-gated, with the MLP activation.
    `n_shared_experts` is not read: transformers builds exactly one shared expert."""
    if raw.get("mlp_bias"):
        raise ModelFileError(source, "mlp_bias with MoE layers is not supported")
    return MoEConfig(
        n_experts=int(require(raw, "n_routed_experts", source)),
        top_k=int(raw.get("num_experts_per_tok", 2)),
        d_ff=int(require(raw, "moe_intermediate_size", source)),
        activation=act, gated=False, router="sigmoid_group",
        normalize_topk=bool(raw.get("norm_topk_prob", True)),
        shared_d_ff=int(require(raw, "moe_shared_expert_intermediate_size", source)),
        n_group=int(raw.get("n_group") or 1), topk_group=int(raw.get("topk_group") or 1),
        routed_scaling_factor=float(raw.get("routed_scaling_factor") or 1.0),
        latent_dim=int(raw.get("moe_latent_size") or 0),
    )


class NemotronHAdapter:
    architectures = ("NemotronHForCausalLM",)

    def model_config(self, raw: dict, source: Path) -> ModelConfig:
        d_model = int(require(raw, "hidden_size", source))
        act = activation_name(raw, "mlp_hidden_act", "relu2", source)
        makers = {
            "mamba2": lambda: mamba_config(raw, source),
            "attention": lambda: attention_config(raw, d_model, source),
            "mlp": lambda: MLPConfig(d_ff=int(require(raw, "intermediate_size", source)),
                                     activation=act, gated=False,
                                     bias=bool(raw.get("mlp_bias", False))),
            "moe": lambda: moe_config(raw, act, source),
        }
        blocks = [BlockConfig(kind, makers[kind]()) for kind in layer_kinds(raw, source)]
        return build_model_config(
            "NemotronHForCausalLM", raw, source, d_model, blocks,
            norm_eps=float(raw.get("layer_norm_epsilon", 1e-5)), tie_embeddings=False,
        )

    def hf_config(self, cfg: ModelConfig) -> dict:
        """The config.json for a model of M / * / - blocks (for `writer.py`), in the Hub
        spelling `model_config` reads back to the same `ModelConfig`. The layout has one
        Mamba-2, one attention and one MLP config for all layers; a model that differs by
        layer, or that this adapter would read differently, is refused (ValueError)."""
        symbols = {"mamba2": "M", "attention": "*", "mlp": "-"}
        kinds = {b.kind: b.mixer for b in cfg.blocks}
        if set(kinds) - set(symbols) or any(kinds[b.kind] != b.mixer for b in cfg.blocks):
            raise ValueError("NemotronH config.json needs one config per kind among M * -")
        out: dict = {
            "architectures": ["NemotronHForCausalLM"], "model_type": "nemotron_h",
            "vocab_size": cfg.vocab_size, "hidden_size": cfg.d_model,
            "num_hidden_layers": cfg.n_blocks,
            "hybrid_override_pattern": "".join(symbols[b.kind] for b in cfg.blocks),
            "layer_norm_epsilon": cfg.norm_eps, "tie_word_embeddings": cfg.tie_embeddings,
            "bos_token_id": cfg.bos_token_id, "eos_token_id": cfg.eos_token_id,
            "residual_in_fp32": True, "use_bias": False, "mlp_bias": False,
        }
        for kind, fields in (("mamba2", nemotron_mamba_fields), ("attention", attention_fields),
                             ("mlp", mlp_fields)):
            if kind in kinds:
                out.update(fields(kinds[kind], cfg))
        return out

    def source(self, name: str, cfg: ModelConfig, available: set[str]) -> Source | None:
        base = "model." if "model.norm_f.weight" in available else "backbone."
        embed = first_present([base + "embeddings.weight", base + "embedding.weight"], available)
        if name == "embed.weight":
            return Source((embed,))
        if name == "norm_f.weight":
            return Source((base + "norm_f.weight",))
        if name == "lm_head.weight":  # a checkpoint written tied may lack it
            return Source((first_present(["lm_head.weight", embed], available),))
        block, rest = split_block_name(name)
        layer = f"{base}layers.{block}."
        if rest is None:
            return Source((layer + "norm.weight",))
        kind = cfg.blocks[block].kind
        if kind == "moe":
            moe = cfg.blocks[block].mixer
            assert isinstance(moe, MoEConfig)
            return moe_source(layer + "mixer.", rest, moe, available)
        suffix = mamba2_mixer_key(rest) if kind == "mamba2" else rest
        return Source((f"{layer}mixer.{suffix}",))


def nemotron_mamba_fields(m: Mamba2Config, cfg: ModelConfig) -> dict:
    """Mamba-2 fields; the layout gates before the norm and shares the model's norm eps."""
    if m.norm_before_gate or not m.gated_norm or m.norm_eps != cfg.norm_eps or m.proj_bias:
        raise ValueError("NemotronH Mamba-2 gates before a norm with the model's eps, no bias")
    return {
        "mamba_num_heads": m.nheads, "mamba_head_dim": m.headdim, "ssm_state_size": m.d_state,
        "n_groups": m.n_groups, "conv_kernel": m.d_conv, "chunk_size": m.chunk_size,
        "use_conv_bias": m.conv_bias, "mamba_hidden_act": "silu",
        "time_step_limit": [m.dt_limit[0], {"__float__": "Infinity"}
                            if m.dt_limit[1] == float("inf") else m.dt_limit[1]],
    }


def attention_fields(a: AttentionConfig, cfg: ModelConfig) -> dict:
    """NoPE attention without biases, the only kind the layout has."""
    if (a.rope_theta is not None or a.sliding_window is not None or a.qkv_bias or a.out_bias
            or a.scale != a.headdim**-0.5):
        raise ValueError("NemotronH attention has no positions, window, biases or scale")
    return {"num_attention_heads": a.nheads, "num_key_value_heads": a.nkv_heads,
            "head_dim": a.headdim, "attention_bias": False}


def mlp_fields(m: MLPConfig, cfg: ModelConfig) -> dict:
    """The non-gated MLP."""
    if m.gated or m.bias:
        raise ValueError("NemotronH MLPs are not gated and have no bias")
    return {"intermediate_size": m.d_ff, "mlp_hidden_act": m.activation}


def moe_source(mixer: str, rest: str, moe: MoEConfig, available: set[str]) -> Source:
    """Routed experts stacked from one tensor per expert (Hub / save_pretrained layout) or
    taken whole when already stacked (transformers' in-memory layout)."""
    if rest in MOE_KEYS:
        return Source((mixer + MOE_KEYS[rest],))
    return expert_source(mixer, EXPERT_PROJ[rest], moe.n_experts, available)


register(NemotronHAdapter())
