"""Prefix state cache: model state snapshots keyed by the token prefix that produced them.

A tree of snapshots. Each node holds the state after `pos` tokens and the tokens from its
parent's position to its own (its edge); the path from the root spells the whole prefix. A
request walks down while the edges match its prompt, resumes from the deepest node, and adds
nodes for the snapshots it takes. Siblings never have one edge a prefix of another: a snapshot
that lands inside an existing edge splits it.

Full KV caches store only the keys and values of their own edge (see `model/runtime/state.py`), so a
chain of snapshots along one long prompt shares storage; that is why only leaves are evicted
(an inner node's pieces are part of every descendant's state). Eviction is least recently used,
within a byte budget.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from autan.model.runtime.state import snapshot_nbytes

Trim = Callable[[list[Any], int], list[Any]]


@dataclass(eq=False)
class Node:
    pos: int
    edge: torch.Tensor  # (pos - parent.pos,) int64 tokens on the way from the parent
    snapshot: list[Any] | None
    parent: Node | None = None
    children: list[Node] = field(default_factory=list)
    nbytes: int = 0
    last_used: int = 0


def matched_length(edge: torch.Tensor, tokens: torch.Tensor) -> int:
    """How many leading tokens of `edge` equal those of `tokens`."""
    n = min(edge.numel(), tokens.numel())
    if n == 0:
        return 0
    diff = (edge[:n] != tokens[:n]).nonzero()
    return n if diff.numel() == 0 else int(diff[0])


class PrefixStateCache:
    def __init__(self, budget_bytes: int, trim: Trim) -> None:
        """`trim(snapshot, n)` drops the first n tokens of a snapshot's incremental pieces
        (needed when a new snapshot splits an edge); `InferenceState.trim_snapshot` does it."""
        self.budget_bytes = budget_bytes
        self.trim = trim
        self.root = Node(pos=0, edge=torch.zeros(0, dtype=torch.long), snapshot=[])
        self.nbytes = 0
        self._clock = itertools.count(1)

    def lookup(self, tokens: torch.Tensor, max_pos: int | None = None) -> list[Node]:
        """The chain of nodes (root excluded) for the longest cached prefix of `tokens`
        ending at or before `max_pos`; empty when nothing is cached."""
        limit = tokens.numel() if max_pos is None else max_pos
        chain: list[Node] = []
        node = self.root
        while True:
            child = self._full_match(node, tokens)
            if child is None or child.pos > limit:
                break
            chain.append(child)
            node = child
        now = next(self._clock)
        for n in chain:
            n.last_used = now
        return chain

    def _full_match(self, node: Node, tokens: torch.Tensor) -> Node | None:
        rest = tokens[node.pos :]
        for child in node.children:
            if child.edge.numel() <= rest.numel() and matched_length(child.edge, rest) == (
                child.edge.numel()
            ):
                return child
        return None

    def insert(self, tokens: torch.Tensor, snapshot_at: Callable[[int], list[Any]]) -> Node:
        """Add the snapshot for the prefix `tokens` (its length is the position).

        `snapshot_at(since)` makes the snapshot, with incremental pieces from `since` on; it
        is called only if the prefix is not cached yet.
        """
        pos = tokens.numel()
        chain = self.lookup(tokens)
        parent = chain[-1] if chain else self.root
        if parent.pos == pos:
            return parent
        rest = tokens[parent.pos :]
        node = Node(pos=pos, edge=rest.clone(), snapshot=snapshot_at(parent.pos), parent=parent)
        node.nbytes = snapshot_nbytes(node.snapshot)
        if node.nbytes > self.budget_bytes:  # would evict everything and still not fit
            return parent
        for child in list(parent.children):
            if matched_length(child.edge, rest) == rest.numel():  # the new node splits it
                self._reparent(child, node)
        parent.children.append(node)
        node.last_used = next(self._clock)
        self.nbytes += node.nbytes
        self._evict(protect=node)
        return node

    def _reparent(self, child: Node, node: Node) -> None:
        cut = node.pos - child.parent.pos
        child.parent.children.remove(child)
        self.nbytes -= child.nbytes
        child.snapshot = self.trim(child.snapshot, cut)
        child.nbytes = snapshot_nbytes(child.snapshot)
        self.nbytes += child.nbytes
        child.edge = child.edge[cut:].clone()
        child.parent = node
        node.children.append(child)

    def _evict(self, protect: Node) -> None:
        """Drop least recently used leaves until the cache fits its budget."""
        while self.nbytes > self.budget_bytes:
            leaves = [n for n in self._nodes() if not n.children and n is not protect]
            if not leaves:
                return
            victim = min(leaves, key=lambda n: n.last_used)
            victim.parent.children.remove(victim)
            self.nbytes -= victim.nbytes

    def _nodes(self) -> list[Node]:
        out, stack = [], list(self.root.children)
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(node.children)
        return out

    def __len__(self) -> int:
        return len(self._nodes())

    def clear(self) -> None:
        self.root.children.clear()
        self.nbytes = 0
