"""Triton selective scan and its decode step against the references: outputs and states.

Tolerances: both sides read the same fp16/bf16/fp32 values, widen them exactly to fp32, compute
in fp32 and return fp32, so the input dtype does not change the error and one tolerance serves
all three. What differs is the order of the fp32 arithmetic: the kernel composes the steps of a
chunk as a tree (a parallel scan) where the reference multiplies in order, takes the decay as
exp2 of a pre-scaled argument, and sums the dstate products in another order. Each is a few fp32
roundings (about 1e-7 relative) on values of order 1 to 10, and the decaying state forgets old
errors instead of piling them up; 1e-4 leaves margin over the 1e-5 seen at 50 steps.
"""

from __future__ import annotations

import pytest
import torch

from autan.kernels.selective_scan import (
    selective_scan,
    selective_scan_ref,
    selective_state_update,
    selective_state_update_ref,
)
from tests.kernels.helpers import KERNEL_DEVICES, assert_close, needs_cuda

TOL = {torch.float32: (1e-4, 1e-4), torch.float16: (1e-4, 1e-4), torch.bfloat16: (1e-4, 1e-4)}
DTYPES = [torch.float32, torch.float16, torch.bfloat16]
# Optional arguments all on, or all off with dt used as given (no softplus).
FLAGS = {"full": dict(D=True, z=True, dt_bias=True, init=True, dt_softplus=True),
         "bare": dict(D=False, z=False, dt_bias=False, init=False, dt_softplus=False)}


def scan_inputs(batch: int, dim: int, dstate: int, seqlen: int, dtype: torch.dtype,
                device: str, seed: int) -> dict[str, torch.Tensor]:
    """Random scan inputs laid out as the model passes them: x, dt, z and B, C are transposed
    views of (batch, seqlen, channels) buffers; A, D, dt_bias and the state are fp32."""
    g = torch.Generator().manual_seed(seed)

    def seq(channels: int, scale: float = 1.0) -> torch.Tensor:
        t = torch.randn(batch, seqlen, channels, generator=g) * scale
        return t.to(device, dtype).transpose(1, 2)

    return {
        "x": seq(dim), "z": seq(dim), "B": seq(dstate), "C": seq(dstate),
        # Softplus-free runs need dt > 0, as a real step size is.
        "dt": seq(dim, 0.5).abs(),
        "A": -torch.rand(dim, dstate, generator=g).mul(4).add(0.1).to(device),
        "D": torch.randn(dim, generator=g).to(device),
        "dt_bias": torch.randn(dim, generator=g).to(device),
        "init": torch.randn(batch, dim, dstate, generator=g).to(device),
    }


def scan_kwargs(t: dict[str, torch.Tensor], flags: dict[str, bool]) -> dict:
    return {"D": t["D"] if flags["D"] else None, "z": t["z"] if flags["z"] else None,
            "dt_bias": t["dt_bias"] if flags["dt_bias"] else None,
            "dt_softplus": flags["dt_softplus"]}


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seqlen", [1, 3, 17, 50])
@pytest.mark.parametrize("flags", list(FLAGS))
def test_selective_scan(device: str, dtype: torch.dtype, seqlen: int, flags: str) -> None:
    f = FLAGS[flags]
    t = scan_inputs(2, 6, 5, seqlen, dtype, device, seed=seqlen)
    init = t["init"] if f["init"] else None
    got_y, got_state = selective_scan(t["x"], t["dt"], t["A"], t["B"], t["C"],
                                      **scan_kwargs(t, f), initial_state=init)
    want_y, want_state = selective_scan_ref(t["x"], t["dt"], t["A"], t["B"], t["C"],
                                            **scan_kwargs(t, f), initial_state=init)
    assert got_y.dtype == got_state.dtype == torch.float32
    assert_close(got_y, want_y, *TOL[dtype], name=f"scan y {seqlen}")
    assert_close(got_state, want_state, *TOL[dtype], name=f"scan state {seqlen}")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_selective_scan_contiguous_inputs(device: str, dtype: torch.dtype) -> None:
    """Seqlen-contiguous inputs and a strided initial state, and the z and D flags apart."""
    t = scan_inputs(1, 5, 4, 19, dtype, device, seed=2)
    x, dt, z = (t[k].contiguous() for k in ("x", "dt", "z"))
    B, C = t["B"].contiguous(), t["C"].contiguous()
    init = t["init"].transpose(1, 2).contiguous().transpose(1, 2)
    for kwargs in ({"z": z}, {"D": t["D"], "dt_bias": t["dt_bias"]}):
        got = selective_scan(x, dt, t["A"], B, C, initial_state=init, **kwargs)
        want = selective_scan_ref(x, dt, t["A"], B, C, initial_state=init, **kwargs)
        for g, w, name in zip(got, want, ("y", "state"), strict=True):
            assert_close(g, w, *TOL[dtype], name=f"scan contiguous {name} {sorted(kwargs)}")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_selective_scan_pieces_and_decode_equal_one_call(device: str, dtype: torch.dtype) -> None:
    """Prefill in pieces, then decode steps, each handed the previous state: one call's y."""
    t = scan_inputs(2, 6, 4, 24, dtype, device, seed=4)
    kw = scan_kwargs(t, FLAGS["full"])
    want_y, want_state = selective_scan_ref(t["x"], t["dt"], t["A"], t["B"], t["C"], **kw,
                                            initial_state=t["init"])
    state, ys = t["init"], []
    for a, e in [(0, 7), (7, 8), (8, 21)]:
        x, dt, B, C, z = (t[k][..., a:e] for k in ("x", "dt", "B", "C", "z"))
        y, state = selective_scan(x, dt, t["A"], B, C, **{**kw, "z": z}, initial_state=state)
        ys.append(y)
    state = state.clone()
    for i in range(21, 24):
        ys.append(selective_state_update(
            state, t["x"][..., i], t["dt"][..., i], t["A"], t["B"][..., i], t["C"][..., i],
            D=t["D"], z=t["z"][..., i], dt_bias=t["dt_bias"])[..., None])
    assert_close(torch.cat(ys, -1), want_y, *TOL[dtype], name="scan pieces y")
    assert_close(state, want_state, *TOL[dtype], name="scan pieces state")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("flags", list(FLAGS))
