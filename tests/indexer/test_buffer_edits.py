"""`RepoIndex.update_buffer`: the edits path (tree-sitter re-parses the old tree) gives the same
text and symbols as the whole-text path, over long random edit sequences; and edits that were
made to another text are not applied to this one.

Fixtures: a Python and a JavaScript module written here; edits drawn with a fixed seed from
snippets that open and close definitions, imports, strings and brackets, with non-ASCII
characters, applied one to three per update."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from autan.indexer.index import RepoIndex
from autan.indexer.parse import TextEdit

PYTHON = '''"""A module."""
import os
from pkg.core import add, Calculator


class Shape:
    def area(self) -> float:
        return 0.0


def total(values: list[int]) -> int:
    result = 0
    for value in values:
        result = add(result, value)
    return result
'''
JAVASCRIPT = '''import { add } from "./core.js";

export class Shape {
  area() {
    return 0;
  }
}

export function total(values) {
  return values.reduce((a, b) => add(a, b), 0);
}
'''
SNIPPETS = {
    "python": ["", "x", "\n", "    ", ":", "(", ")", '"', "é", "😀", "# note\n",
               "def f{n}(a):\n    return a\n", "class K{n}:\n    pass\n",
               "import os.path\n", "from pkg import thing{n}\n", "    def m{n}(self):\n"],
    "javascript": ["", "x", "\n", "  ", "{", "}", "(", ")", ";", "'", "é", "😀",
                   "// note\n", "function f{n}(a) {\n  return a;\n}\n",
                   "class K{n} {}\n", "import { thing{n} } from './util.js';\n"],
}


def position(text: str, offset: int) -> tuple[int, int]:
    """(line, column in characters), lines split at "\\n": the indexer's edit units."""
    start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset), offset - start


def random_edit(rng: random.Random, text: str, language: str, n: int
                ) -> tuple[TextEdit, str]:
    """An edit of `text` and the text it makes."""
    start = rng.randint(0, len(text))
    end = min(len(text), start + rng.choice([0, 0, 1, 3, 12, 40]))
    new = rng.choice(SNIPPETS[language]).replace("{n}", str(n))
    edit = TextEdit(position(text, start), position(text, end), new)
    return edit, text[:start] + new + text[end:]


@pytest.mark.parametrize(("path", "text", "language"), [
    ("pkg/mod.py", PYTHON, "python"), ("web/mod.js", JAVASCRIPT, "javascript")])
def test_edits_and_whole_texts_give_the_same_symbols(tmp_path: Path, path: str, text: str,
                                                     language: str) -> None:
    rng = random.Random(20240607)
    edited = RepoIndex(tmp_path / "edited")
    whole = RepoIndex(tmp_path / "whole")
    edited.update_buffer(path, text)
    for step in range(300):
        batch = []
        for _ in range(rng.randint(1, 3)):
            edit, text = random_edit(rng, text, language, step)
            batch.append(edit)
        by_edits = edited.update_buffer(path, edits=batch)
        by_text = whole.update_buffer(path, text)
        assert by_edits is not None and by_text is not None
        assert edited.buffers[path] == text, step
        assert by_edits.symbols == by_text.symbols, (step, batch)
        assert by_edits.errors == by_text.errors, step


def test_edits_to_another_text_give_way_to_the_text(tmp_path: Path) -> None:
    """Given both, the text wins when the edits do not make it (the index missed an update):
    it is parsed whole, and the edits' symbols never show."""
    index = RepoIndex(tmp_path)
    index.update_buffer("m.py", "def old():\n    pass\n")
    stale = [TextEdit((0, 4), (0, 7), "renamed_by_a_stale_edit")]
    record = index.update_buffer("m.py", "def fresh():\n    pass\n", edits=stale)
    assert record is not None and record.symbols is not None
    assert [d.name for d in record.symbols.definitions] == ["fresh"]
    assert index.buffers["m.py"] == "def fresh():\n    pass\n"
    made = [TextEdit((0, 4), (0, 9), "again")]  # fresh -> again: the edits make the text
    record = index.update_buffer("m.py", "def again():\n    pass\n", edits=made)
    assert record is not None and [d.name for d in record.symbols.definitions] == ["again"]
