"""Incremental computation equals one-shot computation (fp32, CPU, tolerance 1e-4).

Prefill then one-token decode steps, and a prompt split at arbitrary points, must give the
logits of a single prefill: this is what makes resuming from a cached state exact. Cases cross
a Mamba chunk boundary (chunk 16/64) and a sliding window (7 tokens).
"""

from __future__ import annotations

import itertools

import pytest
import torch

from autan.model.config import (
    AttentionConfig,
    BlockConfig,
    Mamba1Config,
    ModelConfig,
    mamba2_stack,
    named_config,
)
from autan.model.random_init import random_model

TOL = 1e-4


def mamba1_config() -> ModelConfig:
    blocks = [BlockConfig("mamba1", Mamba1Config(d_inner=64, d_state=8, dt_rank=4))] * 2
    return ModelConfig("MambaForCausalLM", 97, 32, blocks)


def mistral_config(window: int | None) -> ModelConfig:
    cfg = named_config("tiny-mistral")
    for block in cfg.blocks:
        if isinstance(block.mixer, AttentionConfig):
            block.mixer.sliding_window = window
    return cfg


CONFIGS = {
    "mamba2": lambda: mamba2_stack(97, 64, 2, headdim=16, d_state=16, n_groups=2, chunk_size=16),
    "mamba1": mamba1_config,
    "mistral-full": lambda: mistral_config(None),
    "mistral-swa7": lambda: mistral_config(7),
    "hybrid": lambda: named_config("tiny-hybrid"),
}


def run_pieces(model: torch.nn.Module, ids: torch.Tensor, cuts: list[int]) -> torch.Tensor:
    state = model.new_state(ids.shape[0], capacity=8)  # small capacity: exercises growth
    bounds = [0, *cuts, ids.shape[1]]
    return torch.cat([model(ids[:, a:b], state) for a, b in itertools.pairwise(bounds)], dim=1)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_prefill_then_decode_equals_one_prefill(name: str) -> None:
    model = random_model(CONFIGS[name](), seed=3)
    vocab = model.cfg.vocab_size
    ids = torch.randint(0, vocab, (2, 40), generator=torch.Generator().manual_seed(4))
    full = model(ids)
    n = 29  # prefill 29, then 11 single steps: crosses chunk 16*2=32 and the window
    stepped = run_pieces(model, ids, [n, *range(n + 1, 40)])
    diff = (stepped - full).abs().max().item()
    print(f"{name}: decode vs prefill max |diff| = {diff:.2e}")
    assert diff <= TOL


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_split_prefill_equals_one_prefill(name: str) -> None:
    model = random_model(CONFIGS[name](), seed=5)
    gen = torch.Generator().manual_seed(6)
    ids = torch.randint(0, model.cfg.vocab_size, (1, 70), generator=gen)
    full = model(ids)
    cuts = sorted(torch.randperm(69, generator=gen)[:4].add(1).tolist())
    diff = (run_pieces(model, ids, cuts) - full).abs().max().item()
    print(f"{name}: cuts {cuts} max |diff| = {diff:.2e}")
    assert diff <= TOL
