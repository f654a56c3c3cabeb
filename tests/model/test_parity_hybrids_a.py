"""Bamba and Nemotron-H: engine logits against transformers', and incremental decoding.

Tiny random checkpoints (fp32, CPU) saved by transformers' `save_pretrained`, loaded by the
engine's loader. The configs exercise what these archs add: Mamba-2 with n_groups > 1 and a
16-token chunk boundary inside the 37-token prompt, Bamba's half-rotary attention and its
SwiGLU MLP after every mixer, Nemotron-H's M / * / - / E pattern with NoPE attention, relu2
MLPs and its DeepSeek-V3 style MoE (sigmoid router with a non-zero e_score_correction_bias,
grouped top-k, routed_scaling_factor, a shared expert, and the latent-space variant).

The incremental checks (decode steps, a prompt in pieces) are `parity_harness`'s.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import transformers as tf
from safetensors.torch import load_file

from autan.model.archs.nemotron_h import NemotronHAdapter
from autan.model.io.loader import load_model
from tests.model.hf_fixtures import save_hf
from tests.model.parity_harness import (
    SEQLEN,
    TOL,
    VOCAB,
    assert_matches_transformers,
    decode_steps,
    load_rewritten,
    prompt_ids,
    report,
    save_checkpoints,
    split_logits,
)


def bamba_config(**overrides: object) -> tf.BambaConfig:
    """Mamba-2 (8 heads x 16, 2 groups, chunk 16) at 0 and 2, attention (4 heads, 2 KV) at 1."""
    base = dict(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=3,
        attn_layer_indices=[1], num_attention_heads=4, num_key_value_heads=2, mamba_n_heads=8,
        mamba_n_groups=2, mamba_d_state=16, mamba_chunk_size=16, tie_word_embeddings=False,
    )
    return tf.BambaConfig(**(base | overrides))


def nemotron_config(pattern: str, **overrides: object) -> tf.NemotronHConfig:
    """8 experts in 4 groups, best 2 groups, top-3, routed_scaling_factor 2.5; Mamba-2 with
    8 heads x 16 and 2 groups, chunk 16; attention 4 heads (2 KV) of 16, no positions.

    transformers clamps dt at `time_step_min` where the checkpoint's `time_step_limit` (and
    mamba_ssm, vLLM, the engine) says 0; a negligible time_step_min makes that clamp inert
    here (see `autan.model.archs.nemotron_h.dt_limit`).
    """
    base = dict(
        time_step_min=1e-9,
        vocab_size=VOCAB, hidden_size=64, hybrid_override_pattern=pattern,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, intermediate_size=96,
        mamba_num_heads=8, mamba_head_dim=16, ssm_state_size=16, n_groups=2, chunk_size=16,
        n_routed_experts=8, num_experts_per_tok=3, moe_intermediate_size=32,
        moe_shared_expert_intermediate_size=48, n_group=4, topk_group=2,
        routed_scaling_factor=2.5, norm_topk_prob=True, tie_word_embeddings=False,
    )
    return tf.NemotronHConfig(**(base | overrides))


CASES = {
    "bamba-g2": (tf.BambaForCausalLM, bamba_config),
    "bamba-g4-tied": (tf.BambaForCausalLM, lambda: bamba_config(
        mamba_n_groups=4, tie_word_embeddings=True, attn_layer_indices=[0])),
    "nemotron-h": (tf.NemotronHForCausalLM, lambda: nemotron_config("ME*M-E")),
    "nemotron-h-latent": (tf.NemotronHForCausalLM, lambda: nemotron_config(
        "E*M", moe_latent_size=24, n_group=1, topk_group=1, num_experts_per_tok=2,
        norm_topk_prob=False, routed_scaling_factor=1.0)),
}


def save_with_router_bias(model_cls: type, config: object, folder: Path) -> torch.nn.Module:
    """`save_hf`, then a non-zero expert-choice bias (a buffer, which `save_hf` leaves at 0)
    of the size of the score gaps, so that a bias applied wrongly moves expert choices."""
    model = save_hf(model_cls, config, folder)
    gen = torch.Generator().manual_seed(7)
    biases = [b for n, b in model.named_buffers() if n.endswith("e_score_correction_bias")]
    if biases:
        with torch.no_grad():
            for bias in biases:
                bias.copy_(0.3 * torch.randn(bias.shape, generator=gen))
        model.save_pretrained(folder)
    return model


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, torch.Tensor]]:
    """Each case saved once: its folder and transformers' logits on `prompt_ids()`."""
    return save_checkpoints(CASES, tmp_path_factory, save_with_router_bias)


