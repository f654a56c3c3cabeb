"""The bracket scanner that `balance_brackets` and `decide_multiline` rely on."""

from __future__ import annotations

from autan.server.postprocess._lexer import lexicon_for, scan


def test_brackets_in_strings_and_comments_are_skipped() -> None:
    assert scan('print("(", x', lexicon_for("python")).state.stack == ["("]
    assert scan("f(/* ( */ x", lexicon_for("c")).state.stack == ["("]
    assert scan("f(x) // (", lexicon_for("c")).state.stack == []
    assert scan('x = "a\\"(" + (', lexicon_for("c")).state.stack == ["("]


def test_the_text_may_end_inside_a_string_or_comment() -> None:
    assert scan('f("abc', lexicon_for("python")).state.string == '"'
    assert scan('"""Doc (', lexicon_for("python")).state.string == '"""'
    assert scan("x  # (", lexicon_for("python")).state.comment == "\n"
    assert scan("/* a", lexicon_for("go")).state.comment == "*/"


def test_one_line_strings_end_at_the_newline() -> None:
    assert scan("it's (\nf(", lexicon_for("ruby")).state == scan("f(", lexicon_for("ruby")).state


def test_closes_of_what_was_open_before_are_reported() -> None:
    python = lexicon_for("python")
    start = scan('f(g("ab', python).state
    result = scan('c"), 1) + x', python, start)
    assert [token for _, token in result.outer_closes] == ['"', ")", ")"]
    assert result.escape is None and result.state.stack == []
    assert scan("a)]", python).escape == 1


def test_rust_lifetimes_and_chars() -> None:
    rust = lexicon_for("rust")
    assert scan("fn f<'a>(x: &'a str", rust).state.stack == ["("]
    assert scan("let c = '('; f(", rust).state.stack == ["("]
