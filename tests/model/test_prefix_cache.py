"""The prefix state cache: resuming from a snapshot computes only the new tokens and gives the
logits of a cold run (fp32, tolerance 1e-4 as for the other state-parity tests)."""

from __future__ import annotations

import pytest
import torch

from autan.model.config import AttentionConfig, named_config
from autan.model.random_init import random_model
from autan.model.runtime.engine import Engine, EngineOptions
from autan.wire.types import RequestStats

TOL = 1e-4


def hybrid_with_window(window: int | None) -> torch.nn.Module:
    cfg = named_config("tiny-hybrid")  # Mamba-2, attention and MLP blocks
    for block in cfg.blocks:
        if isinstance(block.mixer, AttentionConfig):
            block.mixer.sliding_window = window
    return random_model(cfg, seed=11)


def cold_logits(model: torch.nn.Module, ids: list[int]) -> torch.Tensor:
    return model(torch.tensor([ids]))[0, -1]


def random_ids(n: int, seed: int, vocab: int = 512) -> list[int]:
    return torch.randint(0, vocab, (n,), generator=torch.Generator().manual_seed(seed)).tolist()


@pytest.mark.parametrize("window", [None, 24])
def test_extending_a_cached_prompt_computes_only_new_tokens(window: int | None) -> None:
    model = hybrid_with_window(window)
    engine = Engine(model, options=EngineOptions(snapshot_every=256, prefill_chunk=128))
    prompt = random_ids(700, seed=1)
    engine.prefill(prompt)
    longer = prompt + random_ids(5, seed=2)
    stats = RequestStats()
    logits, _ = engine.prefill(longer, stats=stats)
    assert (stats.prompt_tokens, stats.reused_tokens, stats.computed_tokens) == (705, 700, 5)
    diff = (logits - cold_logits(model, longer)).abs().max().item()
    print(f"window={window}: resumed vs cold max |diff| = {diff:.2e}")
    assert diff <= TOL


def test_snapshot_inside_an_edge_splits_it_and_both_branches_stay_exact() -> None:
    model = hybrid_with_window(None)
    engine = Engine(model, options=EngineOptions(snapshot_every=100, prefill_chunk=64))
    first = random_ids(250, seed=3)  # snapshots at 100, 200, 250
    engine.prefill(first)
    second = first[:150] + random_ids(60, seed=4)  # diverges at 150; boundary at 120 splits
    engine.prefill(second, boundaries=[120])
    for prompt in (first + [7, 8], second + [9]):
        stats = RequestStats()
        logits, _ = engine.prefill(prompt, stats=stats)
        assert stats.computed_tokens == len(prompt) - (250 if prompt[:250] == first else 210)
        assert (logits - cold_logits(model, prompt)).abs().max().item() <= TOL


def test_marked_boundaries_are_resume_points() -> None:
    model = random_model(named_config("tiny-mamba2"), seed=5)
    engine = Engine(model, options=EngineOptions(snapshot_every=10_000,
                                                 snapshot_prompt_end=False))
    prompt = random_ids(300, seed=6)
    engine.prefill(prompt, boundaries=[137])
    changed = prompt[:137] + random_ids(20, seed=7)
    stats = RequestStats()
    logits, _ = engine.prefill(changed, stats=stats)
    assert stats.reused_tokens == 137
    assert (logits - cold_logits(model, changed)).abs().max().item() <= TOL


def test_budget_evicts_least_recently_used_leaves() -> None:
    model = random_model(named_config("tiny-mamba2"), seed=8)
    one = model.new_state(1, 16).nbytes()
    engine = Engine(model, options=EngineOptions(cache_budget_bytes=3 * one + one // 2,
                                                 snapshot_every=10_000))
    prompts = [random_ids(40, seed=s) for s in range(5)]
    for p in prompts:
        engine.prefill(p)
    assert len(engine.cache) == 3
    assert engine.cache.nbytes <= engine.cache.budget_bytes
    recent, old = RequestStats(), RequestStats()
    engine.prefill(prompts[-1] + [1], stats=recent)
    engine.prefill(prompts[0] + [1], stats=old)
    assert recent.reused_tokens == 40 and old.reused_tokens == 0


@pytest.mark.parametrize("window", [None, 24])
def test_score_from_equals_a_cold_full_score_and_reuses_the_shared_context(
        window: int | None) -> None:
    """`score_from` (prefill through the cache, then chunked scoring) against `score` (one
    cold pass over everything), on two texts after one shared context: same log-probs within
    TOL, and the second text computes only its own tokens. As in a review's file prompt, a
    two-token header separates the context's boundary from the scored text."""
    model = hybrid_with_window(window)
    engine = Engine(model, options=EngineOptions(snapshot_every=256, prefill_chunk=64))
    context = random_ids(300, seed=5)
    for seed in (6, 7):
        ids = context + random_ids(152, seed=seed)
        stats = RequestStats()
        fast = engine.score_from(ids, len(context) + 2, boundaries=[len(context)], stats=stats)
        slow = engine.score(ids)[len(context) + 2:]
        assert len(fast) == len(slow) == 150
        diff = max(abs(a - b) for a, b in zip(fast, slow, strict=True))
        print(f"window={window} seed={seed}: score_from vs score max |diff| = {diff:.2e}")
        assert diff <= TOL
        assert stats.reused_tokens == (0 if seed == 6 else len(context))


def test_score_from_refuses_a_start_outside_the_ids() -> None:
    engine = Engine(hybrid_with_window(None), options=EngineOptions(prefill_chunk=64))
    ids = random_ids(130, seed=8)
    with pytest.raises(ValueError):
        engine.score_from(ids, len(ids))
