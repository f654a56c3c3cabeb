"""Kernel benchmark: each Triton op beside its peer, at real model shapes, in one run.

Timings are CUDA events around each call (warm-up first, then the median of many calls), with
the inputs rotated through several copies so that no call finds its operands in L2 from the
call before. Every row prints the achieved GB/s and TFLOP/s and their share of this device's
peaks, measured in the same run: a large device-to-device copy for bandwidth and a large bf16
matmul for the tensor-core rate. Peers: mamba-ssm's Triton kernels (`mamba_chunk_scan_combined`,
`selective_state_update`, the gated `rmsnorm_fn`), its CUDA `selective_scan_fn` and the
`causal-conv1d` package where they import, and PyTorch's `scaled_dot_product_attention` on the
flash backend. A missing peer is reported as such, never silently skipped.

`smoke=True` runs the same code at tiny shapes on CPU under Triton's interpreter: the timings
mean nothing there, it only keeps this file working on machines without a GPU.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import statistics
import sys
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from autan.kernels.attention import attention
from autan.kernels.causal_conv1d import causal_conv1d
from autan.kernels.rmsnorm import gated_rmsnorm
from autan.kernels.selective_scan import selective_scan, selective_state_update
from autan.kernels.ssd_scan import ssd_chunk_scan
from autan.kernels.ssd_state_update import ssd_state_update

Inputs = dict[str, Any]


@dataclass
class Peaks:
    copy_gb_s: float  # device-to-device copy: bytes read + bytes written per second
    matmul_tflop_s: float  # bf16 (CPU: fp32) square matmul


@dataclass
class Row:
    op: str
    shape: str
    ms: float
    bytes_moved: float
    flops: float
    peer: str
    peer_ms: float | None  # None: the peer is not available here (see `peer`)
    first_ms: float = 0.0  # the first call, Triton's compile included (apart from steady state)
    peak_mib: float = 0.0  # peak device memory of this case: its inputs and both ops' outputs

    def gb_s(self) -> float:
        return self.bytes_moved / self.ms / 1e6

    def tflop_s(self) -> float:
        return self.flops / self.ms / 1e9

    def speedup(self) -> float | None:
        return None if self.peer_ms is None else self.peer_ms / self.ms


@dataclass
class Report:
    hardware: str
    peaks: Peaks
    peer_note: str
    rows: list[Row] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Timing


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ms(fn: Callable[[Inputs], object], inputs: Sequence[Inputs], device: torch.device,
            warmup: int, reps: int) -> float:
    """Median milliseconds of `fn(inputs[i % len(inputs)])` over `reps` calls."""
    for i in range(warmup):
        fn(inputs[i % len(inputs)])
    _sync(device)
    times = []
    for i in range(reps):
        args = inputs[i % len(inputs)]
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn(args)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn(args)
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def copies_for(bytes_per_set: int, device: torch.device) -> int:
    """How many input sets to rotate through so that together they overflow L2 twice over."""
    if device.type != "cuda":
        return 2
    l2 = getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 50 << 20)
    return max(2, min(16, math.ceil(2 * l2 / max(bytes_per_set, 1))))


def copy_gb_s(device: torch.device, smoke: bool = False) -> float:
    """Device-to-device copy rate, measured now: bytes read plus bytes written per second."""
    n = (1 << 16) if smoke else (1 << 28)  # 512 MiB of bf16 each way on GPU
    src = torch.empty(n, dtype=torch.bfloat16, device=device).normal_()
    dst = torch.empty_like(src)
    copy_ms = time_ms(lambda _: dst.copy_(src), [{}], device, warmup=3, reps=10)
    return 2 * src.numel() * src.element_size() / copy_ms / 1e6


def measure_peaks(device: torch.device, smoke: bool) -> Peaks:
    """Copy bandwidth and matmul rate of this device, measured now."""
    size = 256 if smoke else 8192
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    mm_ms = time_ms(lambda _: a @ b, [{}], device, warmup=3, reps=10)
    return Peaks(copy_gb_s=copy_gb_s(device, smoke), matmul_tflop_s=2 * size**3 / mm_ms / 1e9)


# ---------------------------------------------------------------------------------------------
# Peers


@dataclass
class MambaPeers:
    chunk_scan: Callable[..., Any] | None = None
    state_update: Callable[..., Any] | None = None
    rmsnorm: Callable[..., Any] | None = None
    selective_scan: Callable[..., Any] | None = None
    conv1d: Callable[..., Any] | None = None
    conv1d_update: Callable[..., Any] | None = None
    note: str = ""


def _import_or_none(module: str, name: str) -> Callable[..., Any] | None:
    try:
        return getattr(importlib.import_module(module), name)
    except Exception:  # an optional peer: any failure to import means "not available"
        return None


def load_mamba_peers() -> MambaPeers:
    """mamba-ssm's kernels, with or without its CUDA extension.

    `import mamba_ssm` imports the compiled selective scan at once and fails where that
    extension was not built for this device. Its Triton kernels do not need it, so when the
    package import fails, an empty `mamba_ssm` package object pointing at the installed folder
    stands in for it, and the Triton modules import on their own.
    """
    peers = MambaPeers()
    spec = importlib.util.find_spec("mamba_ssm")
    if spec is None:
        peers.note = "mamba-ssm: not installed"
    else:
        try:
            importlib.import_module("mamba_ssm")
            how = "mamba-ssm imported with its CUDA extension"
        except Exception as exc:  # the CUDA extension is missing or built for another GPU
            package = types.ModuleType("mamba_ssm")
            package.__path__ = list(spec.submodule_search_locations or [])
            sys.modules["mamba_ssm"] = package
            how = f"mamba-ssm Triton modules loaded without its CUDA extension ({exc})"
        triton_ops = "mamba_ssm.ops.triton"
        peers.chunk_scan = _import_or_none(f"{triton_ops}.ssd_combined",
                                           "mamba_chunk_scan_combined")
        peers.state_update = _import_or_none(f"{triton_ops}.selective_state_update",
                                             "selective_state_update")
        peers.rmsnorm = _import_or_none(f"{triton_ops}.layernorm_gated", "rmsnorm_fn")
        peers.selective_scan = _import_or_none("mamba_ssm.ops.selective_scan_interface",
                                               "selective_scan_fn")
        peers.note = how
    peers.conv1d = _import_or_none("causal_conv1d", "causal_conv1d_fn")
    peers.conv1d_update = _import_or_none("causal_conv1d", "causal_conv1d_update")
    if peers.conv1d is None:
        peers.note += "; causal-conv1d: not available (peer: torch conv1d)"
    return peers


# ---------------------------------------------------------------------------------------------
# Cases: each builds its inputs, the autan call, the peer call, and the bytes and FLOPs.


@dataclass
class Case:
    op: str
    shape: str
    make: Callable[[], Inputs]
    run: Callable[[Inputs], object]
    bytes_moved: float
    flops: float
    peer: str
    peer_run: Callable[[Inputs], object] | None


def _rand(shape: Sequence[int], device: torch.device, dtype: torch.dtype,
          scale: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, device=device, dtype=torch.float32).mul_(scale).to(dtype)


def _nbytes(inputs: Inputs) -> int:
    return sum(t.numel() * t.element_size() for t in inputs.values() if torch.is_tensor(t))


def ssd_chunk_scan_flops(tokens: int, nheads: int, headdim: int, d_state: int, n_groups: int,
                         chunk: int) -> float:
    """The SSD chunk scan's matmul FLOPs. Per chunk: C.B^T per group, (scores x) per head,
    the chunk state and the state's output share per head (full T x T blocks, as computed)."""
    per_head = 2 * chunk * chunk * headdim + 4 * chunk * headdim * d_state
    return float(math.ceil(tokens / chunk) * (n_groups * 2 * chunk * chunk * d_state
                                              + nheads * per_head))


