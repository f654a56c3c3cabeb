from __future__ import annotations

from autan.server.postprocess.balance_brackets import balance_brackets
from tests.server.postprocess.helpers import apply, inline


def result(doc: str, completion: str, language: str | None = "python") -> tuple[str, int]:
    item = apply(balance_brackets, doc, completion, language)
    assert item is not None
    return item.text, item.replace_suffix_chars


def test_closers_typed_again_replace_the_ones_after_the_cursor() -> None:
    assert result("print(║)", "x)") == ("x)", 1)
    assert result('print("hel║")', 'lo")') == ('lo")', 2)
    assert result("print(len(║))", "x))") == ("x))", 2)


def test_closing_what_the_suffix_leaves_open_is_fine() -> None:
    assert result("print(len(║)", "x))") == ("x))", 1)
    assert result("print(║", "x)") == ("x)", 0)


def test_multiline_completion_takes_over_the_closers() -> None:
    doc = "stream.on('data', (data) => {║})\n"
    completion = inline("""
        ├
          console.log(data.toString());
        });┤
    """)
    assert result(doc, completion, "javascript") == (completion, 2)


def test_escaping_the_block_is_cut() -> None:
    doc = "function f() {\n  return g(║\n}\n"
    assert result(doc, "1));\n}", "javascript") == ("1)", 0)
    assert result("x = [1, ║]", "2)]") == ("2", 0)  # wrong kind of bracket


def test_a_duplicate_not_at_the_cursor_keeps_the_suffix_closer() -> None:
    assert result("foo(a, ║, b)", "x)") == ("x", 0)


def test_punctuation_retyped_after_the_closers_is_taken_over() -> None:
    assert result("const a = {║};", "\n  b: 1,\n};", "typescript") == ("\n  b: 1,\n};", 2)
    assert result("f(║);", "x);", "javascript") == ("x);", 2)


def test_closers_on_later_lines_are_left_to_the_indentation_filters() -> None:
    # The suffix's `}` closes the function, not the `if` the completion closes.
    doc = "func f() error {\n\tif err != nil {║\n\treturn nil\n}\n"
    assert result(doc, "\n\t\treturn err\n\t}", "go") == ("\n\t\treturn err\n\t}", 0)


def test_a_string_closed_further_down_is_not_closed_again() -> None:
    doc = 'def area(r):\n    """Return the ║\n    """\n'
    assert result(doc, 'area of a circle."""') == ("area of a circle.", 0)


def test_brackets_in_strings_and_comments_do_not_count() -> None:
    assert result("print(║)", '"(", x)') == ('"(", x)', 1)
    assert result("x = 1  # (║", "note)") == ("note)", 0)


def test_rust_lifetimes_are_not_quotes() -> None:
    assert result("fn f<'a>(x: &'a str║)", ") -> &'a str {", "rust") == (
        ") -> &'a str {", 1)


def test_loose_languages_do_not_cut_at_a_lone_closer() -> None:
    doc = 'case "$1" in\n  ║\nesac\n'
    assert result(doc, "start)\n    run\n    ;;", "bash") == ("start)\n    run\n    ;;", 0)
    assert result("1. ║", "item a) and b)", None) == ("item a) and b)", 0)


def test_no_brackets_no_change() -> None:
    assert result("x = ║", "1") == ("1", 0)
    assert result("║", "") == ("", 0)
