"""Triton causal depthwise conv1d against `causal_conv1d_ref`, outputs and the carried state.

Tolerances: both sides cast the window to the weight's dtype, accumulate in fp32 (the kernel)
or in the conv's own way (the reference), round the pre-activation to the weight's dtype, apply
SiLU and round again. fp32 differs only by summation order (1e-6 relative). fp16 allows two
ulps (2^-10 relative each): a sum near a rounding tie may round either way before SiLU, then
the output rounds again. bf16 allows two ulps of 2^-7 relative plus an absolute 3e-2 for the
terms' magnitude: the reference's decode path multiplies in bf16 (each product rounded before
the sum, which may cancel), and Triton's interpreter truncates fp32 to bf16 where torch and the
GPU round to nearest. The state holds copied inputs, so it must match exactly.
"""

from __future__ import annotations

import pytest
import torch

from autan.kernels.causal_conv1d import causal_conv1d, causal_conv1d_ref
from tests.kernels.helpers import KERNEL_DEVICES, assert_close, needs_cuda

TOL = {torch.float32: (1e-5, 1e-5), torch.float16: (2e-3, 2e-3), torch.bfloat16: (1.6e-2, 3e-2)}
DTYPES = [torch.float32, torch.float16, torch.bfloat16]


def conv_inputs(batch: int, dim: int, seqlen: int, width: int, dtype: torch.dtype,
                device: str, seed: int, channels_last: bool = True) -> dict[str, torch.Tensor]:
    """Random conv inputs; `channels_last` gives x as the model does, `(b, t, d).transpose`."""
    g = torch.Generator().manual_seed(seed)
    if channels_last:
        x = torch.randn(batch, seqlen, dim, generator=g).transpose(1, 2)
    else:
        x = torch.randn(batch, dim, seqlen, generator=g)
    return {
        "x": x.to(device, dtype),
        "weight": (torch.randn(dim, width, generator=g) / width**0.5).to(device, dtype),
        "bias": torch.randn(dim, generator=g).to(device, dtype),
        "state": torch.randn(batch, dim, width - 1, generator=g).to(device, dtype),
    }


def check(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
          state: torch.Tensor | None, activation: str | None, tol: tuple[float, float],
          name: str) -> None:
    """Run both ops on copies of the state; assert the outputs and the updated states."""
    got_state = None if state is None else state.clone()
    want_state = None if state is None else state.clone()
    got = causal_conv1d(x, weight, bias, got_state, activation)
    want = causal_conv1d_ref(x, weight, bias, want_state, activation)
    assert got.dtype == want.dtype == x.dtype
    assert_close(got, want, *tol, name=name)
    if state is not None:
        assert got_state is not None and want_state is not None
        assert torch.equal(got_state, want_state), f"{name}: conv_state differs"


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seqlen", [1, 2, 3, 17, 50])
@pytest.mark.parametrize("width,with_bias,with_state,activation", [(4, True, True, "silu"),
                                                                  (4, False, False, None),
                                                                  (3, False, True, "silu"),
                                                                  (2, True, True, None)])
def test_causal_conv1d(device: str, dtype: torch.dtype, seqlen: int, width: int,
                       with_bias: bool, with_state: bool, activation: str | None) -> None:
    t = conv_inputs(2, 20, seqlen, width, dtype, device, seed=seqlen * 10 + width)
    check(t["x"], t["weight"], t["bias"] if with_bias else None,
          t["state"] if with_state else None, activation, TOL[dtype], f"conv {seqlen}")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_causal_conv1d_contiguous_input(device: str, dtype: torch.dtype) -> None:
    """x laid out (batch, dim, seqlen) with seqlen contiguous, and a strided state view."""
    t = conv_inputs(3, 70, 40, 4, dtype, device, seed=5, channels_last=False)
    state = t["state"].transpose(1, 2).contiguous().transpose(1, 2)
    check(t["x"], t["weight"], t["bias"], state, "silu", TOL[dtype], "conv contiguous x")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_causal_conv1d_pieces_equal_one_call(device: str, dtype: torch.dtype) -> None:
    """Pieces shorter than width - 1 draw the new state partly from the old one."""
    t = conv_inputs(2, 36, 30, 4, dtype, device, seed=7)
    state = torch.zeros_like(t["state"])
    whole = causal_conv1d_ref(t["x"], t["weight"], t["bias"], None)
    pieces = [causal_conv1d(t["x"][..., a:e], t["weight"], t["bias"], state)
              for a, e in [(0, 2), (2, 3), (3, 4), (4, 21), (21, 22), (22, 30)]]
    assert_close(torch.cat(pieces, -1), whole, *TOL[dtype], name="conv pieces")
    assert torch.equal(state, t["x"][..., -3:]), "conv_state after the pieces"


@pytest.mark.parametrize("device", KERNEL_DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_causal_conv1d_decode_steps(device: str, dtype: torch.dtype) -> None:
    """Single-token steps in a row, each against the reference on its own copy of the state."""
    t = conv_inputs(2, 40, 6, 4, dtype, device, seed=11)
    got_state, want_state = t["state"].clone(), t["state"].clone()
    for i in range(6):
        x = t["x"][..., i : i + 1]
        got = causal_conv1d(x, t["weight"], t["bias"], got_state)
        want = causal_conv1d_ref(x, t["weight"], t["bias"], want_state)
        assert_close(got, want, *TOL[dtype], name=f"conv decode step {i}")
        assert torch.equal(got_state, want_state), f"conv_state after step {i}"


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_causal_conv1d_mixed_dtypes(device: str) -> None:
    """fp32 x with a bf16 weight rounds the window to bf16; an fp32 state with bf16 x rounds
    the history to bf16 and stores the bf16 inputs back as fp32."""
    t = conv_inputs(2, 24, 9, 4, torch.float32, device, seed=13)
    check(t["x"], t["weight"].bfloat16(), t["bias"].bfloat16(), t["state"], "silu",
          TOL[torch.bfloat16], "conv fp32 x, bf16 weight")
    check(t["x"].bfloat16(), t["weight"].bfloat16(), None, t["state"], "silu",
          TOL[torch.bfloat16], "conv bf16 x, fp32 state")


@pytest.mark.parametrize("device", KERNEL_DEVICES)
def test_causal_conv1d_rejects_unknown_activation(device: str) -> None:
    t = conv_inputs(1, 8, 3, 4, torch.float32, device, seed=0)
    for op in (causal_conv1d, causal_conv1d_ref):
        with pytest.raises(ValueError, match="unsupported activation"):
            op(t["x"], t["weight"], t["bias"], None, "gelu")


@needs_cuda
@pytest.mark.parametrize("seqlen", [4096, 1])
def test_causal_conv1d_real_shape(seqlen: int) -> None:
    """Codestral Mamba's conv: d_inner 8192 + 2 * 8 groups * dstate 128 = 10240 channels."""
    t = conv_inputs(2, 10240, seqlen, 4, torch.bfloat16, "cuda", seed=seqlen)
    check(t["x"], t["weight"], t["bias"], t["state"], "silu", TOL[torch.bfloat16],
          f"conv real shape {seqlen}")