def ssd_cases(peers: MambaPeers, device: torch.device, dtype: torch.dtype,
              smoke: bool) -> list[Case]:
    # Codestral Mamba 7B: 128 heads of 64, d_state 128, 8 groups, chunks of 256.
    h, p, n, g, chunk = (4, 16, 16, 2, 16) if smoke else (128, 64, 128, 8, 256)
    cases = []
    for seqlen in (64,) if smoke else (4096, 16384):
        def make(seqlen: int = seqlen) -> Inputs:
            return dict(x=_rand((1, seqlen, h, p), device, dtype),
                        dt=_rand((1, seqlen, h), device, dtype, 0.5),
                        A=-torch.rand(h, device=device) * 4 - 0.5,
                        B=_rand((1, seqlen, g, n), device, dtype),
                        C=_rand((1, seqlen, g, n), device, dtype),
                        D=torch.randn(h, device=device), dt_bias=torch.randn(h, device=device),
                        state=torch.randn(1, h, p, n, device=device))

        def run(t: Inputs) -> object:
            return ssd_chunk_scan(t["x"], t["dt"], t["A"], t["B"], t["C"], chunk, D=t["D"],
                                  dt_bias=t["dt_bias"], initial_state=t["state"])

        peer_run = None
        if peers.chunk_scan is not None:
            def peer_run(t: Inputs) -> object:
                return peers.chunk_scan(t["x"], t["dt"], t["A"], t["B"], t["C"], chunk,
                                        D=t["D"], dt_bias=t["dt_bias"], dt_softplus=True,
                                        initial_states=t["state"], return_final_states=True)

        elt = torch.finfo(dtype).bits // 8
        tokens = seqlen
        # Read x, dt, B, C; write y (fp32 here, the input dtype in mamba-ssm: counted as ours);
        # the state in and out once.
        moved = tokens * (h * p * elt + h * elt + 2 * g * n * elt + h * p * 4) + 2 * h * p * n * 4
        flops = ssd_chunk_scan_flops(tokens, h, p, n, g, chunk)
        cases.append(Case("ssd_chunk_scan", f"L={seqlen} h={h}x{p} n={n} g={g}", make, run,
                          moved, flops, "mamba_chunk_scan_combined", peer_run))

    for batch in (1,) if smoke else (1, 16):
        def make_step(batch: int = batch) -> Inputs:
            return dict(state=torch.randn(batch, h, p, n, device=device),
                        x=_rand((batch, h, p), device, dtype), dt=_rand((batch, h), device, dtype),
                        A=-torch.rand(h, device=device) - 0.5,
                        B=_rand((batch, g, n), device, dtype),
                        C=_rand((batch, g, n), device, dtype),
                        D=torch.randn(h, device=device), dt_bias=torch.randn(h, device=device))

        def run_step(t: Inputs) -> object:
            return ssd_state_update(t["state"], t["x"], t["dt"], t["A"], t["B"], t["C"],
                                    D=t["D"], dt_bias=t["dt_bias"])

        peer_step = None
        if peers.state_update is not None:
            # mamba-ssm's multi-head form takes per-(head, headdim) dt/A/D: broadcast views.
            def peer_step(t: Inputs) -> object:
                bsz = t["x"].shape[0]
                return peers.state_update(
                    t["state"], t["x"], t["dt"][..., None].expand(bsz, h, p),
                    t["A"][:, None, None].expand(h, p, n), t["B"], t["C"],
                    D=t["D"][:, None].expand(h, p), dt_bias=t["dt_bias"][:, None].expand(h, p),
                    dt_softplus=True)

        moved = batch * 2 * h * p * n * 4  # the fp32 state read and written; the rest is tiny
        cases.append(Case("ssd_state_update", f"batch={batch} h={h}x{p} n={n} g={g}", make_step,
                          run_step, moved, batch * h * p * n * 5, "selective_state_update",
                          peer_step))
    return cases


