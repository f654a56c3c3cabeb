"""Per-request inference state: what each block must remember between calls.

Mamba blocks keep a fixed-size recurrent state (conv window + SSM state); attention blocks keep
keys and values (all of them, or the last `window` for sliding-window layers). The state can be
snapshotted at a position and restored later, which is what the prefix state cache stores.

Snapshots come in two flavours, chosen per cache so that a chain of snapshots along one prompt
shares storage: a recurrent or sliding-window cache saves itself whole (it is small and fixed),
while a full KV cache saves only the keys and values added since the previous snapshot on the
chain; restoring concatenates the pieces along the chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch


def _nbytes(*tensors: torch.Tensor) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


@dataclass
class RecurrentCache:
    """Mamba-1/Mamba-2 state.

    conv: (batch, conv_dim, d_conv - 1) the last inputs of the causal conv, model dtype.
    ssm: (batch, nheads, headdim, d_state) for Mamba-2, (batch, d_inner, d_state) for Mamba-1, fp32.
    """

    conv: torch.Tensor
    ssm: torch.Tensor
    incremental = False

    def snapshot(self, since: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.conv.clone(), self.ssm.clone()

    def restore(self, pieces: list[Any]) -> None:
        conv, ssm = pieces[-1]
        self.conv.copy_(conv)
        self.ssm.copy_(ssm)

    def nbytes(self) -> int:
        return _nbytes(self.conv, self.ssm)


class KVCache:
    """Keys and values of every position so far, preallocated and grown by doubling.

    k, v: (batch, nkv_heads, capacity, headdim); positions 0 .. length-1 are filled.
    """

    incremental = True

    def __init__(self, batch: int, nkv: int, headdim: int, capacity: int,
                 dtype: torch.dtype, device: torch.device) -> None:
        shape = (batch, nkv, max(capacity, 16), headdim)
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        self.length = 0

    def _reserve(self, needed: int) -> None:
        capacity = self.k.shape[2]
        if needed <= capacity:
            return
        new_capacity = max(needed, 2 * capacity)
        for name in ("k", "v"):
            old = getattr(self, name)
            grown = old.new_zeros(*old.shape[:2], new_capacity, old.shape[3])
            grown[:, :, : self.length] = old[:, :, : self.length]
            setattr(self, name, grown)

    def extend(
        self, k: torch.Tensor, v: torch.Tensor, pos: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Append new keys/values at `pos`; return all keys, values and their positions.

        k, v: (batch, nkv_heads, seqlen, headdim)
        """
        end = pos + k.shape[2]
        self._reserve(end)
        self.k[:, :, pos:end] = k
        self.v[:, :, pos:end] = v
        self.length = end
        positions = torch.arange(end, device=k.device)
        return self.k[:, :, :end], self.v[:, :, :end], positions

    def snapshot(self, since: int) -> tuple[torch.Tensor, torch.Tensor]:
        end = self.length
        return self.k[:, :, since:end].clone(), self.v[:, :, since:end].clone()

    @staticmethod
    def trim(piece: tuple[torch.Tensor, torch.Tensor], n: int) -> tuple[torch.Tensor, ...]:
        """Drop the first n positions of a snapshot piece (copied, so the rest is freed)."""
        return piece[0][:, :, n:].clone(), piece[1][:, :, n:].clone()

    def restore(self, pieces: list[Any]) -> None:
        k = torch.cat([p[0] for p in pieces], dim=2)
        v = torch.cat([p[1] for p in pieces], dim=2)
        self.length = 0
        self.extend(k, v, 0)

    def nbytes(self) -> int:
        return _nbytes(self.k[:, :, : self.length], self.v[:, :, : self.length])


