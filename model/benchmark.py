"""Engine benchmark: prefill and decode speed, and the prefix state cache's effect on the time
to first token. Numbers are reported, never asserted; every cached figure has its cold peer
measured in the same run on the same model.
"""

from __future__ import annotations

import platform
import resource
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from autan.kernels.benchmark import copy_gb_s
from autan.model import cuda_graph
from autan.model.config import named_config
from autan.model.engine import Engine, EngineOptions, RequestStats
from autan.model.random_init import random_model
from autan.model.sampling import SamplingParams


@dataclass
class PrefixResult:
    prefix_tokens: int
    cold_ms: float  # a fresh engine: the whole prompt computed
    cached_ms: float  # the prefix is cached: only the 16 new tokens computed
    computed_cached: int

    @property
    def speedup(self) -> float:
        return self.cold_ms / self.cached_ms


@dataclass
class ShapeResult:
    shape: str
    params_m: float
    prefill_tokens: int
    prefill_tok_s: float
    decode_tok_s: float
    state_mib: float
    prefixes: list[PrefixResult]
    # CUDA only: decode replayed from a CUDA graph (None where the model cannot be graphed),
    # and the bandwidth floor: weights and state read once per token at the measured copy rate.
    decode_graph_tok_s: float | None = None
    decode_floor_tok_s: float | None = None


def hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        cpuinfo = []
    names = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    cpu = names[0] if names else cpu
    threads = torch.get_num_threads()
    return f"{cpu}, {threads} torch threads, torch {torch.__version__}"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _ids(n: int, vocab: int, seed: int) -> list[int]:
    return torch.randint(0, vocab, (n,), generator=torch.Generator().manual_seed(seed)).tolist()


def time_prefill(engine: Engine, ids: list[int]) -> tuple[float, RequestStats]:
    device = engine.model.device
    stats = RequestStats()
    _sync(device)
    start = time.perf_counter()
    engine.prefill(ids, stats=stats)
    _sync(device)
    return (time.perf_counter() - start) * 1000, stats


def measure_prefix(model: torch.nn.Module, prefix: int, seed: int) -> PrefixResult:
    """Cold: a fresh engine runs prefix + 16. Cached: an engine that has run the prefix before
    (the earlier request) runs prefix + 16 and computes only the 16."""
    vocab = model.cfg.vocab_size
    base = _ids(prefix, vocab, seed)
    request = base + _ids(16, vocab, seed + 1)
    options = EngineOptions(snapshot_every=1 << 30)
    cold_ms, _ = time_prefill(Engine(model, options=options), request)
    warm = Engine(model, options=options)
    warm.prefill(base)
    cached_ms, stats = time_prefill(warm, request)
    return PrefixResult(prefix, cold_ms, cached_ms, stats.computed_tokens)


def measure_decode(engine: Engine, n: int) -> float:
    params = SamplingParams(max_tokens=n)
    done = list(engine.generate(_ids(64, engine.model.cfg.vocab_size, 7), params))[-1]
    return done.stats.tokens_per_s


def bench_shape(shape: str, device: torch.device, dtype: torch.dtype, prefill_tokens: int,
                prefixes: list[int]) -> ShapeResult:
    model = random_model(named_config(shape), seed=0, dtype=dtype, device=device)
    engine = Engine(model, options=EngineOptions(snapshot_every=1 << 30))
    time_prefill(engine, _ids(256, model.cfg.vocab_size, 1))  # warm-up
    ids = _ids(prefill_tokens, model.cfg.vocab_size, 2)
    prefill_ms, _ = time_prefill(Engine(model), ids)
    decode_tok_s = measure_decode(engine, 32)
    graph_tok_s = floor_tok_s = None
    if device.type == "cuda":
        if cuda_graph.supports(model):
            graphed = Engine(model, options=EngineOptions(snapshot_every=1 << 30,
                                                          cuda_graph=True))
            measure_decode(graphed, 4)  # the capture happens here, outside the timing
            graph_tok_s = measure_decode(graphed, 32)
        floor_tok_s = copy_gb_s(device) * 1e9 / bytes_per_decode_step(model)
    results = [measure_prefix(model, p, seed=10 + i) for i, p in enumerate(prefixes)]
    params = sum(p.numel() for p in model.parameters()) / 1e6
    state = model.new_state(1, 16).nbytes() / 2**20
    return ShapeResult(shape, params, prefill_tokens, prefill_tokens / prefill_ms * 1000,
                       decode_tok_s, state, results, graph_tok_s, floor_tok_s)


def bytes_per_decode_step(model: torch.nn.Module) -> int:
    """What one decode token must read at least: every weight once, the state in and out."""
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    return weights + 2 * model.new_state(1, 16).nbytes()




def peak_memory_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def as_dict(result: ShapeResult) -> dict:
    out = asdict(result)
    for p, r in zip(out["prefixes"], result.prefixes, strict=True):
        p["speedup"] = r.speedup
    return out
