"""A CPU-only install has no Triton (it is the `gpu` extra): the kernel files still import,
the engine runs on the references, and calling a Triton op directly says what is missing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import sys
    sys.modules["triton"] = None  # any `import triton` now raises ImportError
    import torch
    from autan import kernels
    from autan.kernels import _triton
    from autan.model.config import named_config
    from autan.model.random_init import random_model
    assert not _triton.HAVE_TRITON
    model = random_model(named_config("tiny-hybrid"))
    logits = model(torch.arange(40)[None])
    assert logits.shape == (1, 40, 512) and torch.isfinite(logits).all()
    try:
        kernels.rmsnorm.fast(torch.ones(2, 8), torch.ones(8), 1e-5)
    except RuntimeError as exc:
        print(exc)
    else:
        raise AssertionError("a Triton op ran without Triton")
""")


def test_everything_but_the_kernels_works_without_triton() -> None:
    result = subprocess.run([sys.executable, "-P", "-c", SCRIPT], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert "pip install 'autan[gpu]'" in result.stdout
