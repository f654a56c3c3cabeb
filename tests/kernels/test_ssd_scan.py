"""Triton SSD chunked scan and decode step against their references.

Tolerances are relative to the output scale (`atol * max|want|`, plus `rtol * |want|`): an
output is a sum of many terms of mixed sign, so its error follows the terms' size, not its own.
The tolerance is picked by the dtype the kernels' matrix products run in (`dot_dtype`):
- fp32 (every dtype under the interpreter, fp32 inputs on GPU): both sides sum the same fp32
  terms in a different order, and the kernels take exp(cum[t] - cum[s]) from a difference of
  within-chunk cumsums where the reference sums each segment directly; that costs an ulp of
  |cum| (about 1e-5 relative at chunk 256). bf16/fp16 inputs are the same values on both sides
  (the reference upcasts them), so under the interpreter they get the fp32 tolerance.
- fp16 / bf16 on GPU: the tensor-core operands are rounded to the input dtype, and among them
  are fp32 intermediates, `C.B * decay * dt` and `x * dt * decay` and the entering state, each
  rounded to 2^-11 (fp16) or 2^-9 (bf16) relative. Summed over up to 256 tokens with some
  cancellation that stays within 5e-3 (fp16) and 2e-2 (bf16) of the output scale. An indexing
  or masking bug costs O(1) of the scale, so these still catch it.
The decode step has no matrix product: it is fp32 on both sides for every dtype.
"""

from __future__ import annotations

import pytest
import torch

from autan.kernels._triton import interpreting
from autan.kernels.ssd_scan import NO_LIMIT, ssd_chunk_scan, ssd_chunk_scan_ref
from autan.kernels.ssd_state_update import ssd_state_update, ssd_state_update_ref
from tests.kernels.helpers import KERNEL_DEVICES, assert_close

TOL = {torch.float32: (1e-4, 1e-4), torch.float16: (5e-3, 5e-3), torch.bfloat16: (2e-2, 2e-2)}
DTYPES = [torch.float32, torch.float16, torch.bfloat16]


def check(got: torch.Tensor, want: torch.Tensor, dot_dtype: torch.dtype, name: str) -> None:
    """assert_close with the tolerance of `dot_dtype`, atol scaled by the output's size."""
    if interpreting():  # the interpreter's products run in fp32 (see the module docstring)
        dot_dtype = torch.float32
    rtol, atol = TOL[dot_dtype]
    assert got.dtype == want.dtype == torch.float32, name
    assert_close(got, want, rtol, atol * max(1.0, want.abs().max().item()), name)


def ssd_inputs(device: str, dtype: torch.dtype, batch: int, seqlen: int, nheads: int,
               headdim: int, ngroups: int, dstate: int) -> dict[str, torch.Tensor]:
    """x, B, C are views of one projection and dt a slice of another, as the model passes them."""
    xbc = torch.randn(batch, seqlen, nheads * headdim + 2 * ngroups * dstate, device=device)
    x, B, C = xbc.to(dtype).split([nheads * headdim, ngroups * dstate, ngroups * dstate], -1)
    dt = (torch.randn(batch, seqlen, nheads + 3, device=device) * 0.5 - 1).to(dtype)[..., 3:]
    return dict(x=x.view(batch, seqlen, nheads, headdim), dt=dt,
                A=-(torch.rand(nheads, device=device) + 0.05),
                B=B.view(batch, seqlen, ngroups, dstate), C=C.view(batch, seqlen, ngroups, dstate),
                D=torch.randn(nheads, device=device), dt_bias=torch.randn(nheads, device=device))


