"""Granite-4.0-H and Jamba: engine logits against transformers', and incremental decoding.

Tiny random checkpoints (fp32, CPU) saved by transformers' `save_pretrained`, loaded by the
engine's loader. The configs exercise what differs from the plain archs: several experts with
top-2 routing (each arch's own router), Granite's shared MLP, its embedding / residual /
attention / logits multipliers, NoPE and RoPE attention, Mamba-2 with n_groups > 1 and a chunk
boundary inside the prompt, Jamba's dt/B/C norms and its mix of MoE and plain-MLP layers.

Decode steps and a prompt in pieces are checked as `parity_harness` describes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import transformers as tf
from safetensors.torch import load_file

from autan.model.io.loader import load_model, open_checkpoint
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


def granite_config(**overrides: object) -> tf.GraniteMoeHybridConfig:
    """Mamba-2 (8 heads x 16, 2 groups, chunk 16), NoPE attention, 4 experts top-2 + shared."""
    base = dict(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=32, shared_intermediate_size=48,
        num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
        layer_types=["linear_attention", "full_attention", "linear_attention"],
        num_local_experts=4, num_experts_per_tok=2, mamba_n_heads=8, mamba_n_groups=2,
        mamba_d_state=16, mamba_chunk_size=16, embedding_multiplier=3.0, residual_multiplier=0.6,
        attention_multiplier=0.2, logits_scaling=1.5, tie_word_embeddings=False,
    )
    return tf.GraniteMoeHybridConfig(**(base | overrides))


def jamba_config() -> tf.JambaConfig:
    """4 layers: Mamba-1 at 0 and 2, attention at 1 and 3; 4-expert top-2 MoE at 0 and 2,
    plain MLPs at 1 and 3."""
    return tf.JambaConfig(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, num_experts=4, num_experts_per_tok=2,
        attn_layer_period=2, attn_layer_offset=1, expert_layer_period=2, expert_layer_offset=0,
        mamba_d_state=8, mamba_dt_rank=4, tie_word_embeddings=False,
    )


CASES = {
    "granite-moe-nope": (tf.GraniteMoeHybridForCausalLM, granite_config),
    "granite-dense-rope-tied": (tf.GraniteMoeHybridForCausalLM, lambda: granite_config(
        num_local_experts=0, position_embedding_type="rope", tie_word_embeddings=True,
        layer_types=["full_attention", "linear_attention"], num_hidden_layers=2)),
    "jamba": (tf.JambaForCausalLM, jamba_config),
}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, torch.Tensor]]:
    """Each case saved once: its folder and transformers' logits on `prompt_ids()`."""
    return save_checkpoints(CASES, tmp_path_factory)


@pytest.mark.parametrize("case", sorted(CASES))
def test_logits_match_transformers(case: str, checkpoints: dict) -> None:
    folder, expected = checkpoints[case]
    model, _ = load_model(folder)
    assert_matches_transformers(case, model(prompt_ids()), expected)


@pytest.mark.parametrize("case", sorted(CASES))
def test_decode_steps_match_prefill(case: str, checkpoints: dict) -> None:
    model, _ = load_model(checkpoints[case][0])
    ids = prompt_ids()[:, :26]
    # 19 prompt tokens end past the first 16-token Mamba-2 chunk; 7 single-token steps follow.
    got = decode_steps(model, ids, 19, model.new_state(ids.shape[0]))
    assert report(f"{case}: prefill 19 + 7 steps vs one prefill of 26", got, model(ids)) <= TOL


@pytest.mark.parametrize("case", sorted(CASES))
def test_split_prompt_matches_one_shot(case: str, checkpoints: dict) -> None:
    model, _ = load_model(checkpoints[case][0])
    ids = prompt_ids()
    cuts = [0, 5, 6, 17, 33, SEQLEN]  # pieces of 5, 1, 11, 16 and 4 tokens
    got = split_logits(model, ids, cuts)
    assert report(f"{case}: prompt in pieces {cuts} vs one shot", got, model(ids)) <= TOL


# transformers' in-memory names for the stacked experts, the layout a checkpoint written by
# other tools may carry; the adapters accept it as well as the Hub layout save_pretrained writes.
Rewrite = Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]


def granite_fused(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    renames = {"block_sparse_moe.input_linear.weight": "block_sparse_moe.experts.gate_up_proj",
               "block_sparse_moe.output_linear.weight": "block_sparse_moe.experts.down_proj",
               "block_sparse_moe.router.layer.weight": "block_sparse_moe.router.weight"}
    out = {}
    for key, tensor in weights.items():
        for old, new in renames.items():
            key = key.replace(old, new)
        out[key] = tensor
    return out


def jamba_fused(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {k: v for k, v in weights.items() if ".experts." not in k}
    for layer in {k.split(".experts.")[0] for k in weights if ".experts." in k}:
        n = sum(1 for k in weights if k.startswith(f"{layer}.experts.") and "down_proj" in k)
        per_expert = [[weights[f"{layer}.experts.{e}.{proj}_proj.weight"]
                       for proj in ("gate", "up", "down")] for e in range(n)]
        out[layer + ".experts.gate_up_proj"] = torch.stack([torch.cat(w[:2]) for w in per_expert])
        out[layer + ".experts.down_proj"] = torch.stack([w[2] for w in per_expert])
    return out


@pytest.mark.parametrize(("case", "rewrite"), [("granite-moe-nope", granite_fused),
                                               ("jamba", jamba_fused)])
def test_fused_expert_layout_loads_the_same(case: str, rewrite: Rewrite, checkpoints: dict,
                                            tmp_path: Path) -> None:
    folder, expected = checkpoints[case]
    weights = rewrite(load_file(folder / "model.safetensors"))
    model = load_rewritten(tmp_path, (folder / "config.json").read_text(), weights)
    assert report(f"{case} (fused experts on disk)", model(prompt_ids()), expected) <= TOL


def test_granite_legacy_layer_type_names(checkpoints: dict, tmp_path: Path) -> None:
    """Hub configs written before transformers 5 say `layers_block_type: [mamba, attention]`."""
    folder = checkpoints["granite-moe-nope"][0]
    raw = json.loads((folder / "config.json").read_text())
    raw["layers_block_type"] = ["mamba", "attention", "mamba"]
    del raw["layer_types"]
    (tmp_path / "config.json").write_text(json.dumps(raw))
    (tmp_path / "model.safetensors").symlink_to(folder / "model.safetensors")
    got = open_checkpoint(tmp_path).config.kinds()
    assert got == ["mamba2", "moe", "attention", "moe", "mamba2", "moe"]
    assert got == open_checkpoint(folder).config.kinds()
