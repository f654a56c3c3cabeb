"""Logits of autan's engine against transformers' on tiny random checkpoints (fp32, CPU).

Tolerance: max abs difference <= 1e-4 on logits of order 1-10. Both sides compute in fp32 with
the same formulas but a different order of operations (chunked scan vs. transformers' chunking,
explicit attention vs. its eager path), which leaves differences around 1e-6; a real mistake
(wrong weight layout, norm axis, gate, rotary layout) moves logits by 1e-2 or more.
"""

from __future__ import annotations

import pytest
import torch
import transformers as tf

from autan.model.loader import load_model
from tests.model.hf_fixtures import hf_logits, save_hf

TOL = 1e-4


def mamba2_config(n_groups: int) -> tf.Mamba2Config:
    return tf.Mamba2Config(vocab_size=97, hidden_size=64, num_hidden_layers=2, num_heads=8,
                           head_dim=16, state_size=16, n_groups=n_groups, chunk_size=16,
                           expand=2, tie_word_embeddings=False)


CASES = {
    "mamba2-g1": (tf.Mamba2ForCausalLM, lambda: mamba2_config(1)),
    "mamba2-g4": (tf.Mamba2ForCausalLM, lambda: mamba2_config(4)),
    "mamba1": (tf.MambaForCausalLM, lambda: tf.MambaConfig(
        vocab_size=97, hidden_size=32, num_hidden_layers=2, state_size=8, expand=2)),
    "mistral-swa": (tf.MistralForCausalLM, lambda: tf.MistralConfig(
        vocab_size=97, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, sliding_window=7)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_logits_match_transformers(case: str, tmp_path) -> None:
    model_cls, make_config = CASES[case]
    reference = save_hf(model_cls, make_config(), tmp_path)
    ids = torch.randint(0, 97, (2, 37), generator=torch.Generator().manual_seed(1))
    expected = hf_logits(reference, ids)
    model, _ = load_model(tmp_path)
    got = model(ids)
    diff = (got - expected).abs().max().item()
    print(f"{case}: max |diff| = {diff:.2e}, logits scale {expected.abs().max().item():.1f}")
    assert expected.abs().max() > 1.0
    assert diff <= TOL
