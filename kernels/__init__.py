"""Compute ops for the engine: scans, causal conv, norms and attention.

Each op lives in its own file with a plain PyTorch reference (`<op>_ref`) whose docstring gives
the shapes. The engine imports the names below; a fast kernel, when one exists for the device,
is plugged in here behind the same signature, so the model code never changes.
"""

from autan.kernels.attention import attention_ref
from autan.kernels.causal_conv1d import causal_conv1d_ref
from autan.kernels.rmsnorm import gated_rmsnorm_ref, rmsnorm_ref
from autan.kernels.selective_scan import selective_scan_ref, selective_state_update_ref
from autan.kernels.ssd_scan import ssd_chunk_scan_ref, ssd_state_update_ref

# No fast kernels are registered yet: every device runs the references.
attention = attention_ref
causal_conv1d = causal_conv1d_ref
gated_rmsnorm = gated_rmsnorm_ref
rmsnorm = rmsnorm_ref
selective_scan = selective_scan_ref
selective_state_update = selective_state_update_ref
ssd_chunk_scan = ssd_chunk_scan_ref
ssd_state_update = ssd_state_update_ref

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
