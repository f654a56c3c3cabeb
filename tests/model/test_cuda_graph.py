"""Decode steps replayed from a CUDA graph equal eager decode steps.

Where the graph cannot apply (CPU, attention or experts in the model) the engine keeps the eager
path and the option changes nothing. On CUDA: greedy generation gives the same tokens, the
logits agree to 1e-3 in bf16 (the same kernels run in the same order, so they are expected to be
identical; the tolerance only allows a different cuBLAS algorithm choice inside the capture),
and two streams decoding in turn on one engine each get what they would get alone.
"""

from __future__ import annotations

import pytest
import torch

from autan.model.config import mamba2_stack, named_config
from autan.model.random_init import random_model
from autan.model.runtime import cuda_graph
from autan.model.runtime.engine import Engine, EngineOptions
from autan.wire.types import SamplingParams
from tests.model.test_state_parity import mamba1_config

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def tokens(engine: Engine, prompt: list[int], n: int = 12) -> list[int]:
    return list(engine.generate(prompt, SamplingParams(max_tokens=n)))[-1].token_ids


def test_graphs_apply_only_to_fixed_size_states_on_cuda() -> None:
    assert not cuda_graph.supports(random_model(named_config("tiny-mamba2")))  # CPU
    with pytest.raises(ValueError):
        cuda_graph.GraphedDecoder(random_model(named_config("tiny-mamba2")))


def test_the_option_changes_nothing_where_graphs_do_not_apply() -> None:
    model = random_model(named_config("tiny-hybrid"), seed=1)
    prompt = list(range(5, 40))
    eager = tokens(Engine(model), prompt)
    engine = Engine(model, options=EngineOptions(cuda_graph=True))
    assert engine._graphed is None
    assert tokens(engine, prompt) == eager


@needs_cuda
@pytest.mark.parametrize("make", [
    lambda: named_config("tiny-mamba2"),
    mamba1_config,
    lambda: mamba2_stack(97, 64, 3, headdim=16, d_state=16, n_groups=2, chunk_size=16),
])
def test_graphed_decode_equals_eager(make: object) -> None:
    model = random_model(make(), seed=2, dtype=torch.bfloat16, device="cuda")
    assert cuda_graph.supports(model)
    prompt = list(range(3, 60))
    eager_engine = Engine(model)
    graph_engine = Engine(model, options=EngineOptions(cuda_graph=True))
    assert graph_engine._graphed is not None
    assert tokens(graph_engine, prompt) == tokens(eager_engine, prompt)

    # Logits step by step, from the same prefilled state.
    logits, state_a = eager_engine.prefill(prompt)
    _, state_b = graph_engine.prefill(prompt)
    token = int(logits.argmax())
    for _ in range(5):
        want = eager_engine._decode_step(state_a, token)
        got = graph_engine._decode_step(state_b, token)
        assert state_a.pos == state_b.pos
        assert (got - want).abs().max().item() <= 1e-3
        token = int(want.argmax())


@needs_cuda
def test_two_streams_in_turn_get_what_they_get_alone() -> None:
    model = random_model(named_config("tiny-mamba2"), seed=3, dtype=torch.bfloat16,
                         device="cuda")
    engine = Engine(model, options=EngineOptions(cuda_graph=True))
    a, b = list(range(10, 50)), list(range(60, 90))
    alone = (tokens(Engine(model), a), tokens(Engine(model), b))
    params = SamplingParams(max_tokens=12)
    streams = [engine.generate(a, params), engine.generate(b, params)]
    done: list[list[int]] = [[], []]
    live = [True, True]
    while any(live):
        for i, stream in enumerate(streams):
            if live[i]:
                event = next(stream, None)
                if event is None:
                    live[i] = False
                elif hasattr(event, "token_ids"):
                    done[i] = event.token_ids
    assert (done[0], done[1]) == alone