@pytest.mark.parametrize("dim,dstate", [(6, 5), (40, 16)])
def test_selective_state_update(device: str, dtype: torch.dtype, flags: str, dim: int,
                                dstate: int) -> None:
    """Decode steps in a row, each against the reference on its own copy of the state."""
    f = FLAGS[flags]
    t = scan_inputs(3, dim, dstate, 4, dtype, device, seed=dim + dstate)
    got_state, want_state = t["init"].clone(), t["init"].clone()
    for i in range(4):
        args = (t["x"][..., i], t["dt"][..., i], t["A"], t["B"][..., i], t["C"][..., i])
        kw = scan_kwargs(t, f)
        if kw["z"] is not None:
            kw["z"] = kw["z"][..., i]
        got = selective_state_update(got_state, *args, **kw)
        want = selective_state_update_ref(want_state, *args, **kw)
        assert got.dtype == torch.float32
        assert_close(got, want, *TOL[dtype], name=f"state update y {i}")
        assert_close(got_state, want_state, *TOL[dtype], name=f"state update state {i}")


@needs_cuda
@pytest.mark.parametrize("seqlen", [1000, 4096])
def test_selective_scan_real_shape(seqlen: int) -> None:
    """Falcon-Mamba / Jamba: d_inner 8192, dstate 16, bf16 activations, S4D-real A."""
    t = scan_inputs(1, 8192, 16, seqlen, torch.bfloat16, "cuda", seed=seqlen)
    A = -torch.arange(1, 17, device="cuda", dtype=torch.float32).repeat(8192, 1)
    kw = scan_kwargs(t, FLAGS["full"])
    got = selective_scan(t["x"], t["dt"], A, t["B"], t["C"], **kw, initial_state=t["init"])
    want = selective_scan_ref(t["x"], t["dt"], A, t["B"], t["C"], **kw, initial_state=t["init"])
    assert_close(got[0], want[0], *TOL[torch.bfloat16], name=f"scan real y {seqlen}")
    assert_close(got[1], want[1], *TOL[torch.bfloat16], name=f"scan real state {seqlen}")


@needs_cuda
def test_selective_state_update_real_shape() -> None:
    t = scan_inputs(4, 8192, 16, 2, torch.bfloat16, "cuda", seed=1)
    got_state, want_state = t["init"].clone(), t["init"].clone()
    args = (t["x"][..., 0], t["dt"][..., 0], t["A"], t["B"][..., 0], t["C"][..., 0])
    kw = {"D": t["D"], "z": t["z"][..., 0], "dt_bias": t["dt_bias"]}
    got = selective_state_update(got_state, *args, **kw)
    want = selective_state_update_ref(want_state, *args, **kw)
    assert_close(got, want, *TOL[torch.bfloat16], name="state update real y")
    assert_close(got_state, want_state, *TOL[torch.bfloat16], name="state update real state")
