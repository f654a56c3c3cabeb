"""Type-ahead cache: when the user types what the shown suggestion predicted, answer with the
rest of it, without calling the model (as Tabby and Continue do).

Bounded LRU of the suggestions shown, keyed by document and the text before the cursor.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

SUFFIX_CHECK = 200  # characters of the suffix that must be unchanged


@dataclass(frozen=True)
class Shown:
    uri: str
    prefix: str  # document text before the cursor when the suggestion was made
    suffix_head: str  # the start of the text after the cursor
    text: str  # the suggestion


class TypeAheadCache:
    def __init__(self, capacity: int = 512) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[tuple[str, int, str], Shown] = OrderedDict()

    def remember(self, uri: str, prefix: str, suffix: str, text: str) -> None:
        if not text:
            return
        key = (uri, len(prefix), prefix[-64:])
        self._entries[key] = Shown(uri, prefix, suffix[:SUFFIX_CHECK], text)
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def lookup(self, uri: str, prefix: str, suffix: str) -> str | None:
        """The rest of a remembered suggestion that the newly typed text follows, if any."""
        for key in reversed(self._entries):
            shown = self._entries[key]
            if shown.uri != uri or len(shown.prefix) > len(prefix):
                continue
            typed = prefix[len(shown.prefix) :]
            if (shown.text.startswith(typed) and len(typed) < len(shown.text)
                    and prefix.startswith(shown.prefix)
                    and suffix[:SUFFIX_CHECK] == shown.suffix_head):
                self._entries.move_to_end(key)
                return shown.text[len(typed) :]
        return None

    def forget(self, uri: str) -> None:
        for key in [k for k in self._entries if k[0] == uri]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