def mamba1_cases(peers: MambaPeers, device: torch.device, dtype: torch.dtype,
                 smoke: bool) -> list[Case]:
    # Falcon-Mamba / Jamba-like Mamba-1 layer: d_inner 8192, d_state 16.
    dim, n = (32, 16) if smoke else (8192, 16)
    seqlen = 64 if smoke else 4096
    elt = torch.finfo(dtype).bits // 8

    def make() -> Inputs:
        return dict(x=_rand((1, dim, seqlen), device, dtype),
                    dt=_rand((1, dim, seqlen), device, dtype, 0.5),
                    A=-torch.rand(dim, n, device=device) - 0.5,
                    B=_rand((1, n, seqlen), device, dtype), C=_rand((1, n, seqlen), device, dtype),
                    D=torch.randn(dim, device=device), z=_rand((1, dim, seqlen), device, dtype),
                    dt_bias=torch.randn(dim, device=device))

    def run(t: Inputs) -> object:
        return selective_scan(t["x"], t["dt"], t["A"], t["B"], t["C"], D=t["D"], z=t["z"],
                              dt_bias=t["dt_bias"])

    peer_run = None
    if peers.selective_scan is not None:
        def peer_run(t: Inputs) -> object:
            return peers.selective_scan(t["x"], t["dt"], t["A"], t["B"], t["C"], D=t["D"],
                                        z=t["z"], delta_bias=t["dt_bias"], delta_softplus=True,
                                        return_last_state=True)

    moved = seqlen * (3 * dim * elt + 2 * n * elt + dim * 4)
    cases = [Case("selective_scan", f"L={seqlen} d={dim} n={n}", make, run, moved,
                  seqlen * dim * n * 6, "selective_scan_fn (CUDA)", peer_run)]

    batch = 1

    def make_step() -> Inputs:
        return dict(state=torch.randn(batch, dim, n, device=device),
                    x=_rand((batch, dim), device, dtype), dt=_rand((batch, dim), device, dtype),
                    A=-torch.rand(dim, n, device=device) - 0.5,
                    B=_rand((batch, n), device, dtype), C=_rand((batch, n), device, dtype),
                    D=torch.randn(dim, device=device), z=_rand((batch, dim), device, dtype),
                    dt_bias=torch.randn(dim, device=device))

    def run_step(t: Inputs) -> object:
        return selective_state_update(t["state"], t["x"], t["dt"], t["A"], t["B"], t["C"],
                                      D=t["D"], z=t["z"], dt_bias=t["dt_bias"])

    peer_step = None
    if peers.state_update is not None:
        def peer_step(t: Inputs) -> object:
            return peers.state_update(t["state"], t["x"], t["dt"], t["A"], t["B"], t["C"],
                                      D=t["D"], z=t["z"], dt_bias=t["dt_bias"], dt_softplus=True)

    cases.append(Case("selective_state_update", f"batch={batch} d={dim} n={n}", make_step,
                      run_step, batch * dim * n * 4 * 3, batch * dim * n * 5,
                      "selective_state_update", peer_step))
    return cases


