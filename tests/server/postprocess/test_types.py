"""The context: windows, line split, line endings, language and indentation detection."""

from __future__ import annotations

from autan.server.postprocess.types import (
    PREFIX_WINDOW,
    SUFFIX_WINDOW,
    Completion,
    CompletionContext,
    detect_indent_unit,
)


def test_splits_the_cursor_line() -> None:
    ctx = CompletionContext("a = 1\nb = foo(", ")\nc = 3\n")
    assert ctx.line_prefix == "b = foo("
    assert ctx.line_suffix == ")"
    assert ctx.lines_above == ["a = 1"]
    assert ctx.lines_below == ["c = 3", ""]


def test_empty_prefix_and_suffix() -> None:
    ctx = CompletionContext("", "")
    assert (ctx.line_prefix, ctx.line_suffix, ctx.lines_above, ctx.lines_below) == (
        "", "", [], [])
    assert ctx.indent_unit is None and ctx.language is None


def test_crlf_is_normalised_and_remembered() -> None:
    ctx = CompletionContext("a\r\nb = ", "1\r\nc\r\n")
    assert ctx.eol == "\r\n"
    assert "\r" not in ctx.prefix + ctx.suffix
    assert ctx.line_prefix == "b = " and ctx.line_suffix == "1"


def test_huge_suffix_is_clipped_at_a_line_end() -> None:
    suffix = "x = 1\n" * 2_000_000  # 12 MB
    ctx = CompletionContext("def f():\n    ", suffix)
    assert len(ctx.suffix) <= SUFFIX_WINDOW
    assert ctx.suffix.endswith("x = 1")


def test_huge_prefix_is_clipped_at_a_line_start() -> None:
    ctx = CompletionContext("y = 2\n" * 100_000 + "z = ", "")
    assert len(ctx.prefix) <= PREFIX_WINDOW
    assert ctx.prefix.startswith("y = 2") and ctx.line_prefix == "z = "


def test_one_huge_line_keeps_the_part_near_the_cursor() -> None:
    ctx = CompletionContext("a" * 10**6, "b" * 10**6)
    assert ctx.line_prefix == "a" * PREFIX_WINDOW
    assert ctx.line_suffix == "b" * SUFFIX_WINDOW


def test_language_from_editor_id_or_path() -> None:
    assert CompletionContext("", "", language="typescriptreact").language == "tsx"
    assert CompletionContext("", "", language="Python").language == "python"
    assert CompletionContext("", "", language="cobol").language is None
    assert CompletionContext("", "", path="src/main.rs").language == "rust"
    assert CompletionContext("", "", path="notes.txt").language is None


def test_indent_unit_detection() -> None:
    assert detect_indent_unit(["def f():", "  if x:", "    y", "  z"]) == "  "
    assert detect_indent_unit(["def f():", "    if x:", "        y"]) == "    "
    assert detect_indent_unit(["func f() {", "\tx := 1", "\tif x {", "\t\ty()"]) == "\t"
    assert detect_indent_unit(["/**", " * doc", " */", "x = 1"]) is None
    assert detect_indent_unit([]) is None


def test_editor_indent_unit_wins_and_go_defaults_to_tabs() -> None:
    assert CompletionContext("def f():\n  ", "", indent_unit="    ").indent_unit == "    "
    assert CompletionContext("package main\n", "", language="go").indent_unit == "\t"
    assert CompletionContext("func f() {\n\t", "\n}", language="go").indent_unit == "\t"


def test_completion_with_text_keeps_fields_and_names_the_cutter() -> None:
    item = Completion("abc", replace_suffix_chars=1, stop_reason="length")
    assert item.with_text("ab") == Completion("ab", 1, "length")
    assert item.with_text("a", "limit_scope").stop_reason == "limit_scope"


def test_cached_computes_once() -> None:
    ctx = CompletionContext("", "")
    calls: list[int] = []
    assert ctx.cached("k", lambda: calls.append(1) or 7) == 7
    assert ctx.cached("k", lambda: calls.append(1) or 8) == 7
    assert calls == [1]
