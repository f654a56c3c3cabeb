"""Every reference is called by a test, and every Triton op is compared with its reference.

Checked on the source text: a `def <op>_ref(` in `kernels/` must be named in some test, and a
public op `<op>` with a `<op>_ref` twin must be called in the same test file as that twin.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _test_sources() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("test_*.py")}


def _refs() -> list[str]:
    names = []
    for path in sorted((ROOT / "kernels").glob("*.py")):
        names += re.findall(r"^def (\w+)_ref\(", path.read_text(encoding="utf-8"), re.M)
    return names


def test_every_reference_is_called_by_a_test() -> None:
    tests = "\n".join(_test_sources().values())
    missing = [f"{op}_ref" for op in _refs() if not re.search(rf"\b{op}_ref\(", tests)]
    assert not missing, f"references no test calls: {missing}"


def test_every_triton_op_is_compared_with_its_reference() -> None:
    sources = _test_sources().values()
    missing = [op for op in _refs()
               if not any(re.search(rf"\b{op}\(", s) and re.search(rf"\b{op}_ref\(", s)
                          for s in sources)]
    assert not missing, f"ops never compared with their reference in one test file: {missing}"