def conv_cases(peers: MambaPeers, device: torch.device, dtype: torch.dtype,
               smoke: bool) -> list[Case]:
    # Codestral Mamba's conv: x, B and C channels (8192 + 2 * 8 * 128), width 4.
    dim, width = (48, 4) if smoke else (10240, 4)
    elt = torch.finfo(dtype).bits // 8
    cases = []
    for seqlen in (33, 1) if smoke else (4096, 1):
        def make(seqlen: int = seqlen) -> Inputs:
            # The model's layout: (batch, seqlen, dim) transposed to (batch, dim, seqlen).
            return dict(x=_rand((1, seqlen, dim), device, dtype).transpose(1, 2),
                        w=_rand((dim, width), device, dtype, 0.5),
                        b=_rand((dim,), device, dtype),
                        state=_rand((1, dim, width - 1), device, dtype))

        def run(t: Inputs) -> object:
            return causal_conv1d(t["x"], t["w"], t["b"], t["state"], activation="silu")

        if seqlen == 1 and peers.conv1d_update is not None:
            peer, peer_run = "causal_conv1d_update", (
                lambda t: peers.conv1d_update(t["x"][..., 0], t["state"], t["w"], t["b"],
                                              activation="silu"))
        elif seqlen > 1 and peers.conv1d is not None:
            peer, peer_run = "causal_conv1d_fn", (
                lambda t: peers.conv1d(t["x"], t["w"], t["b"], activation="silu"))
        else:
            peer = "torch conv1d + silu"

            def peer_run(t: Inputs) -> object:
                window = torch.cat([t["state"], t["x"]], dim=-1)
                return F.silu(F.conv1d(window, t["w"][:, None], t["b"], groups=dim))

        moved = 2 * seqlen * dim * elt + 2 * dim * (width - 1) * elt
        cases.append(Case("causal_conv1d", f"L={seqlen} dim={dim} width={width}", make, run,
                          moved, 2 * seqlen * dim * width, peer, peer_run))
    return cases


