"""Triton, when it is installed, and the rules for when its kernels run.

Triton is the `gpu` extra: a CPU-only install has just the PyTorch references. So that the
kernel files still import there, a stand-in supplies the decorators (`triton.jit`,
`triton.autotune`, `triton.Config`, `triton.heuristics`) and `tl.constexpr`; the functions
they decorate are then never launched, because `use_triton` is false.
"""

from __future__ import annotations

import os
from typing import Any

import torch


def _inert(*args: Any, **kwargs: Any) -> Any:
    # `@triton.jit` passes the function itself: give it back. `@triton.autotune(...)` and
    # friends are called with settings first: give back a decorator that does nothing.
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda fn=None, *a, **k: fn


class _NoTriton:
    """Stands in for `triton` and `triton.language`: every name is an inert placeholder."""

    def __getattr__(self, name: str) -> Any:
        return _inert


try:
    import triton
    import triton.language as tl

    HAVE_TRITON = True
except ImportError:  # the references need only torch
    triton = _NoTriton()  # type: ignore[assignment]
    tl = _NoTriton()  # type: ignore[assignment]
    HAVE_TRITON = False


@triton.jit
def softplus(x):
    """torch's softplus in a kernel: log1p(exp(x)), and x itself above 20.

    Triton has no log1p; the log(w) * u / (w - 1) form with w = 1 + u keeps a tiny u (very
    negative x) accurate, where log(1 + u) would round to zero.
    """
    u = tl.exp(tl.minimum(x, 20.0))
    w = 1.0 + u
    log1p_u = tl.where(w == 1.0, u, tl.log(w) * u / (w - 1.0))
    return tl.where(x > 20.0, x, log1p_u)


def interpreting() -> bool:
    """True under `TRITON_INTERPRET=1`: kernels then run on CPU tensors, in numpy.

    The interpreter (Triton 3.6 to 3.9) stores bf16 as raw uint16 and computes `tl.dot` and
    arithmetic on the bit patterns, so kernels convert every load to fp32 at once, and the
    launchers pass `dot_dtype()` so that matrix products run in fp32 there.
    """
    return os.environ.get("TRITON_INTERPRET") == "1"


# `AUTAN_KERNELS=ref` makes CUDA run the references too (for A/B checks). Read once: the
# question is asked on every op call, thousands of times per decoded token.
FORCE_REF = os.environ.get("AUTAN_KERNELS", "") == "ref"


def use_triton(t: torch.Tensor) -> bool:
    """Whether the engine's ops should take the Triton path for a tensor on this device.

    CUDA tensors with Triton installed do, unless `FORCE_REF`. CPU tensors never do: the
    interpreter is for tests, far too slow to serve.
    """
    return HAVE_TRITON and t.is_cuda and not FORCE_REF


def dot_dtype(dtype: torch.dtype) -> Any:
    """The dtype that `tl.dot` operands are cast to for inputs of `dtype`.

    bf16/fp16 inputs use the tensor cores in their own dtype on GPU; under the interpreter,
    whose bf16 `tl.dot` is wrong, everything multiplies in fp32.
    """
    if interpreting() or dtype == torch.float32:
        return tl.float32
    return {torch.bfloat16: tl.bfloat16, torch.float16: tl.float16}[dtype]


def require_triton() -> None:
    """Raise a clear error when a Triton op is called where it cannot run."""
    if not HAVE_TRITON:
        raise RuntimeError("the Triton kernels need the `gpu` extra: pip install 'autan[gpu]'")
