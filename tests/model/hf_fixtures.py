"""Tiny random checkpoints saved by `transformers` (the test oracle), and its logits.

Weights are drawn larger than the default init (std 0.1 -> 0.5 for matrices) so that a wrong
layout, a missing gate or a norm over the wrong axis changes the logits by far more than 1e-4.
"""

from __future__ import annotations

from pathlib import Path

import torch


def scale_weights(model: torch.nn.Module, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("A_log", "dt_bias", "D")) or "norm" in name:
                # Keep the SSM stable but not trivial: decays in (0, 1), varied norm weights.
                p.copy_(p + 0.3 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5 / p.shape[-1] ** 0.5 * 4)


def save_hf(model_cls: type, config: object, folder: Path, seed: int = 0) -> torch.nn.Module:
    """Build `model_cls(config)` with seeded, enlarged random weights and save it."""
    torch.manual_seed(seed)
    model = model_cls(config).eval()
    scale_weights(model, seed)
    model.save_pretrained(folder)
    return model


@torch.no_grad()
def hf_logits(model: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    return model(input_ids=ids, use_cache=False).logits.float()
