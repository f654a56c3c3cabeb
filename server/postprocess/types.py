"""The two values every post-processing filter sees: the completion and the cursor's context.

A filter is `(item: Completion, ctx: CompletionContext) -> Completion | None`; None drops
the suggestion. `Completion` is immutable, so a filter that changes nothing returns its input
and a filter that cuts returns a copy (`with_text`). `CompletionContext` is built once per
request and shared by every completion of that request; it is mutable only so that
`decide_multiline` can record its decision (`multiline`) and so that expensive derived values
(a bracket scan, a tree-sitter parse) are computed once (`memo`).

Bounded windows: the context keeps at most `PREFIX_WINDOW` characters before the cursor and
`SUFFIX_WINDOW` after it, cut at line boundaries. A filter therefore never looks at a 10 MB
suffix, whatever the caller passes, and post-processing costs the same on every keystroke.

Line endings: the windows are stored with "\n" only (`eol` remembers whether the file used
"\r\n"); `normalize_newlines` does the same to the completion and `restore_newlines` converts
it back at the end, so no other filter has to think about "\r".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from autan.indexer.languages import LANGUAGES, language_for

PREFIX_WINDOW = 16_000
SUFFIX_WINDOW = 8_000
_DETECT_LINES = 400  # lines on each side of the cursor used to detect the indentation unit

# Editors name some languages differently from the grammar table in autan.indexer.languages.
_LSP_LANGUAGE_IDS = {
    "typescriptreact": "tsx",
    "javascriptreact": "javascript",
    "shellscript": "bash",
    "sh": "bash",
    "csharp": "c_sharp",
    "c++": "cpp",
    "py": "python",
}

# Where the file shows no indentation, its language's formatter decides (gofmt: tabs).
_DEFAULT_UNITS = {"go": "\t"}

T = TypeVar("T")


@dataclass(frozen=True)
class Completion:
    """One suggestion as the model wrote it, then as the filters left it.

    `replace_suffix_chars` counts characters after the cursor, on the cursor's line, that the
    suggestion replaces: when the model re-types the `)` or `"` that already follow the cursor,
    accepting it must overwrite them rather than insert a second copy.
    `stop_reason` says why the text ends where it does: the engine's finish reason ("stop",
    "length", ...) or the name of the last filter that cut it, which makes a surprising
    suggestion explainable from the logs.
    """

    text: str
    replace_suffix_chars: int = 0
    stop_reason: str | None = None

    def with_text(self, text: str, stop_reason: str | None = None) -> Completion:
        """A copy with new text; `stop_reason` names the filter when it cut the text."""
        return dataclasses.replace(self, text=text, stop_reason=stop_reason or self.stop_reason)


@dataclass
class CompletionContext:
    """Where the cursor is: the text around it and what we know about the file.

    `prefix` and `suffix` are the bounded, "\n"-only windows described in the module
    docstring; `line_prefix` and `line_suffix` are the cursor's line split at the cursor.
    `language` is a grammar name of `autan.indexer.languages` (an editor's language id such as
    "typescriptreact" is mapped; a missing one is guessed from `path`), or None for unknown
    files, for which every filter falls back to language-neutral text rules.
    `indent_unit` is "\t" or a run of spaces; pass the editor's setting when known, otherwise
    it is detected from the windows (None when the file has no indented lines).
    `multiline` is None until `decide_multiline` runs; a caller may preset it (an editor that
    asked for a single line) and the decider then leaves it alone.
    """

    prefix: str
    suffix: str
    language: str | None = None
    path: str = ""
    indent_unit: str | None = None
    multiline: bool | None = None
    eol: str = field(init=False, default="\n")
    line_prefix: str = field(init=False, default="")
    line_suffix: str = field(init=False, default="")
    memo: dict[str, Any] = field(init=False, default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Clip and normalise the windows once, so no filter can read past them."""
        self.eol = "\r\n" if "\r\n" in self.prefix[-PREFIX_WINDOW:] + self.suffix[
            :SUFFIX_WINDOW] else "\n"
        self.prefix = _lf(_clip_prefix(self.prefix))
        self.suffix = _lf(_clip_suffix(self.suffix))
        self.line_prefix = self.prefix[self.prefix.rfind("\n") + 1:]
        end = self.suffix.find("\n")
        self.line_suffix = self.suffix if end < 0 else self.suffix[:end]
        self.language = _normalize_language(self.language, self.path)
        if self.indent_unit is None:
            self.indent_unit = self._detect_indent_unit()

    def _detect_indent_unit(self) -> str | None:
        """The unit seen in the lines around the cursor, else the language's convention.

        A whitespace-only cursor line counts as indented code: it is what the editor
        auto-indented for the line about to be written, the best evidence there is.
        """
        cursor_line = self.line_prefix + self.line_suffix
        if cursor_line and not cursor_line.strip():
            cursor_line += "x"
        lines = self.lines_above[-_DETECT_LINES:] + [cursor_line] + self.lines_below[
            :_DETECT_LINES]
        return detect_indent_unit(lines) or _DEFAULT_UNITS.get(self.language or "")

    @cached_property
    def lines_above(self) -> list[str]:
        """The whole lines of the prefix window before the cursor's line, in order."""
        return self.prefix.split("\n")[:-1]

    @cached_property
    def lines_below(self) -> list[str]:
        """The whole lines of the suffix window after the cursor's line, in order."""
        return self.suffix.split("\n")[1:]

    @property
    def cursor_indent(self) -> str:
        """The leading whitespace of the cursor's line (its block's indentation)."""
        return _leading_ws(self.line_prefix + self.line_suffix)

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """`compute()` once per context: filters share parses and scans through this."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


def _lf(text: str) -> str:
    """The text with "\r\n" and lone "\r" line endings made "\n"."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def _clip_prefix(prefix: str) -> str:
    """The last PREFIX_WINDOW characters, starting at a line start when it was cut."""
    if len(prefix) <= PREFIX_WINDOW:
        return prefix
    window = prefix[-PREFIX_WINDOW:]
    start = window.find("\n")
    return window[start + 1:] if start >= 0 else window


