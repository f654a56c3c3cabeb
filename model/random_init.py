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
    """Fill every parameter in place; values are drawn on the parameters' device (a 7B model
    would take minutes to draw on a CPU), so a seed gives different weights per device type."""
    device = model.device
    gen = torch.Generator(device=device).manual_seed(seed)

    def normal(shape: torch.Size) -> torch.Tensor:
        return torch.randn(shape, generator=gen, device=device)

    def uniform(shape: torch.Size, low: float, high: float) -> torch.Tensor:
        return torch.empty(shape, device=device).uniform_(low, high, generator=gen)

    for name, p in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "A_log":
            values = torch.log(uniform(p.shape, 1.0, 16.0))
        elif leaf == "dt_bias" or name.endswith("dt_proj.bias"):
            dt = torch.exp(uniform(p.shape, math.log(1e-3), math.log(1e-1)))
            values = dt + torch.log(-torch.expm1(-dt))  # inverse softplus
        elif leaf == "D" or "norm" in name:
            values = 1.0 + 0.1 * normal(p.shape)
        elif leaf in ("bias", "conv_bias"):
            values = 0.02 * normal(p.shape)
        else:
            values = normal(p.shape) * scale / math.sqrt(p.shape[-1])
        p.copy_(values.to(p.dtype))
    return model


def random_model(config: object, seed: int = 0, dtype: torch.dtype = torch.float32,
                 device: str | torch.device = "cpu") -> Model:
    """A model of `config` with seeded random weights, in eval mode."""
    with torch.device(device):
        model = Model(config).to(dtype)
    init_random_weights(model, seed)
    return model.eval().requires_grad_(False)
