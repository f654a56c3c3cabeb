"""Engine benchmark: prefill and decode speed, and the prefix state cache's effect on the time
to first token. Numbers are reported, never asserted; every cached figure has its cold peer
measured in the same run on the same model.
"""

from __future__ import annotations

import platform
import resource
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from autan.bench.kernels import measure_peaks, ssd_chunk_scan_flops
from autan.model.config import Mamba2Config, named_config
from autan.model.random_init import random_model
from autan.model.runtime import cuda_graph
from autan.model.runtime.engine import Engine, EngineOptions
from autan.wire.types import RequestStats, SamplingParams


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
    # CUDA only: the FLOP floor of each cold prefix (its matmul and scan FLOPs at the measured
    # bf16 matmul rate), in the order of `prefixes`; and the top kernels of one eager decode step
    # and of one prefill chunk, from torch.profiler (with --profile).
    prefill_floor_ms: list[float] = field(default_factory=list)
    profile: str = ""


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
                prefixes: list[int], profile: bool = False,
                progress: Callable[[str], None] = lambda line: None) -> ShapeResult:
    """`progress` gets one line per measurement as it is taken, so a run stopped part-way (a
    GPU lease ending) still leaves what it measured."""
    t0 = time.perf_counter()
    model = random_model(named_config(shape), seed=0, dtype=dtype, device=device)
    progress(f"{shape}: random weights in {time.perf_counter() - t0:.1f} s")
    engine = Engine(model, options=EngineOptions(snapshot_every=1 << 30))
    # The warm-up has the shapes the timings will have (a full prefill chunk, then a 16-token
    # tail like a cached request's), so no timing below includes a Triton compile: in the first
    # H200 run, after a 256-token warm-up, the first cold 32K prefill took 1.9 s more than its
    # chunks account for at the rate of the 256K one, most likely compiling.
    warm_ms, _ = time_prefill(engine, _ids(engine.options.prefill_chunk + 16,
                                           model.cfg.vocab_size, 1))
    progress(f"warm-up prefill (compiles the kernels): {warm_ms:,.0f} ms")
    ids = _ids(prefill_tokens, model.cfg.vocab_size, 2)
    prefill_ms, _ = time_prefill(Engine(model), ids)
    progress(f"prefill {prefill_tokens} tokens: {prefill_ms:,.1f} ms")
    decode_tok_s = measure_decode(engine, 32)
    progress(f"decode, eager: {decode_tok_s:,.1f} tokens/s")
    graph_tok_s = floor_tok_s = None
    floors: list[float] = []
    if device.type == "cuda":
        peaks = measure_peaks(device, smoke=False)  # copy rate and matmul rate, measured now
        if cuda_graph.supports(model):
            graphed = Engine(model, options=EngineOptions(snapshot_every=1 << 30,
                                                          cuda_graph=True))
            measure_decode(graphed, 4)  # the capture happens here, outside the timing
            graph_tok_s = measure_decode(graphed, 32)
            progress(f"decode, CUDA graph: {graph_tok_s:,.1f} tokens/s")
        floor_tok_s = peaks.copy_gb_s * 1e9 / bytes_per_decode_step(model)
        progress(f"decode bandwidth floor: {floor_tok_s:,.1f} tokens/s")
        floors = [prefill_flops(model, p + 16) / peaks.matmul_tflop_s / 1e9 for p in prefixes]
    results = []
    for i, p in enumerate(prefixes):
        results.append(measure_prefix(model, p, seed=10 + i))
        r = results[-1]
        floor = f" (FLOP floor {floors[i]:,.1f} ms)" if floors else ""
        progress(f"prefix {p:,}: cold {r.cold_ms:,.1f} ms{floor}, cached {r.cached_ms:,.1f} ms")
    profile_text = profile_steps(model) if profile and device.type == "cuda" else ""
    params = sum(p.numel() for p in model.parameters()) / 1e6
    state = model.new_state(1, 16).nbytes() / 2**20
    return ShapeResult(shape, params, prefill_tokens, prefill_tokens / prefill_ms * 1000,
                       decode_tok_s, state, results, graph_tok_s, floor_tok_s, floors,
                       profile_text)


def prefill_flops(model: torch.nn.Module, tokens: int) -> float:
    """The FLOPs a prefill of `tokens` must do at least: every projection weight once per token
    (2 FLOPs per weight; the embedding is a lookup and the logits are computed for the last
    token only), plus the SSD chunk scan's matmuls in each Mamba-2 layer. Attention scores and
    the elementwise work are left out, so the floor is a lower bound."""
    embed = model.cfg.vocab_size * model.cfg.d_model
    weights = sum(p.numel() for p in model.parameters() if p.dim() >= 2)
    weights -= embed if model.cfg.tie_embeddings else 2 * embed
    flops = 2.0 * weights * tokens
    for block in model.cfg.blocks:
        m = block.mixer
        if isinstance(m, Mamba2Config):
            flops += ssd_chunk_scan_flops(tokens, m.nheads, m.headdim, m.d_state, m.n_groups,
                                          m.chunk_size)
    return flops


def profile_steps(model: torch.nn.Module, rows: int = 15) -> str:
    """torch.profiler's top CUDA kernels of one eager decode step and of one 2048-token prefill
    chunk, with the number of kernel launches each made: where the time goes when a target is
    missed."""
    from torch.profiler import ProfilerActivity, profile

    vocab = model.cfg.vocab_size
    state = model.new_state(1, 8192)  # room for every token the two steps feed
    token = torch.tensor([[1]], device=model.device)
    with torch.no_grad():
        model(torch.tensor([_ids(64, vocab, 4)], device=model.device), state, last_only=True)
        chunk = torch.tensor([_ids(2048, vocab, 5)], device=model.device)
        out = []
        steps = {"one eager decode step": token, "one 2048-token prefill chunk": chunk}
        for name, ids in steps.items():
            def fn(ids: torch.Tensor = ids) -> torch.Tensor:
                return model(ids, state, last_only=True)

            fn()
            _sync(model.device)
            with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                fn()
                _sync(model.device)
            events = prof.key_averages()
            kernels = [e for e in events if str(e.device_type).endswith("CUDA")]
            launches = sum(e.count for e in kernels)
            gpu_ms = sum(e.self_device_time_total for e in kernels) / 1000
            out.append(f"### {name}: {launches} kernel launches, {gpu_ms:.2f} ms of kernel time\n"
                       + events.table(sort_by="self_device_time_total", row_limit=rows))
    return "\n".join(out)


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
