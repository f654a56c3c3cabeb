"""The engine: prefill with the prefix state cache, then stream a completion.

A request's prompt resumes from the longest cached prefix, computes only the rest in chunks,
and leaves snapshots at the positions the caller marked (segment boundaries), every
`snapshot_every` tokens and at the prompt's end, so that the next keystroke's prompt, which
shares almost all of this one, resumes close to its end.
"""

from __future__ import annotations

import array
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from autan.model.io.tokenizer import StreamDecoder, Tokenizer
from autan.model.model import Model
from autan.model.runtime import cuda_graph
from autan.model.runtime.prefix_cache import PrefixStateCache
from autan.model.runtime.sampling import sample
from autan.model.runtime.state import InferenceState
from autan.model.runtime.stops import find_stop, safe_prefix_length
from autan.wire.types import RequestStats, SamplingParams


@dataclass
class EngineOptions:
    cache_budget_bytes: int = 2 << 30
    snapshot_every: int = 4096
    prefill_chunk: int = 2048
    snapshot_prompt_end: bool = True
    # Replay decode steps from a CUDA graph where the model allows it (model/runtime/cuda_graph.py);
    # ignored on CPU and for models with attention or experts.
    cuda_graph: bool = False


@dataclass
class TokenEvent:
    token_id: int
    text: str  # newly released text (may be empty while a stop string is still possible)


@dataclass
class Generated:
    """The end of a generation: the whole text, its token ids and why it ended."""

    text: str
    token_ids: list[int]
    finish_reason: str  # stop | length | cancelled
    stats: RequestStats