# (batch, seqlen, chunk, nheads, ngroups, flags): flags "all" turns on D, dt_bias, an initial
# state and a dt_limit that clamps; "none" leaves every option at its default.
SCAN_CASES = [
    (2, 1, 16, 4, 1, "all"),
    (1, 5, 16, 4, 2, "none"),
    (2, 37, 16, 4, 2, "all"),  # odd, ends in a partial chunk
    (1, 64, 16, 8, 4, "all"),  # an exact multiple of the chunk
    (1, 100, 32, 4, 1, "none"),
]


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,seqlen,chunk,nheads,ngroups,flags", SCAN_CASES)
def test_ssd_chunk_scan(device: str, dtype: torch.dtype, batch: int, seqlen: int, chunk: int,
                        nheads: int, ngroups: int, flags: str) -> None:
    torch.manual_seed(seqlen * 10 + nheads + ngroups)
    t = ssd_inputs(device, dtype, batch, seqlen, nheads, 16, ngroups, 16)
    opts: dict = {}
    if flags == "all":
        opts = dict(D=t["D"], dt_bias=t["dt_bias"], dt_limit=(0.05, 0.6),
                    initial_state=torch.randn(batch, nheads, 16, 16, device=device))
    args = (t["x"], t["dt"], t["A"], t["B"], t["C"], chunk)
    y, final, states = ssd_chunk_scan(*args, **opts, return_chunk_states=True)
    y_ref, final_ref, states_ref = ssd_chunk_scan_ref(*args, **opts, return_chunk_states=True)
    check(y, y_ref, dtype, "y")
    check(final, final_ref, dtype, "final_state")
    check(states, states_ref, dtype, "chunk_states")
    assert torch.equal(states[:, -1], final)


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("softplus,limit", [(False, NO_LIMIT), (False, (0.1, 0.3)),
                                            (True, (0.0, 0.2))])
