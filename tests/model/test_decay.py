"""The cached decay rates equal `-exp(A_log)` whenever they are read, whatever happened to the
weights in between, and gradients still flow while training."""

from __future__ import annotations

import torch
from torch import nn

from autan.model.layers.decay import DecayRates


def test_cached_until_the_weights_change() -> None:
    a_log = nn.Parameter(torch.randn(8))
    rates = DecayRates()
    with torch.inference_mode():
        first = rates(a_log)
        assert torch.equal(first, -torch.exp(a_log.float()))
        assert rates(a_log) is first  # no new kernels while serving
    with torch.no_grad():
        a_log.copy_(torch.randn(8))  # what loading a checkpoint does
    with torch.inference_mode():
        again = rates(a_log)
    assert again is not first
    assert torch.equal(again, -torch.exp(a_log.float()))


def test_nothing_cached_while_training() -> None:
    a_log = nn.Parameter(torch.randn(4))
    rates = DecayRates()
    rates(a_log).sum().backward()
    assert a_log.grad is not None
    assert torch.allclose(a_log.grad, -torch.exp(a_log.detach()))