@pytest.mark.parametrize("case", sorted(CASES))
def test_logits_match_transformers(case: str, checkpoints: dict) -> None:
    folder, expected = checkpoints[case]
    model, _ = load_model(folder)
    assert_matches_transformers(case, model(prompt_ids()), expected)


@pytest.mark.parametrize("case", sorted(CASES))
def test_decode_steps_match_prefill(case: str, checkpoints: dict) -> None:
    model, _ = load_model(checkpoints[case][0])
    ids = prompt_ids()[:, :26]
    # 13 prompt tokens, then 13 single-token steps that cross the 16-token chunk boundary.
    got = decode_steps(model, ids, 13, model.new_state(ids.shape[0]))
    assert report(f"{case}: prefill 13 + 13 steps vs one prefill of 26", got, model(ids)) <= TOL


@pytest.mark.parametrize("case", sorted(CASES))
def test_split_prompt_matches_one_shot(case: str, checkpoints: dict) -> None:
    model, _ = load_model(checkpoints[case][0])
    ids = prompt_ids()
    cuts = [0, 7, 8, 21, 35, SEQLEN]  # pieces of 7, 1, 13, 14 and 2 tokens
    got = split_logits(model, ids, cuts)
    assert report(f"{case}: prompt in pieces {cuts} vs one shot", got, model(ids)) <= TOL


def in_memory_layout(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """transformers' in-memory Nemotron-H names: `model.` for `backbone.`, experts stacked."""
    out = {k.replace("backbone.", "model.", 1): v for k, v in weights.items()
           if ".experts." not in k}
    mixers = {k.split("experts.")[0] for k in weights if ".experts." in k}
    for mixer in mixers:
        for proj in ("up_proj", "down_proj"):
            keys = sorted((k for k in weights if k.startswith(mixer + "experts.")
                           and k.endswith(f".{proj}.weight")),
                          key=lambda k: int(k[len(mixer + "experts."):].split(".")[0]))
            stacked = torch.stack([weights[k] for k in keys])
            out[f"{mixer}experts.{proj}".replace("backbone.", "model.", 1)] = stacked
    return out


def hub_config(config: dict) -> dict:
    """The original Hub spelling: a pattern string and the older mamba_* field names."""
    kinds = {"linear_attention": "M", "full_attention": "*", "mlp": "-", "moe": "E"}
    hub = dict(config)
    hub["hybrid_override_pattern"] = "".join(kinds[t] for t in hub.pop("layers_block_type"))
    for new, old in (("n_groups", "mamba_n_groups"), ("chunk_size", "mamba_chunk_size"),
                     ("conv_kernel", "mamba_d_conv"), ("time_step_min", "mamba_dt_min")):
        hub[old] = hub.pop(new)
    return hub


def test_nemotron_h_other_layouts_load_the_same(checkpoints: dict, tmp_path: Path) -> None:
    """Stacked experts under `model.`, and a Hub-style config.json, give the same logits."""
    folder, expected = checkpoints["nemotron-h"]
    config = json.loads((folder / "config.json").read_text())
    weights = in_memory_layout(load_file(folder / "model.safetensors"))
    model = load_rewritten(tmp_path, json.dumps(hub_config(config)), weights)
    got = model(prompt_ids())
    assert report("nemotron-h (stacked experts, Hub config)", got, expected) <= TOL


def test_nemotron_h_dt_clamp_is_time_step_limit_not_time_step_min() -> None:
    """A deliberate departure from transformers (see `dt_limit`): the engine clamps dt to the
    declared `time_step_limit`, as mamba_ssm and vLLM do, not at the init bound 0.001."""
    raw = {"hidden_size": 64, "vocab_size": VOCAB, "hybrid_override_pattern": "M",
           "time_step_min": 0.001, "time_step_limit": [0.0, float("inf")]}
    cfg = NemotronHAdapter().model_config(raw, Path("config.json"))
    assert cfg.blocks[0].mixer.dt_limit == (0.0, float("inf"))
