"""Each rule of `decide_multiline`, with and without a grammar."""

from __future__ import annotations

import pytest

from autan.server.postprocess import wants_multiline
from autan.server.postprocess.decide_multiline import decide_multiline
from autan.server.postprocess.types import Completion
from tests.server.postprocess.helpers import context


def decide(doc: str, language: str | None) -> bool | None:
    ctx = context(doc, language)
    decide_multiline(Completion("x"), ctx)
    return ctx.multiline


MULTI = [
    ("python", "def f(x):║\n"),
    ("python", "def f(x):\n    ║\n"),
    ("python", "class A:\n    def f(self):\n        x = 1\n        ║\n        return x\n"),
    ("python", "if x:\n    pass\nelse:║\n"),
    ("python", "for i in range(10):║\n    pass\n"),
    ("javascript", "function log(obj) {║\n}\n"),
    ("javascript", "stream.on('data', (data) => {║})\n"),
    ("typescript", "export class Foo {\n  get║\n}\n"),
    ("typescript", "describe('x', () => {\n  ║\n});\n"),
    ("go", "func main() {\n\t║\n}\n"),
    ("rust", "fn main() {║}\n"),
    ("java", "switch (x) {\n  case 1:║\n}\n"),
    ("ruby", "def foo║\nend\n"),
    ("lua", "function f()\n  ║\nend\n"),
    ("c", "int main()║\n{\n}\n"),
    (None, "def f(x):║\n"),
    (None, "if (x) {║\n}\n"),
]

SINGLE = [
    ("python", "print(║)\n"),
    ("python", "x = foo(a, ║\n"),
    ("python", "foo(a,\n    ║\n)\n"),
    ("python", "print('hel║')\n"),
    ("python", 'def f():\n    """Doc ║\n    """\n'),
    ("python", "x = 1  # note ║\n"),
    ("python", "x = ║\n"),
    ("python", "x = a +║\n"),
    ("python", "d = {'a':║}\n"),
    ("python", "if x ║ y:\n"),
    ("javascript", "assert(║, 'a is not b');\n"),
    ("javascript", "const a = [\n  1,\n  ║\n];\n"),
    ("typescript", "const f = (x: number) =>║\n"),
    ("rust", "fn main() {\n    let x = vec![1, ║];\n}\n"),
    ("go", "x := foo(\n\t1,\n\t║\n)\n"),
    ("c", "/* a comment ║ */\n"),
    (None, "foo(║)\n"),
]


@pytest.mark.parametrize(("language", "doc"), MULTI)
def test_block_positions_are_multiline(language: str | None, doc: str) -> None:
    assert decide(doc, language) is True


@pytest.mark.parametrize(("language", "doc"), SINGLE)
def test_expression_positions_are_single_line(language: str | None, doc: str) -> None:
    assert decide(doc, language) is False


def test_a_preset_decision_is_kept() -> None:
    ctx = context("def f():║\n", "python", multiline=False)
    decide_multiline(Completion("x"), ctx)
    assert ctx.multiline is False


def test_the_completion_is_not_changed() -> None:
    item = Completion("anything")
    assert decide_multiline(item, context("x = ║", "python")) is item


@pytest.mark.parametrize(("language", "doc", "expected"),
                         [(lang, doc, True) for lang, doc in MULTI]
                         + [(lang, doc, False) for lang, doc in SINGLE])
def test_wants_multiline_decides_without_touching_the_context(
        language: str | None, doc: str, expected: bool) -> None:
    ctx = context(doc, language)
    assert wants_multiline(ctx) is expected
    assert ctx.multiline is None


def test_wants_multiline_ignores_a_preset_that_the_filter_keeps() -> None:
    ctx = context("def f():║\n", "python", multiline=False)
    assert wants_multiline(ctx) is True
    assert decide_multiline(Completion("x"), ctx).text == "x" and ctx.multiline is False
