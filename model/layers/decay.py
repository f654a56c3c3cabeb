"""A Mamba layer's decay rates `A = -exp(A_log)` in fp32, computed once per weight version.

At batch-1 decode a Mamba-2 layer of Codestral Mamba 7B spends about 4 us in its state update;
recomputing A each step took three more kernels of about 1-1.5 us each (a cast, exp, negate),
64 layers over. The weights do not change while serving, so the result is kept, keyed on the
parameter's storage and version counter: loading new weights (an in-place copy) recomputes it.
While gradients flow through `A_log` (training) nothing is cached.
"""

from __future__ import annotations

import torch
from torch import nn


class DecayRates:
    """`rates(A_log)` gives `-exp(A_log.float())`, cached while `A_log` is unchanged."""

    def __init__(self) -> None:
        self._key: tuple[int, int, torch.device] | None = None
        self._value: torch.Tensor | None = None

    def __call__(self, a_log: nn.Parameter) -> torch.Tensor:
        if torch.is_grad_enabled() and a_log.requires_grad:
            return -torch.exp(a_log.float())
        key = (a_log.data_ptr(), a_log._version, a_log.device)
        if key != self._key or self._value is None:
            with torch.no_grad():
                self._value = -torch.exp(a_log.float())
            self._key = key
        return self._value
