"""Falcon-H1 and Zamba2: engine logits against transformers', incremental decoding, snapshots.

Tiny random checkpoints (fp32, CPU) saved by transformers' `save_pretrained`, loaded by the
engine's loader; 37-token prompts cross a 16-token Mamba chunk boundary. The configs exercise
what these archs add:

- Falcon-H1: Mamba-2 and attention in parallel in one block, every muP multiplier set to a
  distinct non-trivial value (folded into the weights at load time), with and without Mamba's
  gated norm, GQA, biases on attention / MLP / projections, an explicit head_dim.
- Zamba2: shared transformer blocks fed [residual stream, embeddings], used by several layers
  (num_mem_blocks 2 cycles them) with per-use LoRA adapters on q/k/v and gate_up, RoPE or none,
  GQA and biases.

Zamba2's shared block has no residual around it, and at the fixtures' enlarged weight scale its
attention (2 * d_model wide, scaled by 1/sqrt(head_dim / 2)) and MLP each amplify fp32 rounding
10-40x: transformers' own logits move by 1.3e-2 between two mathematically equal Mamba chunk
sizes (16 and 8), so no implementation could be held to 1e-4 there. The Zamba2 fixtures shrink
the shared blocks' matrices to 0.2x (norms kept): transformers' own chunk-size noise drops to
1.5e-5, and the shared blocks still move the logits by several units (checked below).

Besides `parity_harness`'s incremental checks, a snapshot chain restored into a fresh state (as
the prefix cache does, trimmed pieces included) must reproduce the one-shot logits.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers as tf

from autan.model.io.loader import load_model
from autan.model.model import Model
from autan.model.runtime.state import CompositeCache, snapshot_nbytes
from tests.model.hf_fixtures import save_hf
from tests.model.parity_harness import (
    SEQLEN,
    TOL,
    VOCAB,
    decode_steps,
    load_and_compare,
    prompt_ids,
    report,
    split_logits,
)

SHARED_SCALE = 0.2  # see the module docstring


def falcon_config(**overrides: object) -> tf.FalconH1Config:
    """2 layers; Mamba-2 4 heads x 16, 2 groups, chunk 16; attention 4 heads, 2 KV."""
    base = dict(
        vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, mamba_d_ssm=64, mamba_n_heads=4,
        mamba_n_groups=2, mamba_d_state=8, mamba_chunk_size=16, tie_word_embeddings=False,
        lm_head_multiplier=0.5, embedding_multiplier=2.0, mlp_multipliers=[0.7, 1.3],
        key_multiplier=0.8, attention_in_multiplier=1.1, attention_out_multiplier=0.9,
        ssm_multipliers=[0.6, 0.7, 0.8, 0.9, 1.2], ssm_in_multiplier=1.4, ssm_out_multiplier=0.75,
    )
    return tf.FalconH1Config(**{**base, **overrides})


def zamba2_config(**overrides: object) -> tf.Zamba2Config:
    """5 layers M H M H H; Mamba-2 4 heads x 16, 2 groups, chunk 16; shared attention 4 heads."""
    base = dict(
        vocab_size=VOCAB, hidden_size=32, num_hidden_layers=5,
        layers_block_type=["mamba", "hybrid", "mamba", "hybrid", "hybrid"], mamba_d_state=8,
        n_mamba_heads=4, mamba_ngroups=2, chunk_size=16, num_attention_heads=4,
        num_key_value_heads=4, intermediate_size=48, num_mem_blocks=2,
        use_shared_attention_adapter=True, adapter_rank=4, use_mem_rope=True,
    )
    return tf.Zamba2Config(**{**base, **overrides})


CASES = {
    "falcon_h1-gated-norm": (tf.FalconH1ForCausalLM, lambda: falcon_config(
        mamba_rms_norm=True, mamba_norm_before_gate=True)),
    "falcon_h1-gate-then-norm": (tf.FalconH1ForCausalLM, lambda: falcon_config(
        mamba_rms_norm=True, mamba_norm_before_gate=False)),
    "falcon_h1-no-norm-biases": (tf.FalconH1ForCausalLM, lambda: falcon_config(
        mamba_rms_norm=False, attention_bias=True, mlp_bias=True, projectors_bias=True,
        mamba_proj_bias=True, head_dim=16, num_key_value_heads=1, tie_word_embeddings=True)),
    "zamba2-rope-lora-2mem": (tf.Zamba2ForCausalLM, zamba2_config),
    "zamba2-nope-gqa-bias": (tf.Zamba2ForCausalLM, lambda: zamba2_config(
        layers_block_type=["hybrid", "mamba", "hybrid"], num_hidden_layers=3, num_mem_blocks=1,
        use_shared_attention_adapter=False, use_mem_rope=False, num_key_value_heads=2,
        add_bias_linear=True)),
}


def save_case(case: str, folder: Path) -> torch.nn.Module:
    """Save the case's checkpoint (Zamba2's shared blocks softened, see the docstring)."""
    model_cls, make_config = CASES[case]
    reference = save_hf(model_cls, make_config(), folder)
    if model_cls is tf.Zamba2ForCausalLM:
        with torch.no_grad():
            for name, p in reference.named_parameters():
                if "shared_transformer" in name and "norm" not in name:
                    p.mul_(SHARED_SCALE)
        reference.save_pretrained(folder)
    return reference


def loaded_case(case: str, folder: Path) -> tuple[Model, torch.Tensor, torch.Tensor]:
    """The case saved in `folder` and loaded in the engine: the model, the prompt and the
    model's one-shot logits on it, which the incremental checks must reproduce."""
    save_case(case, folder)
    model, _ = load_model(folder)
    ids = prompt_ids()
    return model, ids, model(ids)


