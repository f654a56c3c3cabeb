from __future__ import annotations

from autan.server.postprocess.fix_indent_style import fix_indent_style
from tests.server.postprocess.helpers import apply, text_of

GO = "func main() {\n\tx := 1\n\t║\n}\n"


def test_spaces_become_tabs_in_a_tab_file() -> None:
    completion = "if x > 0 {\n        fmt.Println(x)\n    }"
    assert text_of(apply(fix_indent_style, GO, completion, "go")) == (
        "if x > 0 {\n\t\tfmt.Println(x)\n\t}")


def test_two_space_model_in_a_tab_file() -> None:
    completion = "if x > 0 {\n    fmt.Println(x)\n  }"
    assert text_of(apply(fix_indent_style, GO, completion, "go")) == (
        "if x > 0 {\n\t\tfmt.Println(x)\n\t}")


def test_tabs_become_the_space_unit_in_a_space_file() -> None:
    doc = "def f():\n    x = 1\n    ║\n"
    completion = "if x:\n\t\treturn x\n\treturn 0"
    assert text_of(apply(fix_indent_style, doc, completion, "python")) == (
        "if x:\n        return x\n    return 0")


def test_matching_style_and_first_line_are_untouched() -> None:
    assert text_of(apply(fix_indent_style, GO, "y := 2\n\treturn", "go")) == "y := 2\n\treturn"
    assert text_of(apply(fix_indent_style, GO, "    y := 2", "go")) == "    y := 2"


def test_unknown_unit_or_unguessable_width_is_untouched() -> None:
    assert text_of(apply(fix_indent_style, "║", "a\n\tb")) == "a\n\tb"
    odd = "if x {\n     y()\n}"  # five spaces: no width puts it near the cursor's level
    assert text_of(apply(fix_indent_style, GO, odd, "go")) == odd
