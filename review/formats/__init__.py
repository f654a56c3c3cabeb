"""The report formats, by `--format` name; each is a pure function of a `Review`."""

from __future__ import annotations

from collections.abc import Callable

from autan.review.formats import github, gitlab, json_out, rdjsonl, sarif, text
from autan.review.types import Review

FORMATS: dict[str, Callable[[Review], str]] = {
    "sarif": sarif.render,
    "github": github.render,
    "rdjsonl": rdjsonl.render,
    "gitlab": gitlab.render,
    "text": text.render,
    "json": json_out.render,
}