def norm_cases(peers: MambaPeers, device: torch.device, dtype: torch.dtype,
               smoke: bool) -> list[Case]:
    rows, dim, group = (16, 64, 16) if smoke else (4096, 8192, 1024)
    elt = torch.finfo(dtype).bits // 8

    def make() -> Inputs:
        return dict(x=_rand((rows, dim), device, dtype), z=_rand((rows, dim), device, dtype),
                    w=_rand((dim,), device, dtype))

    def run(t: Inputs) -> object:
        return gated_rmsnorm(t["x"], t["z"], t["w"], 1e-5, group)

    if peers.rmsnorm is not None:
        peer = "mamba-ssm rmsnorm_fn"

        def peer_run(t: Inputs) -> object:
            return peers.rmsnorm(t["x"], t["w"], None, z=t["z"], eps=1e-5, group_size=group,
                                 norm_before_gate=False)
    else:
        peer = "torch eager (the reference)"

        def peer_run(t: Inputs) -> object:
            from autan.kernels.rmsnorm import gated_rmsnorm_ref

            return gated_rmsnorm_ref(t["x"], t["z"], t["w"], 1e-5, group)

    return [Case("gated_rmsnorm", f"rows={rows} dim={dim} group={group}", make, run,
                 3 * rows * dim * elt, rows * dim * 8, peer, peer_run)]


def attention_cases(device: torch.device, dtype: torch.dtype, smoke: bool) -> list[Case]:
    # Codestral 22B: 48 query heads, 8 KV heads of 128.
    hq, hkv, d = (4, 2, 32) if smoke else (48, 8, 128)
    elt = torch.finfo(dtype).bits // 8
    cases = []
    shapes = [(48, 48), (1, 300)] if smoke else [(4096, 4096), (16384, 16384), (1, 32768),
                                                 (1, 131072)]
    for sq, sk in shapes:
        def make(sq: int = sq, sk: int = sk) -> Inputs:
            return dict(q=_rand((1, hq, sq, d), device, dtype),
                        k=_rand((1, hkv, sk, d), device, dtype),
                        v=_rand((1, hkv, sk, d), device, dtype),
                        q_pos=torch.arange(sk - sq, sk, device=device),
                        k_pos=torch.arange(sk, device=device))

        def run(t: Inputs) -> object:
            return attention(t["q"], t["k"], t["v"], t["q_pos"], t["k_pos"], d**-0.5)

        def peer_run(t: Inputs, causal: bool = sq > 1) -> object:
            from torch.nn.attention import SDPBackend, sdpa_kernel

            backend = SDPBackend.FLASH_ATTENTION if device.type == "cuda" else SDPBackend.MATH
            with sdpa_kernel(backend):
                return F.scaled_dot_product_attention(t["q"], t["k"], t["v"], is_causal=causal,
                                                      scale=d**-0.5, enable_gqa=True)

        moved = (2 * hq * sq * d + 2 * hkv * sk * d) * elt
        visible = sq * sk - sq * (sq - 1) / 2 if sq > 1 else sk  # causal: the lower triangle
        kind = "prefill" if sq > 1 else "decode"
        cases.append(Case(f"attention {kind}", f"q={sq} kv={sk} heads={hq}/{hkv}x{d}", make,
                          run, moved, 4 * hq * d * visible, "SDPA (flash)", peer_run))
    return cases


