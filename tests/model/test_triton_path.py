"""The whole model through the Triton kernels equals the model through the references.

The kernel tests compare each op alone; this checks the calling conventions the model relies
on (strided views, output layouts, fp32 states, the sliding-window ring buffer, GQA) by running
the model with every op forced onto its Triton kernel: compiled on CUDA, or under Triton's
interpreter on CPU (which `tests/conftest.py` selects when there is no GPU). fp32 weights and
activations; tolerance 1e-4 on the logits, the same as the other fp32 state-parity checks (both
paths sum the same fp32 terms in a different order).
"""

from __future__ import annotations

import itertools

import pytest
import torch

from autan import kernels
from autan.kernels._triton import HAVE_TRITON, interpreting
from autan.model.random_init import random_model
from tests.model.test_state_parity import CONFIGS

TOL = 1e-4

pytestmark = pytest.mark.skipif(
    not HAVE_TRITON or not (interpreting() or torch.cuda.is_available()),
    reason="needs Triton, and CUDA or TRITON_INTERPRET=1")


def device() -> str:
    return "cpu" if interpreting() else "cuda"


def run(model: torch.nn.Module, ids: torch.Tensor, cuts: list[int]) -> torch.Tensor:
    """Prefill in pieces split at `cuts`, carrying the state, as the engine does."""
    state = model.new_state(ids.shape[0], capacity=8)  # small: exercises the cache's growth
    bounds = [0, *cuts, ids.shape[1]]
    return torch.cat([model(ids[:, a:b], state) for a, b in itertools.pairwise(bounds)], dim=1)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_model_on_triton_kernels_equals_references(name: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    model = random_model(CONFIGS[name](), seed=7, device=device())
    ids = torch.randint(0, model.cfg.vocab_size, (2, 37), generator=torch.Generator()
                        .manual_seed(8)).to(device())
    cuts = [20, 33, 34, 35, 36]  # a prefill, a piece, then one-token decode steps
    monkeypatch.setattr(kernels, "use_triton", lambda t: False)
    want = run(model, ids, cuts)
    monkeypatch.setattr(kernels, "use_triton", lambda t: True)
    got = run(model, ids, cuts)
    diff = (got - want).abs().max().item()
    print(f"{name}: Triton path vs references, max |logit diff| = {diff:.2e}")
    assert not got.isnan().any() and diff <= TOL
