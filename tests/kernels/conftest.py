"""Kernel tests: every floating-point tensor an op allocates with `torch.empty` or
`torch.empty_like` starts as NaN, so an element the kernel forgets to write fails the test
instead of passing on leftover memory."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def poison_allocations(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real_empty, real_empty_like = torch.empty, torch.empty_like

    def poisoned(t: torch.Tensor) -> torch.Tensor:
        return t.fill_(math.nan) if t.is_floating_point() else t

    monkeypatch.setattr(torch, "empty", lambda *a, **k: poisoned(real_empty(*a, **k)))
    monkeypatch.setattr(torch, "empty_like", lambda *a, **k: poisoned(real_empty_like(*a, **k)))
    yield
