"""The import graph: resolved imports kept both ways (who a file imports, who imports it),
with breadth-first neighbourhoods for the context builder's transitive decay.

It is language-agnostic: it holds the paths `ImportResolver.resolve` returned, per file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

Direction = Literal["imports", "importers", "both"]


class ImportGraph:
    """Resolved imports as a graph kept both ways, so "what does this file use" and "who
    uses this file" are both one lookup. Edges mirror the records exactly: a file's edges
    change only when its own record is updated or removed."""

    def __init__(self, records: Mapping[str, Iterable[str]] | None = None) -> None:
        self._out: dict[str, list[str]] = {}
        self._in: dict[str, set[str]] = {}
        if records:
            self.build(records)

    def build(self, records: Mapping[str, Iterable[str]]) -> ImportGraph:
        """Replace the whole graph with `records` (path -> resolved imports)."""
        self._out, self._in = {}, {}
        for path, resolved in records.items():
            self.update(path, resolved)
        return self

    def update(self, path: str, resolved: Iterable[str]) -> None:
        """Set one file's resolved imports (after it was edited or re-resolved)."""
        self._drop_out(path)
        targets = list(dict.fromkeys(t for t in resolved if t != path))
        self._out[path] = targets
        for target in targets:
            self._in.setdefault(target, set()).add(path)

    def remove(self, path: str) -> list[str]:
        """Forget a deleted file's imports; returns its importers, whose imports should be
        re-resolved (their edges to `path` stay until they are)."""
        self._drop_out(path)
        self._out.pop(path, None)
        return self.importers_of(path)

    def imports_of(self, path: str) -> list[str]:
        """Files `path` imports, in its import order."""
        return list(self._out.get(path, ()))

    def importers_of(self, path: str) -> list[str]:
        """Files that import `path`, sorted, so prompts built from them are stable."""
        return sorted(self._in.get(path, ()))

    def neighbors(self, path: str, depth: int = 2, direction: Direction = "both"
                  ) -> dict[str, int]:
        """Files within `depth` import edges of `path` -> their distance (1 = direct), for
        transitive decay. `direction` follows imports, importers or both. Breadth-first,
        so each file gets its shortest distance; ordered by distance."""
        if direction not in ("imports", "importers", "both"):
            raise ValueError(f"direction must be imports, importers or both: {direction!r}")
        dist: dict[str, int] = {path: 0}
        frontier = [path]
        for level in range(1, depth + 1):
            nxt: list[str] = []
            for node in frontier:
                for other in self._step(node, direction):
                    if other not in dist:
                        dist[other] = level
                        nxt.append(other)
            frontier = nxt
        del dist[path]
        return dist

    def __contains__(self, path: object) -> bool:
        return path in self._out

    def __len__(self) -> int:
        return len(self._out)

    def _step(self, node: str, direction: Direction) -> list[str]:
        """One edge away from `node`: imports first, then importers."""
        out = self.imports_of(node) if direction != "importers" else []
        return out + (self.importers_of(node) if direction != "imports" else [])

    def _drop_out(self, path: str) -> None:
        """Remove `path`'s outgoing edges from the reverse index."""
        for target in self._out.get(path, ()):
            importers = self._in.get(target)
            if importers is not None:
                importers.discard(path)
                if not importers:
                    del self._in[target]
