"""Depthwise causal conv1d with an optional SiLU, carrying the last `width - 1` inputs as state.

The same function serves prefill (many tokens) and decode (one token): the state holds the
inputs that precede `x`, so a prompt split at any point gives the same output as one call.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


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
