"""Seeded random weights for a `Model`: for benchmarks, the demo checkpoint and tests.

Scales are chosen so activations stay of order one through many layers and Mamba decays stay
in (0, 1), like a trained model's, rather than exploding or vanishing.
"""

from __future__ import annotations

import math

import torch

from autan.model.model import Model


@torch.no_grad()
def init_random_weights(model: Model, seed: int = 0, scale: float = 1.0) -> Model:
    gen = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "A_log":
            values = torch.log(torch.empty(p.shape).uniform_(1.0, 16.0, generator=gen))
        elif leaf == "dt_bias" or name.endswith("dt_proj.bias"):
            dt = torch.exp(torch.empty(p.shape).uniform_(math.log(1e-3), math.log(1e-1),
                                                         generator=gen))
            values = dt + torch.log(-torch.expm1(-dt))  # inverse softplus
        elif leaf == "D" or "norm" in name:
            values = 1.0 + 0.1 * torch.randn(p.shape, generator=gen)
        elif leaf == "bias" or leaf == "conv_bias":
            values = 0.02 * torch.randn(p.shape, generator=gen)
        else:
            values = torch.randn(p.shape, generator=gen) * scale / math.sqrt(p.shape[-1])
        p.copy_(values.to(p.dtype))
    return model


def random_model(config: object, seed: int = 0, dtype: torch.dtype = torch.float32,
                 device: str | torch.device = "cpu") -> Model:
    """A model of `config` with seeded random weights, in eval mode."""
    with torch.device(device):
        model = Model(config)
    init_random_weights(model, seed)
    return model.to(dtype).eval().requires_grad_(False)
