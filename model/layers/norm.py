"""RMSNorm as a module; the math lives in `autan.kernels.rmsnorm`."""

from __future__ import annotations

import torch
from torch import nn

from autan import kernels


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return kernels.rmsnorm(x, self.weight, self.eps)
