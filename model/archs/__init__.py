"""Architecture adapters; importing this package registers every one of them."""

from autan.model.archs import mamba, mamba2, mistral  # noqa: F401  (registration)
from autan.model.archs.base import ADAPTERS, Adapter, Source

__all__ = ["ADAPTERS", "Adapter", "Source"]
