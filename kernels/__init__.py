"""Compute ops for the engine: scans, causal conv, norms and attention.

Each op lives in its own file (`kernels/<op>.py`) as a Triton kernel (`<op>`) beside its plain
PyTorch reference (`<op>_ref`), with one shape docstring for both. The engine calls the names
bound below; each picks the Triton kernel for CUDA tensors when Triton is installed and the
reference otherwise (CPU, or `AUTAN_KERNELS=ref` for A/B checks), so the model code never
changes with the device.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

# Functions are imported from the submodules by name: the op names bound below shadow the
# submodules `attention`, `causal_conv1d` and `rmsnorm` as attributes of this package.
from autan.kernels._triton import use_triton
from autan.kernels.attention import attention as _attention_triton
from autan.kernels.attention import attention_ref
from autan.kernels.causal_conv1d import causal_conv1d as _causal_conv1d_triton
from autan.kernels.causal_conv1d import causal_conv1d_ref
from autan.kernels.rmsnorm import gated_rmsnorm as _gated_rmsnorm_triton
from autan.kernels.rmsnorm import gated_rmsnorm_ref, rmsnorm_ref
from autan.kernels.rmsnorm import rmsnorm as _rmsnorm_triton
from autan.kernels.selective_scan import selective_scan as _selective_scan_triton
from autan.kernels.selective_scan import selective_scan_ref, selective_state_update_ref
from autan.kernels.selective_scan import selective_state_update as _selective_update_triton
from autan.kernels.ssd_scan import ssd_chunk_scan as _ssd_chunk_scan_triton
from autan.kernels.ssd_scan import ssd_chunk_scan_ref
from autan.kernels.ssd_state_update import ssd_state_update as _ssd_state_update_triton
from autan.kernels.ssd_state_update import ssd_state_update_ref


def _by_device(fast: Callable[..., Any], ref: Callable[..., Any]) -> Callable[..., Any]:
    """The op the engine calls: `fast` when its first tensor argument is on CUDA, else `ref`.

    The first positional argument is a tensor for every op (`x`, `q`, or the `state` of a decode
    step), and all of an op's tensors live on one device. Both choices stay reachable as
    `op.fast` and `op.ref`.
    """

    @functools.wraps(ref)
    def op(first: Any, *args: Any, **kwargs: Any) -> Any:
        return (op.fast if use_triton(first) else op.ref)(first, *args, **kwargs)

    op.fast, op.ref = fast, ref  # type: ignore[attr-defined]
    op.__name__ = op.__qualname__ = fast.__name__
    return op


attention = _by_device(_attention_triton, attention_ref)
causal_conv1d = _by_device(_causal_conv1d_triton, causal_conv1d_ref)
gated_rmsnorm = _by_device(_gated_rmsnorm_triton, gated_rmsnorm_ref)
rmsnorm = _by_device(_rmsnorm_triton, rmsnorm_ref)
selective_scan = _by_device(_selective_scan_triton, selective_scan_ref)
selective_state_update = _by_device(_selective_update_triton, selective_state_update_ref)
ssd_chunk_scan = _by_device(_ssd_chunk_scan_triton, ssd_chunk_scan_ref)
ssd_state_update = _by_device(_ssd_state_update_triton, ssd_state_update_ref)

__all__ = [
    "attention",
    "attention_ref",
    "causal_conv1d",
    "causal_conv1d_ref",
    "gated_rmsnorm",
    "gated_rmsnorm_ref",
    "rmsnorm",
    "rmsnorm_ref",
    "selective_scan",
    "selective_scan_ref",
    "selective_state_update",
    "selective_state_update_ref",
    "ssd_chunk_scan",
    "ssd_chunk_scan_ref",
    "ssd_state_update",
    "ssd_state_update_ref",
]
