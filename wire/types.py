"""The request parameters and statistics that the engine, its clients and the wire share.

Written once, here, and torch-free: the engine (`autan.model.runtime.engine`) takes a
`SamplingParams` and fills a `RequestStats`; the engine process sends them as the `params` and
`stats` maps of its frames (`autan.wire.protocol`); the LSP server and `autan bench lsp` read
them back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

MAX_NEW_TOKENS = 16384  # far beyond any completion; bounds the KV memory a request reserves

RequestId = int | str


class ProtocolError(Exception):
    """A frame or request that breaks the protocol; `request_id` is set when it was readable."""

    def __init__(self, message: str, request_id: RequestId | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


@dataclass(frozen=True)
class SamplingParams:
    """Sampling and stopping for one request."""

    max_tokens: int = 64
    temperature: float = 0.0  # 0: greedy
    top_p: float = 1.0
    stop_strings: tuple[str, ...] = ()
    stop_ids: tuple[int, ...] = ()
    seed: int | None = None

    def to_wire(self) -> dict[str, Any]:
        """The `params` map of a `generate` frame."""
        wire = asdict(self)
        wire["stop_strings"], wire["stop_ids"] = list(self.stop_strings), list(self.stop_ids)
        return wire

    @classmethod
    def from_wire(cls, raw: Any, request_id: RequestId | None = None) -> SamplingParams:
        """Validate a `params` map; missing fields take their defaults."""
        raw = {} if raw is None else raw
        if not isinstance(raw, dict):
            raise ProtocolError("params must be a map", request_id)
        unknown = set(raw) - {f.name for f in fields(cls)}
        if unknown:
            raise ProtocolError(f"unknown params: {sorted(map(str, unknown))}", request_id)
        d = cls()
        max_tokens = _int(raw.get("max_tokens", d.max_tokens), "max_tokens", request_id)
        if not 0 <= max_tokens <= MAX_NEW_TOKENS:
            raise ProtocolError(f"max_tokens must be in 0..{MAX_NEW_TOKENS}", request_id)
        temperature = _number(raw.get("temperature", d.temperature), "temperature", request_id)
        top_p = _number(raw.get("top_p", d.top_p), "top_p", request_id)
        if not (temperature >= 0 and 0 < top_p <= 1):
            raise ProtocolError("temperature must be >= 0 and top_p in (0, 1]", request_id)
        return cls(
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            stop_strings=tuple(_list(raw.get("stop_strings", []), str, "stop_strings",
                                     request_id)),
            stop_ids=tuple(int_list(raw.get("stop_ids", []), "stop_ids", request_id)),
            seed=None if raw.get("seed") is None else _int(raw["seed"], "seed", request_id),
        )


@dataclass
class RequestStats:
    """What a request cost; `reused_tokens` came from the prefix state cache. The engine fills
    it in as the request runs (so it is mutable)."""

    prompt_tokens: int = 0
    reused_tokens: int = 0
    computed_tokens: int = 0
    generated_tokens: int = 0
    ttft_ms: float = 0.0
    decode_ms: float = 0.0

    @property
    def tokens_per_s(self) -> float:
        steps = self.generated_tokens - 1  # the first token comes from the prefill
        return steps / (self.decode_ms / 1000) if steps > 0 and self.decode_ms > 0 else 0.0

    def to_wire(self) -> dict[str, Any]:
        """The `stats` map of a `done` frame."""
        return asdict(self)

    @classmethod
    def from_wire(cls, raw: Any) -> RequestStats:
        """Read a `stats` map, ignoring fields a newer engine may add."""
        if not isinstance(raw, dict):
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})


def _int(value: Any, name: str, request_id: RequestId | None) -> int:
    """`value` as an int; bools (an int subclass in Python) are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"{name} must be an integer", request_id)
    return value


def _number(value: Any, name: str, request_id: RequestId | None) -> float:
    """`value` as a float (ints are accepted: msgpack has no float-only `1`)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProtocolError(f"{name} must be a number", request_id)
    return float(value)


def _list(value: Any, kind: type, name: str, request_id: RequestId | None) -> list[Any]:
    """`value` as a list whose items are all `kind`."""
    if not isinstance(value, list | tuple) or not all(
        isinstance(v, kind) and not isinstance(v, bool) for v in value
    ):
        raise ProtocolError(f"{name} must be a list of {kind.__name__}", request_id)
    return list(value)


def int_list(value: Any, name: str, request_id: RequestId | None = None) -> list[int]:
    """A list of non-negative ints (token ids, positions)."""
    items = _list(value, int, name, request_id)
    if any(v < 0 for v in items):
        raise ProtocolError(f"{name} must not be negative", request_id)
    return items
