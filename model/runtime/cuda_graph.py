"""Decode steps replayed from a CUDA graph, for models whose whole state is fixed-size.

At batch 1 a decode step of a 64-layer Mamba model is a few hundred small kernel launches, and
the CPU time to issue them (tens of microseconds per layer) exceeds the GPU time to read the
weights once (about 4.4 ms for Codestral Mamba 7B). Capturing the step once and replaying it
issues all of them with one call.

A graph replays fixed memory addresses, so it works only when every layer's state is a tensor
of fixed shape updated in place: Mamba-1 and Mamba-2 states (conv and SSM) qualify, MLPs have
none; an attention KV cache grows, and a mixture of experts routes with data-dependent shapes,
so models with either keep the eager path. The graph runs on one persistent state owned by the
decoder; a request's state is copied in when its decoding starts, and copied back out if
another request takes the decoder over in between.
"""

from __future__ import annotations

import threading

import torch

from autan.model.model import Model
from autan.model.runtime.state import InferenceState, RecurrentCache

GRAPHABLE_MIXERS = {"mamba1", "mamba2", "mlp"}


def supports(model: Model) -> bool:
    """Whether `model`'s decode step can be captured: CUDA, and only fixed-size state."""
    return model.device.type == "cuda" and all(
        block.kind in GRAPHABLE_MIXERS for block in model.cfg.blocks)


def _tensors(state: InferenceState) -> list[torch.Tensor]:
    out = []
    for cache in state.caches:
        if cache is not None:
            assert isinstance(cache, RecurrentCache), "only fixed-size states can be graphed"
            out += [cache.conv, cache.ssm]
    return out


class GraphedDecoder:
    """One-token decode steps of `model` at batch 1, captured on first use and replayed."""

    def __init__(self, model: Model) -> None:
        if not supports(model):
            raise ValueError("CUDA graphs need a CUDA model whose layers are all Mamba or MLP")
        self.model = model
        self.state: InferenceState | None = None  # made at capture; the graph reads, writes it
        self.ids = torch.zeros(1, 1, dtype=torch.long, device=model.device)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.logits: torch.Tensor | None = None  # (1, 1, vocab) fp32, rewritten by each replay
        self.owner: InferenceState | None = None  # the request whose state is loaded
        self._lock = threading.Lock()  # one replay at a time: they share the state buffers

    def _capture(self) -> None:
        self.state = self.model.new_state(1, 16)
        # Warm up on a side stream first, as capture requires: this compiles the Triton kernels
        # and creates the cuBLAS workspaces, which must not happen inside the capture.
        side = torch.cuda.Stream(self.model.device)
        side.wait_stream(torch.cuda.current_stream(self.model.device))
        with torch.cuda.stream(side):
            for _ in range(2):
                self.model(self.ids, self.state, last_only=True)
        torch.cuda.current_stream(self.model.device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.logits = self.model(self.ids, self.state, last_only=True)

    def _switch_to(self, state: InferenceState) -> None:
        if self.owner is state:
            return
        if self.owner is not None:  # another request is mid-decode: keep its progress
            for mine, theirs in zip(_tensors(self.state), _tensors(self.owner), strict=True):
                theirs.copy_(mine)
        for mine, theirs in zip(_tensors(self.state), _tensors(state), strict=True):
            mine.copy_(theirs)
        self.owner = state

    # Both run in inference mode whoever calls them: the engine makes its states there, and
    # copying into an inference tensor is refused outside it (seen on the first GPU run).
    @torch.inference_mode()
    def release(self, state: InferenceState) -> None:
        """Copy the decoded state back into `state` (its request is done with the decoder)."""
        with self._lock:
            if self.owner is state:
                for mine, theirs in zip(_tensors(self.state), _tensors(state), strict=True):
                    theirs.copy_(mine)
                self.owner = None

    @torch.inference_mode()
    def step(self, state: InferenceState, token: int) -> torch.Tensor:
        """Logits (vocab,) fp32 after feeding `token` to the request whose state is `state`.

        The returned tensor is the graph's output buffer: read it before the next step.
        """
        with self._lock:
            if self.graph is None:
                self._capture()
            self._switch_to(state)
            self.ids.fill_(token)
            self.graph.replay()
            state.pos += 1  # the graph ran the model's tensors, not its Python bookkeeping
            return self.logits[0, -1]