class CancelToken:
    """Set from any thread; the decode loop checks it before every step."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


def as_token_tensor(ids: Sequence[int] | torch.Tensor) -> torch.Tensor:
    """Token ids as a 1-D int64 CPU tensor. Through `array` this takes 5 ms for 256K ids where
    `torch.tensor(list)` takes 20: it is on the keystroke path."""
    if isinstance(ids, torch.Tensor):
        return ids.reshape(-1).to("cpu", torch.long)
    if len(ids) == 0:
        return torch.zeros(0, dtype=torch.long)
    return torch.frombuffer(array.array("q", ids), dtype=torch.long)


class Engine:
    def __init__(self, model: Model, tokenizer: Tokenizer | None = None,
                 options: EngineOptions | None = None) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.options = options or EngineOptions()
        template = model.new_state(1, 16)  # only to know each block's cache type
        self.cache = PrefixStateCache(self.options.cache_budget_bytes, template.trim_snapshot)
        self._cache_lock = threading.Lock()
        self._graphed = (cuda_graph.GraphedDecoder(model)
                         if self.options.cuda_graph and cuda_graph.supports(model) else None)

    def _decode_step(self, state: InferenceState, token: int) -> torch.Tensor:
        """Logits (vocab,) fp32 after feeding one token to `state`."""
        if self._graphed is not None:
            return self._graphed.step(state, token)
        step = torch.tensor([[token]], device=self.model.device)
        return self.model(step, state, last_only=True)[0, -1]

    def _snapshot_positions(self, start: int, end: int, boundaries: Sequence[int]) -> list[int]:
        every = self.options.snapshot_every
        marks = set(boundaries) | set(range(every, end, every))
        if self.options.snapshot_prompt_end:
            marks.add(end)
        return sorted(p for p in marks if start < p <= end)

    @torch.inference_mode()
    def prefill(
        self, ids: Sequence[int] | torch.Tensor, boundaries: Sequence[int] = (),
        capacity: int = 0, stats: RequestStats | None = None,
        cancel: CancelToken | None = None,
    ) -> tuple[torch.Tensor, InferenceState]:
        """Run the prompt, reusing and extending the prefix cache.

        Returns the last position's logits (vocab,) in fp32 and the state after the prompt.
        """
        stats = stats if stats is not None else RequestStats()
        tokens = as_token_tensor(ids)
        if tokens.numel() == 0:
            raise ValueError("empty prompt")
        state = self.model.new_state(1, capacity or tokens.numel() + 256)
        with self._cache_lock:  # resume at most one token short: its logits are needed
            chain = self.cache.lookup(tokens, max_pos=tokens.numel() - 1)
            if chain:
                state.restore([node.snapshot for node in chain], chain[-1].pos)
        stats.prompt_tokens, stats.reused_tokens = tokens.numel(), state.pos
        stats.computed_tokens = tokens.numel() - state.pos
        snaps = self._snapshot_positions(state.pos, tokens.numel(), boundaries)
        device = self.model.device
        logits = None
        while state.pos < tokens.numel():
            if cancel is not None and cancel.cancelled and logits is not None:
                break  # between chunks: a long prompt is not run to its end for nothing
            end = min(tokens.numel(), state.pos + self.options.prefill_chunk,
                      next((p for p in snaps if p > state.pos), tokens.numel()))
            piece = tokens[state.pos : end].to(device)[None]
            logits = self.model(piece, state, last_only=True)
            if end in snaps:
                with self._cache_lock:
                    self.cache.insert(tokens[:end], state.snapshot)
        return logits[0, -1], state

    @torch.inference_mode()
    def generate(self, ids: Sequence[int] | torch.Tensor, params: SamplingParams,
                 boundaries: Sequence[int] = (),
                 cancel: CancelToken | None = None) -> Iterator[TokenEvent | Generated]:
        """Stream a completion of `ids`: TokenEvents, then one Generated."""
        start = time.perf_counter()
        stats = RequestStats()
        logits, state = self.prefill(ids, boundaries, len(ids) + params.max_tokens, stats,
                                     cancel)
        gen = None if params.seed is None else torch.Generator().manual_seed(params.seed)
        decoder = StreamDecoder(self.tokenizer) if self.tokenizer is not None else None
        text, released, produced = "", 0, []
        token = sample(logits, params, gen)
        stats.ttft_ms = (time.perf_counter() - start) * 1000
        decode_start = time.perf_counter()
        finish_reason = "length"
        try:
            while len(produced) < params.max_tokens:
                if cancel is not None and cancel.cancelled:
                    finish_reason = "cancelled"
                    break
                if token in params.stop_ids:
                    finish_reason = "stop"
                    break
                produced.append(token)
                text += decoder.feed(token) if decoder is not None else ""
                cut = find_stop(text, params.stop_strings)
                if cut is not None:
                    text, finish_reason = text[:cut], "stop"
                    break
                safe = safe_prefix_length(text, params.stop_strings)
                yield TokenEvent(token, text[released:safe])
                released = safe
                if len(produced) == params.max_tokens:
                    break
                token = sample(self._decode_step(state, token), params, gen)
        finally:  # also when the caller abandons the stream
            if self._graphed is not None:
                self._graphed.release(state)
        if decoder is not None and finish_reason != "stop":
            text += decoder.flush()
            cut = find_stop(text, params.stop_strings)
            text = text if cut is None else text[:cut]
        stats.generated_tokens = len(produced)
        stats.decode_ms = (time.perf_counter() - decode_start) * 1000
        if len(text) > released:
            yield TokenEvent(-1, text[released:])
        yield Generated(text, produced, finish_reason, stats)

    @torch.inference_mode()
    def score_from(self, ids: Sequence[int] | torch.Tensor, start: int,
                   boundaries: Sequence[int] = (),
                   stats: RequestStats | None = None) -> list[float]:
        """Natural-log probability of each of `ids[start:]` given the tokens before it, in fp32.

        `ids[:start]` runs as a prompt would (resumed from and added to the prefix state
        cache, snapshots at `boundaries`), so many texts after one shared context, or one text
        rescored after a cached prefix, cost only their own tokens.
        """
        tokens = as_token_tensor(ids)
        if not 0 < start < tokens.numel():
            raise ValueError(f"start {start} must lie inside the {tokens.numel()} ids")
        last, state = self.prefill(tokens[:start], boundaries, tokens.numel() + 16, stats)
        out = [float(torch.log_softmax(last.float(), dim=-1)[tokens[start]])]
        device = self.model.device
        pos = start  # feeding tokens[pos:end] predicts tokens[pos + 1 : end + 1]
        while pos < tokens.numel() - 1:
            end = min(tokens.numel() - 1, pos + self.options.prefill_chunk)
            logits = self.model(tokens[pos:end].to(device)[None], state)[0].float()
            targets = tokens[pos + 1 : end + 1].to(device)[:, None]
            out.extend(torch.log_softmax(logits, dim=-1).gather(1, targets)[:, 0].tolist())
            pos = end
        return out

    @torch.inference_mode()
    def score(self, ids: Sequence[int]) -> list[float | None]:
        """Natural-log probability of each token given those before it (None for the first),
        computed in fp32, in chunks so long inputs fit in memory."""
        tokens = torch.tensor(list(ids), dtype=torch.long, device=self.model.device)
        state = self.model.new_state(1, tokens.numel() + 16)
        out: list[float | None] = [None]
        prev_last: torch.Tensor | None = None
        for begin in range(0, tokens.numel(), self.options.prefill_chunk):
            piece = tokens[begin : begin + self.options.prefill_chunk]
            logprobs = torch.log_softmax(self.model(piece[None], state)[0].float(), dim=-1)
            if prev_last is not None:
                out.append(float(prev_last[piece[0]]))
            out.extend(logprobs[:-1].gather(1, piece[1:, None])[:, 0].tolist())
            prev_last = logprobs[-1]
        return out
