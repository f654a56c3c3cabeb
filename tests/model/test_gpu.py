"""The same parity and cache checks on CUDA in bf16 (skipped without a GPU).

bf16 keeps 8 bits of mantissa, so logits of order 10 carry errors of order 0.05 after a few
layers whoever computes them. The fair test is relative to transformers in the same dtype:
against the fp32 logits as truth, autan's bf16 error must be no worse than twice transformers'
bf16 error plus 0.05. Incremental-vs-one-shot checks in bf16 use the same 0.05 + 2% of scale.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers as tf

from autan.model.config import named_config
from autan.model.io.loader import load_model
from autan.model.random_init import random_model
from autan.model.runtime.engine import Engine, EngineOptions
from autan.wire.types import RequestStats
from tests.model.hf_fixtures import save_hf
from tests.model.test_parity_hybrids_a import CASES as HYBRIDS_A
from tests.model.test_parity_hybrids_b import CASES as HYBRIDS_B
from tests.model.test_parity_hybrids_c import CASES as HYBRIDS_C

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]
BF16 = torch.bfloat16

CASES = {
    "mamba2-g4": (tf.Mamba2ForCausalLM, lambda: tf.Mamba2Config(
        vocab_size=97, hidden_size=256, num_hidden_layers=4, num_heads=8, head_dim=64,
        state_size=64, n_groups=4, chunk_size=64)),
    "mamba1": (tf.MambaForCausalLM, lambda: tf.MambaConfig(
        vocab_size=97, hidden_size=128, num_hidden_layers=4, state_size=16)),
    "mistral-swa": (tf.MistralForCausalLM, lambda: tf.MistralConfig(
        vocab_size=97, hidden_size=256, intermediate_size=512, num_hidden_layers=4,
        num_attention_heads=8, num_key_value_heads=2, sliding_window=64)),
    **HYBRIDS_A,
    **HYBRIDS_B,
    **HYBRIDS_C,
}


@torch.no_grad()
def hf_on(model: torch.nn.Module, ids: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return model.to("cuda", dtype)(input_ids=ids, use_cache=False).logits.float()


@pytest.mark.parametrize("case", sorted(CASES))
def test_bf16_cuda_logits_as_close_as_transformers(case: str, tmp_path: Path) -> None:
    model_cls, make_config = CASES[case]
    reference = save_hf(model_cls, make_config(), tmp_path)
    vocab = reference.config.vocab_size
    ids = torch.randint(0, vocab, (2, 300), generator=torch.Generator().manual_seed(0)).cuda()
    truth = hf_on(reference, ids, torch.float32)
    hf_err = (hf_on(reference, ids, BF16) - truth).abs().max().item()
    model, _ = load_model(tmp_path, dtype=BF16, device="cuda")
    ours_err = (model(ids) - truth).abs().max().item()
    print(f"{case}: bf16 max error vs fp32: autan {ours_err:.3f}, transformers {hf_err:.3f}")
    assert ours_err <= 2 * hf_err + 0.05


def close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return (a - b).abs().max().item() <= 0.05 + 0.02 * b.abs().max().item()


@pytest.mark.parametrize("shape", ["tiny-mamba2", "tiny-hybrid", "tiny-mistral"])
def test_bf16_cuda_decode_equals_prefill(shape: str) -> None:
    model = random_model(named_config(shape), seed=1, dtype=BF16, device="cuda")
    ids = torch.randint(0, 512, (1, 200), generator=torch.Generator().manual_seed(1)).cuda()
    full = model(ids)
    state = model.new_state(1, 16)
    pieces = [model(ids[:, :150], state)] + [model(ids[:, i : i + 1], state)
                                             for i in range(150, 200)]
    assert close(torch.cat(pieces, dim=1), full)


@pytest.mark.parametrize("shape", ["tiny-mamba2", "tiny-hybrid"])
def test_bf16_cuda_cached_prefix_equals_cold(shape: str) -> None:
    model = random_model(named_config(shape), seed=2, dtype=BF16, device="cuda")
    engine = Engine(model, options=EngineOptions(snapshot_every=512))
    prompt = torch.randint(0, 512, (3000,), generator=torch.Generator().manual_seed(3)).tolist()
    engine.prefill(prompt)
    stats = RequestStats()
    logits, _ = engine.prefill(prompt + [1, 2, 3], stats=stats)
    assert stats.computed_tokens == 3
    cold = model(torch.tensor([prompt + [1, 2, 3]], device="cuda"))[0, -1]
    assert close(logits, cold)
