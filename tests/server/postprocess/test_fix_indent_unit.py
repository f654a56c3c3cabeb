from __future__ import annotations

from autan.server.postprocess.fix_indent_unit import fix_indent_unit
from tests.server.postprocess.helpers import apply, inline, text_of

TS = """
class A {
  run() {║
  }
}
"""


def test_four_space_steps_become_two_in_a_two_space_file() -> None:
    completion = inline("""
        ├
              if (this.ready) {
                  this.go();
              }
          ┤
    """)
    assert text_of(apply(fix_indent_unit, TS, completion, "typescript")) == (
        "\n    if (this.ready) {\n      this.go();\n    }\n  ")


def test_one_step_after_a_block_opener_is_one_level() -> None:
    doc = "def f():\n  x = 1\n\ndef g():║\n"
    assert text_of(apply(fix_indent_unit, doc, "\n    return 1", "python")) == "\n  return 1"


def test_one_ambiguous_step_is_left_alone() -> None:
    doc = "def f():\n    x = foo(║\n"
    completion = "\n        a,\n        b)"  # a hanging indent, not two levels
    assert text_of(apply(fix_indent_unit, doc, completion, "python")) == completion


def test_matching_unit_tabs_and_single_lines_are_untouched() -> None:
    assert text_of(apply(fix_indent_unit, TS, "\n    x();", "typescript")) == "\n    x();"
    assert text_of(apply(fix_indent_unit, "\tx║", "\n\t\ty", "go")) == "\n\t\ty"
    assert text_of(apply(fix_indent_unit, TS, "x", "typescript")) == "x"
