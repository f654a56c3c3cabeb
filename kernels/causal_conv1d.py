"""Depthwise causal conv1d with an optional SiLU, carrying the last `width - 1` inputs as state.

The same function serves prefill (many tokens) and decode (one token): the state holds the
inputs that precede `x`, so a prompt split at any point gives the same output as one call.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from autan.kernels._triton import require_triton, tl, triton


@triton.jit
def _causal_conv1d_kernel(
    # Pointers
    x_ptr, weight_ptr, bias_ptr, state_ptr, out_ptr,
    # Dimensions
    dim, seqlen,
    # Strides
    stride_x_b, stride_x_d, stride_x_t,
    stride_w_d, stride_w_k,
    stride_state_b, stride_state_d, stride_state_k,
    stride_out_b, stride_out_d, stride_out_t,
    # Meta-parameters
    WIDTH: tl.constexpr, HAS_BIAS: tl.constexpr, HAS_STATE: tl.constexpr,
    SILU: tl.constexpr, BLOCK_D: tl.constexpr, BLOCK_T: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    # One program per (BLOCK_D channels, BLOCK_T steps, sequence). The tile's corner is an
    # int64 pointer (batch * seqlen * channels passes 2^31 at long prompts); offsets inside the
    # tile stay int32, which roughly halves the registers the tap addresses take.
    pid_t = tl.program_id(1)
    d0 = tl.program_id(0).to(tl.int64) * BLOCK_D
    t0 = pid_t.to(tl.int64) * BLOCK_T
    offs_d = tl.arange(0, BLOCK_D)
    offs_t = tl.arange(0, BLOCK_T)
    d_ok = offs_d < (dim - d0).to(tl.int32)
    t_ok = offs_t < (seqlen - t0).to(tl.int32)
    pid_b = tl.program_id(2).to(tl.int64)
    x_rows = x_ptr + pid_b * stride_x_b + d0 * stride_x_d + offs_d[:, None] * stride_x_d
    x_tile = x_rows + t0 * stride_x_t
    state_rows = (state_ptr + pid_b * stride_state_b + d0 * stride_state_d
                  + offs_d[:, None] * stride_state_d)
    w_dtype = weight_ptr.dtype.element_ty
    x_dtype = x_ptr.dtype.element_ty
    acc = tl.zeros((BLOCK_D, BLOCK_T), dtype=tl.float32)
    if HAS_BIAS:
        acc += tl.load(bias_ptr + d0 + offs_d, mask=d_ok, other=0.0).to(tl.float32)[:, None]
    for k in tl.static_range(WIDTH):
        # Tap k sees input step t - (WIDTH - 1) + k; a negative step is in the carried state,
        # which only the first time block (t0 = 0) reaches. The reference casts the state to
        # x's dtype and the window to the weight's before the conv: the same casts here give
        # the same inputs, then the products accumulate in fp32.
        src = offs_t - (WIDTH - 1) + k
        from_x = d_ok[:, None] & (t_ok & (src >= -t0))[None, :]
        window = tl.load(x_tile + src[None, :] * stride_x_t, mask=from_x, other=0.0)
        window = window.to(w_dtype).to(tl.float32)
        if HAS_STATE:
            from_state = d_ok[:, None] & (t_ok & (src < -t0))[None, :]
            history = tl.load(state_rows + (src + WIDTH - 1)[None, :] * stride_state_k,
                              mask=from_state, other=0.0)
            window += history.to(x_dtype).to(w_dtype).to(tl.float32)
        w = tl.load(weight_ptr + (d0 + offs_d) * stride_w_d + k * stride_w_k, mask=d_ok,
                    other=0.0)
        acc += w.to(tl.float32)[:, None] * window
    # The reference's conv returns the weight's dtype and applies SiLU there: round the same.
    out = acc.to(w_dtype).to(tl.float32)
    if SILU:
        out = (out * tl.sigmoid(out)).to(w_dtype).to(tl.float32)
    tl.store(out_ptr + pid_b * stride_out_b + d0 * stride_out_d + t0 * stride_out_t
             + offs_d[:, None] * stride_out_d + offs_t[None, :] * stride_out_t,
             out.to(out_ptr.dtype.element_ty),
             mask=d_ok[:, None] & t_ok[None, :])
    if HAS_STATE:  # noqa: SIM102 (the constexpr test prunes the branch at compile time)
        if pid_t == 0:
            # The new state is the last WIDTH - 1 steps of [old state, x]; x_rows starts at
            # step 0, so `tail` is an absolute step (int64: it times a stride). Only this program
            # (the first time block) reads these channels' old state, so it alone rewrites it,
            # after its own reads: the barrier keeps one thread's store from overtaking another
            # thread's load of the same entry (old entries shift left when seqlen < WIDTH - 1).
            # Names differ from the loop's: a value defined before an `if` keeps its shape.
            j = tl.arange(0, BLOCK_K)
            j_ok = j < WIDTH - 1
            tail = seqlen - (WIDTH - 1) + j.to(tl.int64)
            tail_in_x = d_ok[:, None] & (j_ok & (tail >= 0))[None, :]
            tail_in_state = d_ok[:, None] & (j_ok & (tail < 0))[None, :]
            new = tl.load(x_rows + tail[None, :] * stride_x_t, mask=tail_in_x, other=0.0)
            old = tl.load(state_rows + (tail + WIDTH - 1)[None, :] * stride_state_k,
                          mask=tail_in_state, other=0.0)
            new = tl.where(tail_in_x, new, old.to(x_dtype))
            tl.debug_barrier()
            tl.store(state_rows + j[None, :] * stride_state_k,
                     new.to(state_ptr.dtype.element_ty), mask=d_ok[:, None] & j_ok[None, :])


def _causal_conv1d_fwd(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
    conv_state: torch.Tensor | None, activation: str | None,
) -> torch.Tensor:
    require_triton()
    if activation not in ("silu", None):
        raise ValueError(f"unsupported activation {activation!r}")
    batch, dim, seqlen = x.shape
    width = weight.shape[-1]
    # Same layout as x (channel-contiguous for the model's transposed activations), so the
    # stores coalesce like the loads and the model's transpose back is free.
    if x.stride(1) == 1:
        out = torch.empty(batch, seqlen, dim, dtype=x.dtype, device=x.device).transpose(1, 2)
    else:
        out = torch.empty(batch, dim, seqlen, dtype=x.dtype, device=x.device)
    if seqlen == 0:
        return out
    # Only the first time block may read the old state, so the state race above stays inside
    # one program: a block covers every step < width - 1 (or the whole, shorter, sequence).
    block_t = min(max(32, triton.next_power_of_2(width - 1)), triton.next_power_of_2(seqlen))
    # 1024-element tiles (32 channels x 32 steps in prefill: ~135 registers, no spills on sm_90
    # with Triton 3.9); a decode step (block_t 1) takes 256 channels per program, so 10240
    # channels still make 40 programs per sequence.
    block_d = min(max(32, min(256, 1024 // block_t)), triton.next_power_of_2(dim))
    has_state = conv_state is not None and width > 1
    state = conv_state if has_state else x
    grid = (triton.cdiv(dim, block_d), triton.cdiv(seqlen, block_t), batch)
    _causal_conv1d_kernel[grid](
        x, weight, x if bias is None else bias, state, out,
        dim, seqlen,
        *x.stride(), *weight.stride(), *(state.stride() if has_state else (0, 0, 0)),
        *out.stride(),
        WIDTH=width, HAS_BIAS=bias is not None, HAS_STATE=has_state,
        SILU=activation == "silu", BLOCK_D=block_d, BLOCK_T=block_t,
        BLOCK_K=triton.next_power_of_2(max(width - 1, 1)),
        num_warps=4,
    )
    return out


def causal_conv1d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    conv_state: torch.Tensor | None,
    activation: str | None = "silu",
) -> torch.Tensor:
    """Triton twin of `causal_conv1d_ref` (same arguments and result; `conv_state` is updated
    in place). The output has x's layout: channel-contiguous when x is."""
    return _causal_conv1d_fwd(x, weight, bias, conv_state, activation)


