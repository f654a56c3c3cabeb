"""Compile every Triton kernel ahead of time for an H100 (sm_90), on this CPU-only machine.

The CPU tests run the kernels under Triton's interpreter, which checks none of what the GPU
compiler checks: power-of-two block shapes, `tl.dot` minimum sizes, shapes that change across a
loop, shared memory, registers. Triton can compile for an NVIDIA target without a GPU, so this
test does, at the real model shapes, in a subprocess with `TRITON_INTERPRET=0` (the kernels must
be `JITFunction`s, which the interpreter's conftest setting would prevent).

The launch configurations are not written out here: each case calls the real launcher
(`_<op>_fwd`) on CPU tensors laid out as the model lays them out, with a stand-in Triton driver
that reports an sm_90 target and `JITFunction.run` patched to record the launch instead of
making it. Every recorded launch is then compiled through Triton's own `run(warmup=True)`, so the
signature, the integer/pointer specialisations, the constexprs and `num_warps`/`num_stages` are
exactly those a GPU run would compile.

The test fails on any compile error, on a launcher that raises, on a kernel (a `*_kernel`
JITFunction of a listed module) that no case launches, and on a kernel needing more shared
memory than an H100 block can have (the launch would fail). Registers and spills are printed,
one line per compiled kernel, and not asserted: they vary with the Triton version.

Run by hand for the table: `python tests/kernels/test_compile_for_gpu.py` (TRITON_INTERPRET unset).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

# The files whose Triton kernels are compiled: `autan.kernels.<name>`.
KERNEL_MODULES = [
    "ssd_scan",
    "ssd_state_update",
    "selective_scan",
    "causal_conv1d",
    "rmsnorm",
    "attention",
]

TARGET_ARCH = 90  # H100
H100_SMS = 132  # SXM; the attention decode split count depends on it
H100_MAX_SHARED = 232448  # bytes of shared memory one block may opt in to (227 KiB)
RESULT_TAG = "COMPILE_FOR_GPU_RESULT "


# ---------------------------------------------------------------------------------------------
# The test (pytest process: kernels are interpreted here, so the work runs in a subprocess).


def test_kernels_compile_for_sm90(tmp_path: Path) -> None:
    pytest.importorskip("triton", reason="Triton is not installed")
    env = dict(os.environ, TRITON_INTERPRET="0")  # the conftest set 1 for this process
    env["TRITON_CACHE_DIR"] = str(tmp_path / "triton-cache")  # a cold, hermetic compile
    start = time.monotonic()
    proc = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True,
                          timeout=900, cwd=Path(__file__).resolve().parents[2])
    elapsed = time.monotonic() - start
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)), None)
    if line is None:
        pytest.fail(f"the compile subprocess gave no result (exit {proc.returncode})\n"
                    f"stdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-8000:]}")
    result = json.loads(line[len(RESULT_TAG):])
    if result.get("skip"):
        pytest.skip(result["skip"])
    print(_format_table(result["compiled"]))
    print(f"{len(result['compiled'])} launches compiled in {elapsed:.0f} s")
    problems = list(result["errors"])
    problems += [f"{k['case']}: {k['kernel']} needs {k['shared']} bytes of shared memory, "
                 f"more than an H100 block's {H100_MAX_SHARED}"
                 for k in result["compiled"] if k["shared"] > H100_MAX_SHARED]
    assert not problems, "\n\n".join(problems)


def _format_table(rows: list[dict[str, Any]]) -> str:
    wk = max([len("kernel")] + [len(r["kernel"]) for r in rows])
    wc = max([len("case")] + [len(r["case"]) for r in rows])
    lines = [f"{'kernel':<{wk}}  {'case':<{wc}}  {'regs':>4} {'spill':>5} {'shared':>7} "
             f"{'warps':>5} {'stages':>6}  constexprs"]
    for r in rows:
        regs = "?" if r["regs"] is None else r["regs"]
        spill = "?" if r["spills"] is None else r["spills"]
        lines.append(f"{r['kernel']:<{wk}}  {r['case']:<{wc}}  {regs:>4} {spill:>5} "
                     f"{r['shared']:>7} {r['num_warps']:>5} {r['num_stages']:>6}  "
                     f"{r['constexprs']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The cases: the real launchers at the real model shapes, with the model's tensor layouts.
# Tensors are CPU `torch.empty`: their pointers are never dereferenced.
#
# Codestral Mamba (Mamba-2): d_model 4096, d_inner 8192, nheads 128 x headdim 64, dstate 128,
# ngroups 8, chunk 256, conv width 4 over 10240 channels; bf16 activations, fp32 SSM state.
# Mamba-1: d_inner 8192, dstate 16, dt_rank 256. Attention: 48 query / 8 KV heads x 128.

PREFILL = 777  # a prompt piece: several chunks and a partial one, not a multiple of 16
SHORT = 13  # a keystroke-sized piece: the launchers shrink their blocks to it
LONG_CACHE = 32768  # keys behind one decode step


def _mamba2_cases(torch: Any, kernels: Any) -> dict[str, Callable[[], None]]:
    ssd = kernels["ssd_scan"]
    ssd_step = kernels["ssd_state_update"]
    conv = kernels["causal_conv1d"]
    norm = kernels["rmsnorm"]
    nheads, headdim, dstate, ngroups, chunk = 128, 64, 128, 8, 256
    d_inner = nheads * headdim
    conv_dim = d_inner + 2 * ngroups * dstate
    proj_out = d_inner + conv_dim + nheads  # in_proj: [z, xBC, dt]
    bf16, f32 = torch.bfloat16, torch.float32

    def projections(seqlen: int, dtype: torch.dtype) -> tuple[Any, Any, Any]:
        # Views of one in_proj output, as `Mamba2Mixer.forward` splits it.
        proj = torch.empty(1, seqlen, proj_out, dtype=dtype)
        return proj.split([d_inner, conv_dim, nheads], dim=-1)

    def params(dtype: torch.dtype) -> dict[str, Any]:
        return {"A": torch.empty(nheads, dtype=f32), "D": torch.empty(nheads, dtype=dtype),
                "dt_bias": torch.empty(nheads, dtype=dtype)}

    def conv_fwd(seqlen: int, dtype: torch.dtype) -> None:
        _, xbc, _ = projections(seqlen, dtype)
        conv._causal_conv1d_fwd(xbc.transpose(1, 2), torch.empty(conv_dim, 4, dtype=dtype),
                                torch.empty(conv_dim, dtype=dtype),
                                torch.empty(1, conv_dim, 3, dtype=dtype), "silu")

    def scan_fwd(seqlen: int, dtype: torch.dtype, with_cache: bool) -> None:
        # x, B, C come out of the conv channel-contiguous: (batch, seqlen, conv_dim) rows.
        xbc = torch.empty(1, seqlen, conv_dim, dtype=dtype)
        _, _, dt = projections(seqlen, dtype)
        x, B, C = xbc.split([d_inner, ngroups * dstate, ngroups * dstate], dim=-1)
        p = params(dtype)
        init = torch.empty(1, nheads, headdim, dstate, dtype=f32) if with_cache else None
        ssd._ssd_chunk_scan_fwd(
            x.view(1, seqlen, nheads, headdim), dt, p["A"],
            B.view(1, seqlen, ngroups, dstate), C.view(1, seqlen, ngroups, dstate), chunk,
            p["D"], p["dt_bias"], init, True, (0.0, float("inf")))

    def step_fwd(dtype: torch.dtype) -> None:
        xbc = torch.empty(1, 1, conv_dim, dtype=dtype)
        _, _, dt = projections(1, dtype)
        x, B, C = xbc.split([d_inner, ngroups * dstate, ngroups * dstate], dim=-1)
        p = params(dtype)
        ssd_step._ssd_state_update_fwd(
            torch.empty(1, nheads, headdim, dstate, dtype=f32), x.view(1, nheads, headdim),
            dt[:, 0], p["A"], B.view(1, ngroups, dstate), C.view(1, ngroups, dstate),
            p["D"], p["dt_bias"], True, (0.0, float("inf")))

    def gated_norm(seqlen: int, group: int) -> None:
        # The fp32 scan output, gated by z (a bf16 view of in_proj), bf16 weight.
        z, _, _ = projections(seqlen, bf16)
        norm._gated_rmsnorm_fwd(torch.empty(1, seqlen, d_inner, dtype=f32), z,
                                torch.empty(d_inner, dtype=bf16), 1e-5, group, False)

    def plain_norm(seqlen: int, d_model: int) -> None:
        norm._gated_rmsnorm_fwd(torch.empty(1, seqlen, d_model, dtype=bf16), None,
                                torch.empty(d_model, dtype=bf16), 1e-5, d_model, False)

    return {
        "mamba2 conv prefill bf16": lambda: conv_fwd(PREFILL, bf16),
        "mamba2 conv short bf16": lambda: conv_fwd(SHORT, bf16),
        "mamba2 conv decode bf16": lambda: conv_fwd(1, bf16),
        "ssd prefill bf16 (cached state)": lambda: scan_fwd(PREFILL, bf16, True),
        "ssd prefill bf16 (no state)": lambda: scan_fwd(PREFILL, bf16, False),
        "ssd prefill short bf16": lambda: scan_fwd(SHORT, bf16, True),
        "ssd prefill fp32": lambda: scan_fwd(PREFILL, f32, True),
        "ssd decode bf16": lambda: step_fwd(bf16),
        "gated rmsnorm group 1024 prefill": lambda: gated_norm(PREFILL, 1024),
        "gated rmsnorm group 1024 decode": lambda: gated_norm(1, 1024),
        "gated rmsnorm group 8192 prefill": lambda: gated_norm(PREFILL, 8192),
        "gated rmsnorm group 8192 decode": lambda: gated_norm(1, 8192),
        "rmsnorm 4096 prefill bf16": lambda: plain_norm(PREFILL, 4096),
        "rmsnorm 6144 prefill bf16": lambda: plain_norm(PREFILL, 6144),
        "rmsnorm 6144 decode bf16": lambda: plain_norm(1, 6144),
    }


def _mamba1_cases(torch: Any, kernels: Any) -> dict[str, Callable[[], None]]:
    sel = kernels["selective_scan"]
    conv = kernels["causal_conv1d"]
    d_inner, dstate, dt_rank = 8192, 16, 256
    bf16, f32 = torch.bfloat16, torch.float32

    def channels_last(seqlen: int, width: int) -> Any:
        # (batch, dim, seqlen) views of (batch, seqlen, width) rows, as `Mamba1Mixer` makes.
        return torch.empty(1, seqlen, width, dtype=bf16).transpose(1, 2)

    def conv_fwd(seqlen: int) -> None:
        x, _ = channels_last(seqlen, 2 * d_inner).chunk(2, dim=1)
        conv._causal_conv1d_fwd(x, torch.empty(d_inner, 4, dtype=bf16),
                                torch.empty(d_inner, dtype=bf16),
                                torch.empty(1, d_inner, 3, dtype=bf16), "silu")

    def scan_fwd(seqlen: int) -> None:
        _, z = channels_last(seqlen, 2 * d_inner).chunk(2, dim=1)
        x, dt = channels_last(seqlen, d_inner), channels_last(seqlen, d_inner)
        _, B, C = torch.empty(1, seqlen, dt_rank + 2 * dstate, dtype=bf16).split(
            [dt_rank, dstate, dstate], -1)
        sel._selective_scan_fwd(x, dt, torch.empty(d_inner, dstate, dtype=f32),
                                B.transpose(1, 2), C.transpose(1, 2),
                                torch.empty(d_inner, dtype=bf16), z,
                                torch.empty(d_inner, dtype=bf16), True,
                                torch.empty(1, d_inner, dstate, dtype=f32))

    def step_fwd() -> None:
        _, z = channels_last(1, 2 * d_inner).chunk(2, dim=1)
        x, dt = channels_last(1, d_inner), channels_last(1, d_inner)
        _, B, C = torch.empty(1, 1, dt_rank + 2 * dstate, dtype=bf16).split(
            [dt_rank, dstate, dstate], -1)
        sel._selective_state_update_fwd(
            torch.empty(1, d_inner, dstate, dtype=f32), x[..., 0], dt[..., 0],
            torch.empty(d_inner, dstate, dtype=f32), B[:, 0], C[:, 0],
            torch.empty(d_inner, dtype=bf16), z[..., 0], torch.empty(d_inner, dtype=bf16), True)

    return {
        "mamba1 conv prefill bf16": lambda: conv_fwd(PREFILL),
        "mamba1 conv decode bf16": lambda: conv_fwd(1),
        "mamba1 scan prefill bf16": lambda: scan_fwd(PREFILL),
        "mamba1 scan short bf16": lambda: scan_fwd(5),
        "mamba1 decode bf16": step_fwd,
    }


def _attention_cases(torch: Any, kernels: Any) -> dict[str, Callable[[], None]]:
    attn = kernels["attention"]
    hq, hkv, headdim = 48, 8, 128

    def run(seqlen_q: int, seqlen_k: int, dtype: Any, window: int | None = None) -> None:
        # q: a transposed view of the projection; keys: a slice of the (batch, nkv, capacity,
        # headdim) KV cache, as `Attention.forward` passes them.
        q = torch.empty(1, seqlen_q, hq, headdim, dtype=dtype).transpose(1, 2)
        capacity = max(seqlen_k, 16) * 2
        k = torch.empty(1, hkv, capacity, headdim, dtype=dtype)[:, :, :seqlen_k]
        v = torch.empty(1, hkv, capacity, headdim, dtype=dtype)[:, :, :seqlen_k]
        k_pos = torch.arange(seqlen_k)
        q_pos = k_pos[seqlen_k - seqlen_q:].clone()
        attn._attention_fwd(q, k, v, q_pos, k_pos, headdim ** -0.5, window)

    bf16, f32 = torch.bfloat16, torch.float32
    return {
        "attention prefill bf16": lambda: run(PREFILL, PREFILL, bf16),
        "attention prefill bf16 (window 4096)": lambda: run(PREFILL, PREFILL, bf16, 4096),
        "attention prefill fp32": lambda: run(PREFILL, PREFILL, f32),
        "attention decode bf16 (32K keys)": lambda: run(1, LONG_CACHE, bf16),
        "attention decode bf16 (777 keys)": lambda: run(1, PREFILL, bf16),
        "attention short chunk bf16 (10 queries)": lambda: run(10, LONG_CACHE, bf16),
        "attention keystroke bf16 (16 queries)": lambda: run(16, LONG_CACHE, bf16),
        "attention short chunk fp32 (10 queries)": lambda: run(10, LONG_CACHE, f32),
        "attention decode fp32 (32K keys)": lambda: run(1, LONG_CACHE, f32),
    }


CASE_GROUPS = [_mamba2_cases, _mamba1_cases, _attention_cases]


# ---------------------------------------------------------------------------------------------
# The subprocess: record the launches, compile them for sm_90, report as one JSON line.


def _probe_kernel(out_ptr):  # made a JITFunction in the subprocess: can Triton target CUDA?
    tl.store(out_ptr, 1.0)  # noqa: F821 (`tl` is bound in `_main`, before the JIT reads it)


class _Sm90Driver:
    """Stands in for Triton's CUDA driver: an sm_90 target, device 0, no stream."""

    def __init__(self, target: Any) -> None:
        self.target = target

    def get_current_target(self) -> Any:
        return self.target

    def get_current_device(self) -> int:
        return 0

    def get_current_stream(self, device: int | None = None) -> int:
        return 0

    def get_active_torch_device(self) -> Any:
        import torch

        return torch.device("cpu")


