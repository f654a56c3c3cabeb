"""Stop strings in streamed text: cut at the first one, never stream part of one."""

from __future__ import annotations


def find_stop(text: str, stops: tuple[str, ...]) -> int | None:
    """Index where the earliest stop string starts in `text`, or None."""
    hits = [i for i in (text.find(s) for s in stops if s) if i >= 0]
    return min(hits) if hits else None


def safe_prefix_length(text: str, stops: tuple[str, ...]) -> int:
    """How much of `text` can be streamed now: everything except a tail that could still
    grow into a stop string (a suffix of `text` that is a proper prefix of some stop)."""
    hold = 0
    for stop in stops:
        for n in range(min(len(stop) - 1, len(text)), hold, -1):
            if text.endswith(stop[:n]):
                hold = n
                break
    return len(text) - hold
