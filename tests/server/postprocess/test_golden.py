"""Golden cases: a raw model output through the whole pipeline, one TOML file per case.

Each `tests/golden/<category>/<name>.toml` holds `prefix`, `suffix`, `language`,
`completion` (what the model wrote) and `expected` (what the editor should show; "" when
the suggestion must be dropped), and optionally `description`, `path`,
`replace_suffix_chars` (how many characters after the cursor the suggestion replaces) and
`xfail = "reason"` for a behaviour known to be wrong: such a case must fail (strict), so
fixing it shows up as an unexpected pass to be turned into a regular case.

TOML drops a newline that directly follows an opening `'''`, so a value that starts with
a newline (a suffix after the cursor's line, a completion starting a new line) is written
with an empty first line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from autan.server.postprocess import PIPELINE
from autan.server.postprocess.types import Completion, CompletionContext

tomllib = pytest.importorskip("tomllib")

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
REQUIRED = {"prefix", "suffix", "language", "completion", "expected"}
OPTIONAL = {"description", "path", "replace_suffix_chars", "xfail"}


def load(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def cases() -> list[Any]:
    params = []
    for path in sorted(GOLDEN.rglob("*.toml")):
        case = load(path)
        marks = [pytest.mark.xfail(reason=case["xfail"], strict=True)] if "xfail" in case else []
        params.append(pytest.param(case, id=f"{path.parent.name}/{path.stem}", marks=marks))
    return params


def run_strict(case: dict[str, Any]) -> Completion | None:
    """The pipeline without run_pipeline's guard, so a raising filter fails the case."""
    ctx = CompletionContext(case["prefix"], case["suffix"], language=case["language"] or None,
                            path=case.get("path", ""))
    item: Completion | None = Completion(case["completion"])
    for step in PIPELINE:
        assert item is not None
        item = step(item, ctx)
        if item is None:
            break
    return item


@pytest.mark.parametrize("case", cases())
def test_golden(case: dict[str, Any]) -> None:
    out = run_strict(case)
    assert (out.text if out is not None else "") == case["expected"]
    if out is not None:
        assert out.replace_suffix_chars == case.get("replace_suffix_chars", 0)


def test_golden_cases_are_well_formed() -> None:
    paths = sorted(GOLDEN.rglob("*.toml"))
    assert len(paths) >= 20
    assert len({path.parent.name for path in paths}) >= 4
    for path in paths:
        keys = set(load(path))
        assert keys >= REQUIRED, f"{path}: missing {REQUIRED - keys}"
        assert keys <= REQUIRED | OPTIONAL, f"{path}: unknown {keys - REQUIRED - OPTIONAL}"
