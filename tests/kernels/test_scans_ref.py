"""The chunked scans equal their one-step recurrences, from any initial state, for lengths that
are not multiples of the chunk, with grouped B/C (fp32; tolerance 1e-4 relative to the output
scale: both sides are fp32 sums of the same terms in a different order)."""

from __future__ import annotations

import pytest
import torch

from autan.kernels import (
    selective_scan_ref,
    selective_state_update_ref,
    ssd_chunk_scan_ref,
    ssd_state_update_ref,
)

TOL = 1e-4


def ssd_inputs(batch: int, seqlen: int, nheads: int, headdim: int, groups: int, dstate: int,
               seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)

    def r(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=g)

    return dict(x=r(batch, seqlen, nheads, headdim), dt=r(batch, seqlen, nheads),
                A=-torch.rand(nheads, generator=g) * 4 - 0.1, B=r(batch, seqlen, groups, dstate),
                C=r(batch, seqlen, groups, dstate), D=r(nheads), dt_bias=r(nheads) * 0.5)


@pytest.mark.parametrize("seqlen,chunk,groups", [(1, 16, 1), (37, 16, 2), (64, 16, 4),
                                                 (50, 64, 1)])
def test_ssd_chunk_scan_equals_recurrence(seqlen: int, chunk: int, groups: int) -> None:
    t = ssd_inputs(2, seqlen, 8, 16, groups, 8, seed=seqlen)
    init = torch.randn(2, 8, 16, 8, generator=torch.Generator().manual_seed(1))
    y, final = ssd_chunk_scan_ref(t["x"], t["dt"], t["A"], t["B"], t["C"], chunk, D=t["D"],
                                  dt_bias=t["dt_bias"], initial_state=init)
    state = init.clone()
    steps = [ssd_state_update_ref(state, t["x"][:, i], t["dt"][:, i], t["A"], t["B"][:, i],
                                  t["C"][:, i], D=t["D"], dt_bias=t["dt_bias"])
             for i in range(seqlen)]
    expected = torch.stack(steps, dim=1)
    scale = expected.abs().max().item()
    print(f"ssd L={seqlen} chunk={chunk} g={groups}: max |diff| {(y - expected).abs().max():.2e}")
    assert (y - expected).abs().max() <= TOL * max(scale, 1.0)
    assert (final - state).abs().max() <= TOL * max(state.abs().max().item(), 1.0)


def test_ssd_state_handoff_between_calls() -> None:
    t = ssd_inputs(1, 45, 4, 8, 2, 8, seed=9)
    whole, final = ssd_chunk_scan_ref(t["x"], t["dt"], t["A"], t["B"], t["C"], 16, D=t["D"])
    first, mid = ssd_chunk_scan_ref(*(t[k][:, :20] for k in ("x", "dt")), t["A"],
                                    t["B"][:, :20], t["C"][:, :20], 16, D=t["D"])
    second, end = ssd_chunk_scan_ref(*(t[k][:, 20:] for k in ("x", "dt")), t["A"],
                                     t["B"][:, 20:], t["C"][:, 20:], 16, D=t["D"],
                                     initial_state=mid)
    assert (torch.cat([first, second], 1) - whole).abs().max() <= TOL
    assert (end - final).abs().max() <= TOL


def test_ssd_dt_limit_clamps() -> None:
    t = ssd_inputs(1, 10, 2, 4, 1, 4, seed=3)
    free, _ = ssd_chunk_scan_ref(t["x"], t["dt"], t["A"], t["B"], t["C"], 8)
    capped, _ = ssd_chunk_scan_ref(t["x"], t["dt"], t["A"], t["B"], t["C"], 8,
                                   dt_limit=(0.0, 0.01))
    assert (free - capped).abs().max() > 1e-2


@pytest.mark.parametrize("seqlen", [1, 23])
def test_selective_scan_equals_state_updates(seqlen: int) -> None:
    g = torch.Generator().manual_seed(seqlen)
    dim, n = 12, 6
    x, dt, z = (torch.randn(2, dim, seqlen, generator=g) for _ in range(3))
    A = -torch.rand(dim, n, generator=g) * 3
    B, C = torch.randn(2, n, seqlen, generator=g), torch.randn(2, n, seqlen, generator=g)
    D, bias = torch.randn(dim, generator=g), torch.randn(dim, generator=g)
    init = torch.randn(2, dim, n, generator=g)
    y, final = selective_scan_ref(x, dt, A, B, C, D=D, z=z, dt_bias=bias, initial_state=init)
    state = init.clone()
    steps = [selective_state_update_ref(state, x[..., i], dt[..., i], A, B[..., i], C[..., i],
                                        D=D, z=z[..., i], dt_bias=bias) for i in range(seqlen)]
    assert (y - torch.stack(steps, -1)).abs().max() <= TOL
    assert (final - state).abs().max() <= TOL