def causal_conv1d_ref(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    conv_state: torch.Tensor | None,
    activation: str | None = "silu",
) -> torch.Tensor:
    """Causal depthwise convolution, updating `conv_state` in place.

    Args:
        x: (batch, dim, seqlen) new inputs.
        weight: (dim, width) one filter per channel.
        bias: (dim,) or None.
        conv_state: (batch, dim, width - 1) the inputs just before `x` (zeros at the start of a
            sequence); overwritten with the last `width - 1` inputs seen, or None for no state.
        activation: "silu" or None.
    Returns:
        (batch, dim, seqlen) in the dtype of `x`.
    """
    width = weight.shape[-1]
    seqlen = x.shape[-1]
    if conv_state is None:
        history = torch.zeros(*x.shape[:2], width - 1, dtype=x.dtype, device=x.device)
    else:
        history = conv_state.to(x.dtype)
    window = torch.cat([history, x], dim=-1)
    if conv_state is not None:
        conv_state.copy_(window[..., window.shape[-1] - (width - 1) :])
    window = window.to(weight.dtype)
    if seqlen == 1:  # a decode step: one dot product per channel (conv1d's setup costs more)
        out = (window * weight).sum(-1, keepdim=True)
        out = out if bias is None else out + bias[:, None]
    else:
        out = F.conv1d(window, weight.unsqueeze(1), bias, groups=weight.shape[0])
    out = out[..., -seqlen:]
    if activation == "silu":
        out = F.silu(out)
    elif activation is not None:
        raise ValueError(f"unsupported activation {activation!r}")
    return out.to(x.dtype)