@pytest.mark.parametrize("case", sorted(CASES))
def test_logits_match_transformers(case: str, tmp_path: Path) -> None:
    reference = save_case(case, tmp_path)
    model = load_and_compare(case, reference, tmp_path)
    # Shared weights are held once: as many parameters as transformers' deduplicated count.
    assert sum(p.numel() for p in model.parameters()) == sum(
        p.numel() for p in reference.parameters())


def test_zamba2_shared_blocks_matter(tmp_path: Path) -> None:
    """The softened shared blocks still move the logits by far more than the tolerance."""
    model, ids, full = loaded_case("zamba2-rope-lora-2mem", tmp_path)
    with torch.no_grad():
        for block in model.blocks:
            if block.kind == "zamba2_hybrid":
                block.mixer.linear.weight.zero_()
    assert (model(ids) - full).abs().max() > 1.0


@pytest.mark.parametrize("case", sorted(CASES))
def test_decode_steps_match_prefill(case: str, tmp_path: Path) -> None:
    model, ids, full = loaded_case(case, tmp_path)
    state = model.new_state(2, capacity=8)  # small: the KV caches must grow on the way
    got = decode_steps(model, ids, 30, state)
    assert state.pos == SEQLEN
    assert report(f"{case} decode", got, full) <= TOL


@pytest.mark.parametrize("case", sorted(CASES))
def test_split_prompt_matches_one_shot(case: str, tmp_path: Path) -> None:
    model, ids, full = loaded_case(case, tmp_path)
    got = split_logits(model, ids, [0, 5, 17, 18, 33, SEQLEN])
    assert report(f"{case} split", got, full) <= TOL


@pytest.mark.parametrize("case", sorted(CASES))
def test_snapshot_restore_roundtrip(case: str, tmp_path: Path) -> None:
    model, ids, full = loaded_case(case, tmp_path)
    state = model.new_state(2)
    model(ids[:, :13], state)
    first = state.snapshot(0)
    model(ids[:, 13:29], state)
    second = state.snapshot(13)
    whole = state.snapshot(0)  # then trimmed as the prefix cache does when it splits an edge
    assert any(isinstance(c, CompositeCache) for c in state.caches)
    assert snapshot_nbytes(second) > 0 and state.nbytes() > 0
    for chain in ([first, second], [first, state.trim_snapshot(whole, 13)]):
        fresh = model.new_state(2)
        fresh.restore(chain, 29)
        assert report(f"{case} restore", model(ids[:, 29:], fresh), full[:, 29:]) <= TOL
    fresh = model.new_state(2)
    fresh.restore([first], 13)
    assert report(f"{case} restore@13", model(ids[:, 13:], fresh), full[:, 13:]) <= TOL
