"""What an architecture adapter provides, and the registry the loader looks adapters up in.

An adapter turns a checkpoint's config (HF `config.json` or Mistral `params.json`) into a
`ModelConfig`, and says where each of the engine's parameters lives in the checkpoint.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import torch

from autan.model.config import ModelConfig
from autan.model.errors import ModelFileError


@dataclass(frozen=True)
class Source:
    """Checkpoint tensors that make one engine parameter.

    `keys` are read and passed to `combine` (default: the single tensor unchanged), e.g. to
    stack per-expert weights or to undo a different rotary layout.
    """

    keys: tuple[str, ...]
    combine: Callable[[list[torch.Tensor]], torch.Tensor] | None = None

    def build(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        return tensors[0] if self.combine is None else self.combine(tensors)


class Adapter(Protocol):
    architectures: tuple[str, ...]

    def model_config(self, raw: dict, source: Path) -> ModelConfig: ...

    def source(self, name: str, cfg: ModelConfig, available: set[str]) -> Source | None:
        """Where engine parameter `name` comes from; None if the checkpoint may omit it."""
        ...


def require(raw: dict, key: str, source: Path) -> object:
    """A config field that must be present, or a one-line error naming the file and field."""
    if key not in raw:
        raise ModelFileError(source, f"missing required field {key!r}")
    return raw[key]


def json_float(value: object) -> float:
    """A float from a config; transformers writes infinity as `{"__float__": "Infinity"}`."""
    if isinstance(value, dict) and "__float__" in value:
        value = value["__float__"]
    return float(value)  # type: ignore[arg-type]


def first_present(candidates: list[str], available: set[str]) -> str:
    """The first candidate key the checkpoint holds (or the first, to be reported missing)."""
    return next((k for k in candidates if k in available), candidates[0])


# The engine's names for a block's parameters, which every adapter maps to checkpoint keys.
BLOCK = re.compile(r"blocks\.(\d+)\.(norm\.weight|mixer\.(.+))")


def split_block_name(name: str) -> tuple[int, str | None]:
    """`blocks.{i}.norm.weight` -> (i, None); `blocks.{i}.mixer.{rest}` -> (i, rest).

    Any other name is not a block parameter: KeyError, as for any name an adapter does not know.
    """
    match = BLOCK.fullmatch(name)
    if match is None:
        raise KeyError(name)
    return int(match.group(1)), match.group(3)


ADAPTERS: dict[str, Adapter] = {}


def register(adapter: Adapter) -> Adapter:
    for arch in adapter.architectures:
        ADAPTERS[arch] = adapter
    return adapter