class WindowKVCache:
    """A rolling buffer of the last `window` keys/values, for sliding-window attention.

    k, v: (batch, nkv_heads, window, headdim); position p lives in slot p % window.
    slot_pos: (window,) the position held by each slot, -1 while empty.
    """

    incremental = False

    def __init__(self, batch: int, nkv: int, headdim: int, window: int,
                 dtype: torch.dtype, device: torch.device) -> None:
        self.k = torch.zeros(batch, nkv, window, headdim, dtype=dtype, device=device)
        self.v = torch.zeros_like(self.k)
        self.slot_pos = torch.full((window,), -1, dtype=torch.long, device=device)

    def extend(
        self, k: torch.Tensor, v: torch.Tensor, pos: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return the buffered plus new keys (for this step's queries), then keep the newest."""
        seqlen = k.shape[2]
        positions = torch.arange(pos, pos + seqlen, device=k.device)
        all_k = torch.cat([self.k, k], dim=2)
        all_v = torch.cat([self.v, v], dim=2)
        all_pos = torch.cat([self.slot_pos, positions])
        window = self.k.shape[2]
        keep = min(seqlen, window)
        slots = positions[-keep:] % window
        self.k[:, :, slots] = k[:, :, -keep:]
        self.v[:, :, slots] = v[:, :, -keep:]
        self.slot_pos[slots] = positions[-keep:]
        return all_k, all_v, all_pos

    def snapshot(self, since: int) -> tuple[torch.Tensor, ...]:
        return self.k.clone(), self.v.clone(), self.slot_pos.clone()

    def restore(self, pieces: list[Any]) -> None:
        k, v, slot_pos = pieces[-1]
        self.k.copy_(k)
        self.v.copy_(v)
        self.slot_pos.copy_(slot_pos)

    def nbytes(self) -> int:
        return _nbytes(self.k, self.v, self.slot_pos)



class CompositeCache:
    """The caches of a mixer with several stateful parts: Falcon-H1's parallel Mamba-2 and
    attention, Zamba2's shared attention feeding a Mamba-2 layer.

    A snapshot is one flat tuple of tensors, the parts' snapshots one after another, so it
    reads like any other cache's (`snapshot_nbytes` counts it). The composite is incremental
    when a part is: restoring then brings the pieces of the whole chain, and each recurrent or
    windowed part takes only the last one, as `InferenceState.restore` would do for it.
    """

    # Tensors in one snapshot of each part type, noted when a snapshot is taken: pieces only
    # come from snapshots, so every piece to split has its types noted.
    _arity: ClassVar[dict[type, int]] = {}

    def __init__(self, *parts: RecurrentCache | KVCache | WindowKVCache) -> None:
        self.parts = parts
        self.incremental = any(part.incremental for part in parts)

    def snapshot(self, since: int) -> tuple[torch.Tensor, ...]:
        out: list[torch.Tensor] = []
        for part in self.parts:
            piece = part.snapshot(since)
            self._arity[type(part)] = len(piece)
            out += piece
        return tuple(out)

    def _split(self, piece: tuple[torch.Tensor, ...]) -> list[tuple[torch.Tensor, ...]]:
        out, start = [], 0
        for part in self.parts:
            end = start + self._arity[type(part)]
            out.append(tuple(piece[start:end]))
            start = end
        return out

    def trim(self, piece: tuple[torch.Tensor, ...], n: int) -> tuple[torch.Tensor, ...]:
        out: list[torch.Tensor] = []
        for part, own in zip(self.parts, self._split(piece), strict=True):
            out += part.trim(own, n) if part.incremental else own
        return tuple(out)

    def restore(self, pieces: list[Any]) -> None:
        split = [self._split(piece) for piece in pieces]
        for j, part in enumerate(self.parts):
            own = [parts[j] for parts in split]
            part.restore(own if part.incremental else own[-1:])

    def nbytes(self) -> int:
        return sum(part.nbytes() for part in self.parts)


LayerCache = RecurrentCache | KVCache | WindowKVCache | CompositeCache


class InferenceState:
    """The caches of every block (None for stateless blocks) and the tokens consumed so far."""

    def __init__(self, caches: list[LayerCache | None]) -> None:
        self.caches = caches
        self.pos = 0

    def nbytes(self) -> int:
        return sum(c.nbytes() for c in self.caches if c is not None)

    def snapshot(self, since: int) -> list[Any]:
        """What the prefix cache stores for this position; `since` is the previous snapshot's
        position on the same prompt (full KV caches keep only tokens since then)."""
        return [None if c is None else c.snapshot(since) for c in self.caches]

    def trim_snapshot(self, snapshot: list[Any], n: int) -> list[Any]:
        """A snapshot whose incremental pieces start n tokens later (see PrefixStateCache)."""
        return [
            piece if cache is None or not cache.incremental else cache.trim(piece, n)
            for cache, piece in zip(self.caches, snapshot, strict=True)
        ]

    def restore(self, chain: list[list[Any]], pos: int) -> None:
        """Load the snapshots along a chain (oldest first) that ends at position `pos`."""
        for i, cache in enumerate(self.caches):
            if cache is None:
                continue
            pieces = [snap[i] for snap in chain] if cache.incremental else [chain[-1][i]]
            cache.restore(pieces)
        self.pos = pos


def snapshot_nbytes(snapshot: list[Any]) -> int:
    """Bytes held by one snapshot (tensors only)."""
    total = 0
    for entry in snapshot:
        if entry is not None:
            total += _nbytes(*entry)
    return total
