"""Build filter inputs from marked-up text, as Tabby's postprocess tests do.

`║` marks the cursor in a document (prefix║suffix); `├` and `┤` mark the start and end of
a completion, so that its leading and trailing whitespace is visible in the test. Both are
dedented first, so a test can indent its snippets like the code around them.
"""

from __future__ import annotations

import textwrap
from typing import Any

from autan.server.postprocess import Filter
from autan.server.postprocess.types import Completion, CompletionContext

CURSOR = "║"
START, END = "├", "┤"


def _dedent(text: str) -> str:
    """The text without its common indentation and without one leading newline."""
    return textwrap.dedent(text[1:] if text.startswith("\n") else text)


def context(doc: str, language: str | None = None, **options: Any) -> CompletionContext:
    """A context from a document with exactly one `║` at the cursor."""
    text = _dedent(doc)
    assert text.count(CURSOR) == 1, "mark the cursor with exactly one ║"
    prefix, suffix = text.split(CURSOR)
    return CompletionContext(prefix, suffix, language=language, **options)


def inline(text: str) -> str:
    """The completion between `├` and `┤` (after dedenting the whole snippet)."""
    text = _dedent(text)
    return text[text.index(START) + 1: text.rindex(END)]


def apply(step: Filter, doc: str, completion: str, language: str | None = None,
          **options: Any) -> Completion | None:
    """Run one filter on a marked-up document and completion."""
    return step(Completion(completion), context(doc, language, **options))


def text_of(result: Completion | None) -> str | None:
    """The completion's text, or None when the filter dropped it."""
    return None if result is None else result.text
