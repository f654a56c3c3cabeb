"""What the editor tells the server about its suggestions: shown, accepted, partly accepted.

The counts are kept in the server process only (nothing is sent anywhere) and reported by
`autan/stats` as `acceptance`. The messages are notifications, so a malformed one has no one
to answer: it is logged and not counted. Pure of LSP: `lsp.py` passes the params as plain JSON
values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ACCEPT_KINDS = ("full", "word", "line")  # Tab, accept next word, accept next line


@dataclass(frozen=True)
class Acceptance:
    """One `autan/didAcceptCompletion`: how much of the suggestion went into the buffer."""

    uri: str
    kind: str  # one of ACCEPT_KINDS
    accepted_length: int  # UTF-16 code units inserted, as the editor counts them


@dataclass
class FeedbackCounters:
    shown: int = 0  # suggestions offered to the editor (one per suggestion, not per keystroke)
    accepted: int = 0  # suggestions accepted whole (the rest of one, after partial accepts)
    partially_accepted: int = 0  # accept-next-word and accept-next-line steps
    accepted_chars: int = 0  # over all three kinds

    def did_show(self) -> None:
        self.shown += 1

    def did_accept(self, acceptance: Acceptance) -> None:
        if acceptance.kind == "full":
            self.accepted += 1
        else:
            self.partially_accepted += 1
        self.accepted_chars += acceptance.accepted_length

    def payload(self) -> dict[str, Any]:
        """`autan/stats` `acceptance`; `rate` is whole acceptances per suggestion shown."""
        rate = round(self.accepted / self.shown, 4) if self.shown else None
        return {"shown": self.shown, "accepted": self.accepted,
                "partially_accepted": self.partially_accepted,
                "accepted_chars": self.accepted_chars, "rate": rate}


def document_uri(params: Any) -> str | None:
    """`textDocument.uri` of a notification's params, or None when it has none."""
    doc = params.get("textDocument") if isinstance(params, dict) else None
    uri = doc.get("uri") if isinstance(doc, dict) else None
    return uri if isinstance(uri, str) and uri else None


def parse_shown(params: Any) -> tuple[str | None, str | None]:
    """(uri, problem) of an `autan/didShowCompletion`."""
    uri = document_uri(params)
    return (uri, None) if uri else (None, "expected {textDocument: {uri}}")


def parse_acceptance(params: Any) -> tuple[Acceptance | None, str | None]:
    """(acceptance, problem) of an `autan/didAcceptCompletion`; exactly one is None."""
    uri = document_uri(params)
    if uri is None:
        return None, "expected {textDocument: {uri}, kind, acceptedLength}"
    kind = params.get("kind")
    if kind not in ACCEPT_KINDS:
        return None, f"kind: expected one of {', '.join(ACCEPT_KINDS)}, got {kind!r}"
    length = params.get("acceptedLength")
    if isinstance(length, float) and length.is_integer():
        length = int(length)
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        return None, f"acceptedLength: expected a count of characters, got {length!r}"
    return Acceptance(uri, kind, length), None