# ---------------------------------------------------------------------------------------------


def hardware(device: torch.device) -> str:
    import triton

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (interpreter)"
    return f"{name}, torch {torch.__version__}, Triton {triton.__version__}"


def run(device: torch.device, smoke: bool = False, ops: set[str] | None = None,
        reps: int = 50, on_row: Callable[[Row], None] | None = None,
        peaks: Peaks | None = None) -> Report:
    """Time every case (or those whose op name starts with one of `ops`)."""
    dtype = torch.bfloat16
    peers = load_mamba_peers()
    report = Report(hardware(device), peaks or measure_peaks(device, smoke), peers.note)
    cases = (ssd_cases(peers, device, dtype, smoke) + mamba1_cases(peers, device, dtype, smoke)
             + conv_cases(peers, device, dtype, smoke) + norm_cases(peers, device, dtype, smoke)
             + attention_cases(device, dtype, smoke))
    warmup, reps = (1, 2) if smoke else (5, reps)
    for case in cases:
        if ops and not any(case.op.startswith(o) for o in ops):
            continue
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        first = case.make()
        inputs = [first] + [case.make() for _ in range(copies_for(_nbytes(first), device) - 1)]
        _sync(device)
        start = time.perf_counter()
        case.run(first)
        _sync(device)
        first_ms = (time.perf_counter() - start) * 1000
        ms = time_ms(case.run, inputs, device, warmup, reps)
        peer, peer_ms = case.peer, None
        if case.peer_run is None:
            peer = f"{case.peer}: not available"
        else:
            try:
                peer_ms = time_ms(case.peer_run, inputs, device, warmup, reps)
            except Exception as exc:  # a peer that cannot run this case is reported, not fatal
                peer = f"{case.peer}: failed ({type(exc).__name__}: {str(exc)[:80]})"
        peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else 0.0
        row = Row(case.op, case.shape, ms, case.bytes_moved, case.flops, peer, peer_ms,
                  first_ms, peak)
        report.rows.append(row)
        if on_row is not None:
            on_row(row)
        del inputs, first
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return report


def format_row(row: Row, peaks: Peaks) -> str:
    bw = row.gb_s()
    tf = row.tflop_s()
    peer = "n/a" if row.peer_ms is None else f"{row.peer_ms:.3f}"
    speed = "n/a" if row.speedup() is None else f"{row.speedup():.2f}x"
    return (f"| {row.op} | {row.shape} | {row.ms:.3f} | {bw:,.0f} ({bw / peaks.copy_gb_s:.0%}) | "
            f"{tf:.1f} ({tf / peaks.matmul_tflop_s:.0%}) | {row.peer} | {peer} | {speed} | "
            f"{row.first_ms:,.0f} | {row.peak_mib:,.0f} |")


TABLE_HEADER = ("| op | shape | autan ms | GB/s (of copy) | TFLOP/s (of matmul) | peer | peer ms "
                "| autan speed-up | first call ms (compile) | peak MiB |\n"
                "|---|---|---:|---:|---:|---|---:|---:|---:|---:|")