def _clip_suffix(suffix: str) -> str:
    """The first SUFFIX_WINDOW characters, ending at a line end when it was cut."""
    if len(suffix) <= SUFFIX_WINDOW:
        return suffix
    window = suffix[:SUFFIX_WINDOW]
    end = window.rfind("\n")
    return window[:end] if end >= 0 else window


def _leading_ws(line: str) -> str:
    """The spaces and tabs a line starts with."""
    return line[: len(line) - len(line.lstrip(" \t"))]


def _normalize_language(language: str | None, path: str) -> str | None:
    """A grammar name from an editor's language id, or from the file name when none given."""
    if language:
        name = _LSP_LANGUAGE_IDS.get(language.lower(), language.lower())
        return name if name in LANGUAGES else None
    try:
        return language_for(path) if path else None
    except Exception:  # a malformed path must not break completion
        return None


_SPACE_UNITS = (2, 4, 8, 3)


def detect_indent_unit(lines: list[str]) -> str | None:
    """The file's indentation unit, guessed the way editors do.

    Tabs win when more lines start with a tab than with spaces. Otherwise the unit is the
    most common increase of indentation between consecutive non-blank lines (2, 4, 8 or 3
    spaces); one-space steps are ignored because they come from ` * ` comment continuations.
    """
    tabs = spaces = 0
    steps: dict[int, int] = {}
    previous = 0
    for line in lines:
        if not line.strip():
            continue
        indent = _leading_ws(line)
        tabs += indent.startswith("\t")
        spaces += indent.startswith(" ")
        width = len(indent) if "\t" not in indent else -1
        if width > previous >= 0 and (width - previous) in _SPACE_UNITS:
            steps[width - previous] = steps.get(width - previous, 0) + 1
        previous = width
    if tabs > spaces:
        return "\t"
    if not steps:
        return None
    return " " * max(steps, key=lambda step: (steps[step], -step))

