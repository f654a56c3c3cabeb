from __future__ import annotations

from autan.server.postprocess.limit_scope import limit_scope
from tests.server.postprocess.helpers import apply, inline, text_of


def test_continuing_a_header_keeps_its_block_and_closing_line() -> None:
    doc = """
        export class Foo {
          private _foo: number;

          get║
        }
    """
    completion = inline("""
        ├ foo(): number {
            return this._foo;
          }

          set foo(value: number) {
            this._foo = value;
          }┤
    """)
    assert text_of(apply(limit_scope, doc, completion, "typescript")) == (
        " foo(): number {\n    return this._foo;\n  }")


def test_python_body_stops_before_the_next_definition() -> None:
    doc = "def f(x):║\n"
    completion = "\n    y = x * 2\n    return y\n\ndef g():\n    pass"
    assert text_of(apply(limit_scope, doc, completion, "python")) == (
        "\n    y = x * 2\n    return y")


def test_else_branch_continues_the_statement() -> None:
    doc = "def f(x):\n    if x:║\n"
    completion = "\n        a()\n    else:\n        b()\n    return 1\nprint()"
    assert text_of(apply(limit_scope, doc, completion, "python")) == (
        "\n        a()\n    else:\n        b()")


def test_brace_else_continues_and_closing_line_is_kept() -> None:
    doc = "function f(x) {\n  if (x) {║\n}\n"
    completion = "\n    a();\n  } else {\n    b();\n  }\n  return 1;"
    assert text_of(apply(limit_scope, doc, completion, "javascript")) == (
        "\n    a();\n  } else {\n    b();\n  }")


def test_closing_line_is_not_kept_when_the_suffix_continues_the_block() -> None:
    doc = """
        function f() {
          ║
          return 1;
        }
    """
    completion = "a();\n}\n\nfunction g() {"
    assert text_of(apply(limit_scope, doc, completion, "javascript")) == "a();"


def test_statements_at_the_same_level_continue() -> None:
    doc = "def f():\n    x = 1\n    ║\n"
    completion = "y = 2\n    z = 3\nprint(z)"
    assert text_of(apply(limit_scope, doc, completion, "python")) == "y = 2\n    z = 3"


def test_single_line_mode_and_single_lines_are_untouched() -> None:
    assert text_of(apply(limit_scope, "x = ║", "1\ny", multiline=False)) == "1\ny"
    assert text_of(apply(limit_scope, "x = ║", "1")) == "1"
    assert text_of(apply(limit_scope, "║", "\n\n")) == "\n\n"
