"""Streaming generation: greedy equals step-by-step argmax, stop strings and stop ids end the
completion without leaking, sampling is seeded, and cancellation stops within one step."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import torch

from autan.model.config import named_config
from autan.model.io.tokenizer import Tokenizer
from autan.model.random_init import random_model
from autan.model.runtime.engine import CancelToken, Engine, EngineOptions, Generated, TokenEvent
from autan.model.runtime.sampling import top_p_filter
from autan.wire.types import SamplingParams
from tests.model.tokenizer_fixtures import write_tokenizer


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    folder = write_tokenizer(Path(tmp_path_factory.mktemp("tok")))
    tokenizer = Tokenizer.from_dir(folder)
    config = named_config("tiny-mamba2")
    config.vocab_size = tokenizer.vocab_size
    return Engine(random_model(config, seed=1), tokenizer)


def run(engine: Engine, ids: list[int], params: SamplingParams,
        cancel: CancelToken | None = None) -> tuple[list[TokenEvent], Generated]:
    events = list(engine.generate(ids, params, cancel=cancel))
    assert isinstance(events[-1], Generated)
    return [e for e in events if isinstance(e, TokenEvent)], events[-1]


PROMPT = [5, 17, 42, 8, 99, 3]


def test_greedy_is_argmax_of_each_step(engine: Engine) -> None:
    _, done = run(engine, PROMPT, SamplingParams(max_tokens=12))
    ids = list(PROMPT)
    for _ in range(12):
        ids.append(int(engine.model(torch.tensor([ids]))[0, -1].argmax()))
    assert done.token_ids == ids[len(PROMPT):]
    assert done.finish_reason == "length" and done.stats.generated_tokens == 12


def test_streamed_text_concatenates_to_the_final_text(engine: Engine) -> None:
    events, done = run(engine, PROMPT, SamplingParams(max_tokens=20))
    assert "".join(e.text for e in events) == done.text
    assert done.text == engine.tokenizer.decode(done.token_ids)


def test_stop_string_cuts_and_never_streams_past_it(engine: Engine) -> None:
    _, free = run(engine, PROMPT, SamplingParams(max_tokens=20))
    stop = free.text[5:8]  # three characters from the middle of the free-running text
    assert len(stop) == 3
    events, done = run(engine, PROMPT, SamplingParams(max_tokens=20, stop_strings=(stop,)))
    assert done.text == free.text[: free.text.index(stop)]
    assert "".join(e.text for e in events) == done.text
    assert done.finish_reason == "stop"


def test_stop_id_ends_before_the_stop_token(engine: Engine) -> None:
    _, free = run(engine, PROMPT, SamplingParams(max_tokens=10))
    stop_id = free.token_ids[4]
    _, done = run(engine, PROMPT, SamplingParams(max_tokens=10, stop_ids=(stop_id,)))
    assert done.token_ids == free.token_ids[: free.token_ids.index(stop_id)]
    assert done.finish_reason == "stop"


def test_sampling_is_reproducible_with_a_seed(engine: Engine) -> None:
    params = SamplingParams(max_tokens=16, temperature=1.5, top_p=0.9, seed=7)
    _, a = run(engine, PROMPT, params)
    _, b = run(engine, PROMPT, params)
    _, greedy = run(engine, PROMPT, SamplingParams(max_tokens=16))
    assert a.token_ids == b.token_ids
    assert a.token_ids != greedy.token_ids  # temperature 1.5 on random weights diverges


def test_top_p_keeps_the_smallest_set_reaching_the_mass() -> None:
    probs = torch.tensor([0.05, 0.5, 0.3, 0.15])
    kept = top_p_filter(probs, 0.75)
    assert kept.nonzero().flatten().tolist() == [1, 2]
    assert top_p_filter(probs, 0.01).nonzero().flatten().tolist() == [1]


def test_cancel_stops_within_one_decode_step(engine: Engine) -> None:
    cancel = CancelToken()
    seen = 0
    for event in engine.generate(PROMPT, SamplingParams(max_tokens=50), cancel=cancel):
        if isinstance(event, TokenEvent):
            seen += 1
            if seen == 3:
                threading.Thread(target=cancel.cancel).start()
                threading.Event().wait(0.05)  # the canceller has certainly run by now
        else:
            assert event.finish_reason == "cancelled"
            assert event.stats.generated_tokens == 3


def test_generate_reports_cache_reuse(engine: Engine) -> None:
    prompt = torch.randint(0, 300, (300,), generator=torch.Generator().manual_seed(2)).tolist()
    _, first = run(engine, prompt, SamplingParams(max_tokens=2))
    _, second = run(engine, prompt + [11, 12], SamplingParams(max_tokens=2))
    assert first.stats.reused_tokens == 0
    assert second.stats.reused_tokens == 300 and second.stats.computed_tokens == 2
    assert second.stats.ttft_ms > 0


def test_cancel_stops_a_long_prefill_between_chunks() -> None:
    model = random_model(named_config("tiny-mamba2"), seed=3)
    engine = Engine(model, options=EngineOptions(prefill_chunk=64))
    cancel = CancelToken()
    cancel.cancel()
    events = list(engine.generate(list(range(1000)), SamplingParams(max_tokens=5),
                                  cancel=cancel))
    done = events[-1]
    assert isinstance(done, Generated) and done.finish_reason == "cancelled"
    assert done.token_ids == [] and len(engine.cache) == 0  # stopped after the first chunk