def _resource_usage(cubin: bytes, cuobjdump: str | None) -> tuple[int | None, int | None]:
    """(registers per thread, local memory bytes per thread) from the cubin, as the CUDA
    driver reports them to Triton as n_regs and n_spills."""
    if cuobjdump is None:
        return None, None
    with tempfile.NamedTemporaryFile(suffix=".cubin") as f:
        f.write(cubin)
        f.flush()
        out = subprocess.run([cuobjdump, "-res-usage", f.name], capture_output=True,
                             text=True).stdout
    m = re.search(r"REG:(\d+) STACK:(\d+) SHARED:\d+ LOCAL:(\d+)", out)
    if m is None:
        return None, None
    return int(m[1]), int(m[2]) + int(m[3])


def _main() -> dict[str, Any]:
    if os.environ.get("TRITON_INTERPRET", "0") not in ("", "0"):
        return {"skip": "TRITON_INTERPRET is set: the kernels would not be JITFunctions"}
    try:
        import torch
        import triton
        import triton.language
        from triton.backends.compiler import GPUTarget
        from triton.runtime.driver import driver
        from triton.runtime.jit import JITFunction
    except ImportError as e:
        return {"skip": f"Triton is not importable: {e}"}

    globals()["tl"] = triton.language
    driver.set_active(_Sm90Driver(GPUTarget("cuda", TARGET_ARCH, 32)))
    real_run = JITFunction.run

    # Can this Triton build compile for CUDA here (nvidia backend, bundled ptxas)?
    try:
        probe = triton.jit(_probe_kernel)
        real_run(probe, torch.empty(1), grid=(1,), warmup=True)
    except Exception as e:
        return {"skip": f"this Triton build cannot compile for sm_{TARGET_ARCH} here: "
                        f"{type(e).__name__}: {str(e)[:500]}"}
    try:
        from triton import knobs

        cuobjdump = knobs.nvidia.cuobjdump.path
    except Exception:
        cuobjdump = None

    import importlib

    modules = {name: importlib.import_module(f"autan.kernels.{name}") for name in KERNEL_MODULES}
    kernels = {f"{name}.{attr}": obj for name, mod in modules.items()
               for attr, obj in vars(mod).items()
               if isinstance(obj, JITFunction) and attr.endswith("_kernel")}

    # The attention launcher splits decode work by the GPU's SM count: give it an H100's.
    attn = modules["attention"]
    if hasattr(attn, "_decode_splits") and hasattr(attn, "_sm_count"):
        real_splits = attn._decode_splits
        attn._sm_count = lambda device: H100_SMS
        attn._decode_splits = lambda programs, seqlen_k, block_n, device: real_splits(
            programs, seqlen_k, block_n, torch.device("cuda"))

    # Record the launches instead of making them.
    launches: list[tuple[str, Any, tuple, dict]] = []
    case = ""

    def record(self: Any, *args: Any, grid: Any, warmup: bool, **kwargs: Any) -> None:
        launches.append((case, self, args, {"grid": grid, **kwargs}))

    errors: list[str] = []
    JITFunction.run = record
    try:
        for group in CASE_GROUPS:
            for case, fn in group(torch, modules).items():
                try:
                    fn()
                except Exception:
                    errors.append(f"{case}: the launcher raised\n{traceback.format_exc()}")
    finally:
        JITFunction.run = real_run

    names = {id(k): n for n, k in kernels.items()}
    unlaunched = set(kernels) - {names.get(id(fn)) for _, fn, _, _ in launches}
    errors += [f"{n}: no case launches this kernel (add one to this test)"
               for n in sorted(unlaunched)]

    # Compile, one worker per kernel (ptxas runs outside the GIL): a kernel's launches in
    # order, so that identical specialisations hit Triton's in-memory kernel cache.
    def compile_all(fn: Any) -> list[tuple[int, Any]]:
        done = []
        for i, (_, f, args, kwargs) in enumerate(launches):
            if f is fn:
                try:
                    done.append((i, real_run(fn, *args, warmup=True, **kwargs)))
                except Exception as e:
                    done.append((i, e))
        return done

    outcomes: dict[int, Any] = {}
    kernel_fns = list({id(fn): fn for _, fn, _, _ in launches}.values())
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for done in pool.map(compile_all, kernel_fns):
            outcomes.update(done)

    compiled = []
    for i, (case, fn, _, kwargs) in enumerate(launches):
        name = names.get(id(fn), fn.__name__)
        k = outcomes[i]
        if isinstance(k, Exception):
            msg = "".join(traceback.format_exception_only(type(k), k))
            errors.append(f"{case}: {name} failed to compile for sm_{TARGET_ARCH}\n{msg}")
            continue
        regs, spills = _resource_usage(k.asm["cubin"], cuobjdump)
        constexprs = {p.name: kwargs[p.name] for p in fn.params
                      if p.is_constexpr and p.name in kwargs}
        compiled.append({
            "case": case, "kernel": name, "regs": regs, "spills": spills,
            "shared": k.metadata.shared, "num_warps": k.metadata.num_warps,
            "num_stages": k.metadata.num_stages,
            "constexprs": " ".join(f"{n}={v}" for n, v in constexprs.items()),
        })
    return {"compiled": compiled, "errors": errors}


if __name__ == "__main__":
    try:
        result = _main()
    except Exception:
        result = {"compiled": [],
                  "errors": [f"the compile script raised\n{traceback.format_exc()}"]}
    if "compiled" in result:
        print(_format_table(result["compiled"]))
        print("\n\n".join(result["errors"]) or "no errors")
    print(RESULT_TAG + json.dumps(result, default=str))