def test_ssd_chunk_scan_dt_options(device: str, softplus: bool,
                                   limit: tuple[float, float]) -> None:
    """Without softplus a negative dt clamps to the limit's floor, as in the reference."""
    torch.manual_seed(7)
    t = ssd_inputs(device, torch.float32, 1, 21, 4, 16, 2, 16)
    args = (t["x"], t["dt"] + 0.8, t["A"], t["B"], t["C"], 16)
    opts = dict(D=t["D"], dt_bias=t["dt_bias"] * 0.1, dt_softplus=softplus, dt_limit=limit)
    y, final = ssd_chunk_scan(*args, **opts)
    y_ref, final_ref = ssd_chunk_scan_ref(*args, **opts)
    check(y, y_ref, torch.float32, "y")
    check(final, final_ref, torch.float32, "final_state")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_ssd_chunk_scan_state_handoff(device: str, dtype: torch.dtype) -> None:
    """Two calls, the first's final state passed to the second, equal one call; the split
    (20 of 45 tokens) is not on a chunk boundary."""
    torch.manual_seed(11)
    t = ssd_inputs(device, dtype, 2, 45, 4, 16, 2, 16)
    opts = dict(D=t["D"], dt_bias=t["dt_bias"])
    keys = ("x", "dt", "B", "C")

    def run(lo: int, hi: int, init: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        x, dt, B, C = (t[k][:, lo:hi] for k in keys)
        return ssd_chunk_scan(x, dt, t["A"], B, C, 16, initial_state=init, **opts)

    out = run(0, 45, None)
    assert len(out) == 2  # no chunk states unless asked
    first, mid = run(0, 20, None)
    second, end = run(20, 45, mid)
    check(torch.cat([first, second], 1), out[0], dtype, "y split")
    check(end, out[1], dtype, "final_state split")


@pytest.mark.parametrize("seqlen,chunk", [(37, 16), (64, 16), (5, 16)])
def test_ref_chunk_states_equal_piecewise_ref(seqlen: int, chunk: int) -> None:
    """The reference's chunk states are its final states over the prefix up to each chunk."""
    torch.manual_seed(seqlen)
    t = ssd_inputs("cpu", torch.float32, 2, seqlen, 4, 8, 2, 8)
    state = torch.randn(2, 4, 8, 8)
    _, final, states = ssd_chunk_scan_ref(t["x"], t["dt"], t["A"], t["B"], t["C"], chunk,
                                          D=t["D"], initial_state=state,
                                          return_chunk_states=True)
    assert states.shape == (2, -(-seqlen // chunk), 4, 8, 8)
    for c, lo in enumerate(range(0, seqlen, chunk)):
        x, dt, B, C = (t[k][:, lo:lo + chunk] for k in ("x", "dt", "B", "C"))
        _, state = ssd_chunk_scan_ref(x, dt, t["A"], B, C, chunk, D=t["D"], initial_state=state)
        check(states[:, c], state, torch.float32, f"chunk {c}")
    assert torch.equal(states[:, -1], final)


def decode_inputs(device: str, dtype: torch.dtype, batch: int, nheads: int, headdim: int,
                  ngroups: int, dstate: int) -> dict[str, torch.Tensor]:
    """One token's inputs: ssd_inputs at seqlen 1 without the sequence axis."""
    t = ssd_inputs(device, dtype, batch, 1, nheads, headdim, ngroups, dstate)
    return {k: v[:, 0] if k in ("x", "dt", "B", "C") else v for k, v in t.items()}


def run_decode(device: str, dtype: torch.dtype, batch: int, nheads: int, headdim: int,
               ngroups: int, dstate: int, steps: int, flags: str) -> None:
    # A transposed state: the kernel must follow its strides and write through them.
    state = torch.randn(batch, nheads, dstate, headdim, device=device).transpose(-1, -2)
    state_ref = state.clone()
    for step in range(steps):
        t = decode_inputs(device, dtype, batch, nheads, headdim, ngroups, dstate)
        args = (t["x"], t["dt"], t["A"], t["B"], t["C"])
        opts = {} if flags == "none" else dict(D=t["D"], dt_bias=t["dt_bias"],
                                               dt_limit=(0.05, 0.6))
        y = ssd_state_update(state, *args, **opts)
        y_ref = ssd_state_update_ref(state_ref, *args, **opts)
        check(y, y_ref, torch.float32, f"y step {step}")
        check(state, state_ref, torch.float32, f"state step {step}")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nheads,ngroups,flags", [(4, 1, "all"), (8, 4, "none"), (8, 2, "all")])
def test_ssd_state_update(device: str, dtype: torch.dtype, nheads: int, ngroups: int,
                          flags: str) -> None:
    torch.manual_seed(nheads + ngroups)
    run_decode(device, dtype, 2, nheads, 16, ngroups, 16, steps=3, flags=flags)


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("seqlen", [1000, 4096])
def test_ssd_chunk_scan_real_shape(device: str, seqlen: int) -> None:
    """Codestral Mamba 7B: 128 heads of 64, dstate 128 in 8 groups, chunk 256, bf16, with
    dt and A drawn as the model's ranges (dt 1e-3..0.1 after softplus, A -1..-16)."""
    if device == "cpu":
        pytest.skip("real shapes run compiled on CUDA; the interpreter gets the small ones")
    torch.manual_seed(seqlen)
    t = ssd_inputs(device, torch.bfloat16, 1, seqlen, 128, 64, 8, 128)
    dt0 = torch.exp(torch.empty(128, device=device).uniform_(-6.9, -2.3))
    dt_bias = dt0 + torch.log(-torch.expm1(-dt0))  # softplus(dt_bias) = dt0
    A = -torch.empty(128, device=device).uniform_(1, 16)
    init = torch.randn(1, 128, 64, 128, device=device)
    args = (t["x"], t["dt"], A, t["B"], t["C"], 256)
    opts = dict(D=t["D"], dt_bias=dt_bias, initial_state=init, return_chunk_states=True)
    got = ssd_chunk_scan(*args, **opts)
    want = ssd_chunk_scan_ref(*args, **opts)
    for name, g, w in zip(("y", "final_state", "chunk_states"), got, want, strict=True):
        check(g, w, torch.bfloat16, name)


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("batch", [1, 4])
def test_ssd_state_update_real_shape(device: str, batch: int) -> None:
    if device == "cpu":
        pytest.skip("real shapes run compiled on CUDA; the interpreter gets the small ones")
    torch.manual_seed(batch)
    run_decode(device, torch.bfloat16, batch, 128, 64, 8, 128, steps=2, flags="all")
