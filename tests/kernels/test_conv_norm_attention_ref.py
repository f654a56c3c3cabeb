"""References checked against independent formulations: causal conv with state handoff,
grouped gated RMSNorm, and attention against PyTorch's SDPA with an explicit mask (fp32,
tolerance 1e-5: the same arithmetic in a different order)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from autan.kernels import attention_ref, causal_conv1d_ref, gated_rmsnorm_ref, rmsnorm_ref
from autan.kernels.attention import attention_mask

TOL = 1e-5


def test_causal_conv_split_with_state_equals_one_call() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 6, 19, generator=g)
    w, b = torch.randn(6, 4, generator=g), torch.randn(6, generator=g)
    whole = causal_conv1d_ref(x, w, b, None)
    state = torch.zeros(2, 6, 3)
    pieces = [causal_conv1d_ref(x[..., a:e], w, b, state) for a, e in [(0, 5), (5, 6), (6, 19)]]
    assert (torch.cat(pieces, -1) - whole).abs().max() <= TOL
    assert torch.equal(state, x[..., -3:])
    # Against an unpadded-by-hand convolution of the zero-prefixed input.
    manual = F.conv1d(F.pad(x, (3, 0)), w[:, None], b, groups=6)
    assert (F.silu(manual) - whole).abs().max() <= TOL


@pytest.mark.parametrize("norm_before_gate", [False, True])
def test_gated_rmsnorm_normalises_each_group(norm_before_gate: bool) -> None:
    g = torch.Generator().manual_seed(1)
    x, z, w = torch.randn(3, 16, generator=g), torch.randn(3, 16, generator=g), torch.randn(16)
    out = gated_rmsnorm_ref(x, z, w, 1e-6, group_size=4, norm_before_gate=norm_before_gate)
    gated = x * F.silu(z)
    parts = []
    for k in range(4):
        piece = (x if norm_before_gate else gated)[:, 4 * k : 4 * k + 4]
        parts.append(piece / piece.pow(2).mean(-1, keepdim=True).add(1e-6).sqrt())
    expected = torch.cat(parts, -1) * (F.silu(z) if norm_before_gate else 1) * w
    assert (out - expected).abs().max() <= TOL
    whole = rmsnorm_ref(gated, w, 1e-6)  # one group over all channels differs
    assert norm_before_gate or (gated_rmsnorm_ref(x, z, w, 1e-6, 16) - whole).abs().max() <= TOL


@pytest.mark.parametrize("window", [None, 5])
def test_attention_matches_sdpa_with_gqa_and_window(window: int | None) -> None:
    g = torch.Generator().manual_seed(2)
    q = torch.randn(2, 8, 7, 16, generator=g)
    k, v = torch.randn(2, 2, 20, 16, generator=g), torch.randn(2, 2, 20, 16, generator=g)
    q_pos, k_pos = torch.arange(13, 20), torch.arange(20)
    out = attention_ref(q, k, v, q_pos, k_pos, 0.25, window)
    mask = attention_mask(q_pos, k_pos, window)
    expected = F.scaled_dot_product_attention(q, k.repeat_interleave(4, 1),
                                              v.repeat_interleave(4, 1), attn_mask=mask,
                                              scale=0.25)
    assert (out - expected).abs().max() <= TOL


def test_attention_mask_ignores_empty_slots_and_future() -> None:
    mask = attention_mask(torch.tensor([3]), torch.tensor([-1, 0, 2, 3, 4]), window=3)
    assert mask.tolist() == [[False, False, True, True, False]]
