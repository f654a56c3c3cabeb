"""Logits of autan's engine against transformers' on tiny random checkpoints (fp32, CPU).

Tolerance and why: see `tests.model.parity_harness`.
"""

from __future__ import annotations

import pytest
import transformers as tf

from tests.model.hf_fixtures import save_hf
from tests.model.parity_harness import load_and_compare


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
    load_and_compare(case, save_hf(model_cls, make_config(), tmp_path), tmp_path)
