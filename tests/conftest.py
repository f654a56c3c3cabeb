"""Session-wide test setup.

Triton decides at decoration time whether a kernel is compiled or interpreted, so the choice
must be made before anything imports `autan.kernels`: with no GPU, the kernels run under
Triton's interpreter (`TRITON_INTERPRET=1`) on CPU tensors, which is how CI tests them. The
engine never routes CPU tensors to Triton (`autan.kernels._triton.use_triton`), so this changes
nothing for the other tests.
"""

from __future__ import annotations

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
