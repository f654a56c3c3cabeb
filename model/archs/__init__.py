"""Architecture adapters; importing this package registers every one of them."""

from autan.model.archs import (  # noqa: F401  (registration)
    bamba,
    falcon_h1,
    granite_hybrid,
    jamba,
    mamba1,
    mamba2,
    mistral,
    nemotron_h,
    zamba2,
)
from autan.model.archs.base import ADAPTERS, Adapter, Source

__all__ = ["ADAPTERS", "Adapter", "Source"]
