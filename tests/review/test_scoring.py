"""Line scores from token log-probabilities, and the confirmation step's text rules."""

from __future__ import annotations

import random

import pytest

from autan.review.confirm import balanced, first_like, plausible_replacement, window_end
from autan.review.pipeline import level_of
from autan.review.prose import prose_lines
from autan.review.scoring import (
    WORD,
    introductions,
    line_starts,
    robust_z,
    score_lines,
    token_line,
    word_around,
)
from autan.review.types import ChangedFile

TEXT = "def f(a):\n    x = a\n\n\n    return x\n"


def test_tokens_belong_to_the_line_of_their_code_or_the_line_they_indent() -> None:
    starts = line_starts(TEXT)
    assert token_line(TEXT, starts, (0, 3)) == (0, True)  # "def"
    assert token_line(TEXT, starts, (9, 13)) == (1, False)  # "\n   ": line 1's indentation
    assert token_line(TEXT, starts, (13, 15)) == (1, True)  # " x"
    assert token_line(TEXT, starts, (19, 20)) == (1, False)  # "\n" ends line 1
    assert token_line(TEXT, starts, (20, 22)) == (3, False)  # "\n\n" ends blank lines


def test_robust_z_ignores_one_outlier_when_measuring_spread() -> None:
    z = robust_z([1.0, 1.1, 0.9, 1.0, 1.05, 0.95, 9.0])
    assert z[-1] > 10 and all(abs(v) < 2 for v in z[:-1])
    assert robust_z([2.0, 2.0, 2.0]) == [0.0, 0.0, 0.0]  # spread floored, no division by 0


def test_new_names_are_introductions_but_a_name_used_once_is_not() -> None:
    text = "def helper(x):\n    total = x\n    return totl + total\n"
    introduced = {WORD.match(text, start)[0]: start for start in introductions(text)}
    assert introduced == {"helper": 4, "x": 11, "total": 19}  # def-named, or used again
    assert "totl" not in introduced and "return" not in introduced


def test_word_around_widens_to_the_identifier_and_drops_blanks() -> None:
    text = "    value = other_name + 1\n"
    start = text.index("other")
    assert text[slice(*word_around(text, start - 1, start + 3))] == "other_name"
    plus = text.index("+")
    assert text[slice(*word_around(text, plus - 1, plus + 1))] == "+"


def fake_logprobs(text: str, odd_line: int, seed: int) -> tuple[list[tuple[int, int]],
                                                                list[float]]:
    """One token per word, surprisal about 2 nats, except on `odd_line` (8 nats)."""
    rng = random.Random(seed)
    offsets, logprobs = [], []
    for n, start in enumerate(line_starts(text)):
        line = text[start:].split("\n", 1)[0]
        at = start
        for word in line.split():
            at = text.index(word, at)
            offsets.append((at, at + len(word)))
            logprobs.append(-(8.0 if n == odd_line else 2.0 + rng.uniform(-0.3, 0.3)))
            at += len(word)
    return offsets, logprobs


def test_the_odd_changed_line_scores_highest_and_unchanged_lines_get_no_score() -> None:
    text = "".join(f"value_{i} = compute(value_{i - 1}, {i})\n" for i in range(1, 30))
    offsets, logprobs = fake_logprobs(text, odd_line=12, seed=1)
    file = ChangedFile("m.py", text, frozenset(range(5, 20)))
    scores = score_lines(file, offsets, logprobs)
    assert sorted(s.line for s in scores) == list(range(5, 20))
    best = max(scores, key=lambda s: s.score)
    assert best.line == 12 and best.score > 5
    assert text[slice(*best.peak)] in text.split("\n")[12]


def test_prose_lines_are_comments_and_docstrings_not_code_with_strings() -> None:
    text = ('def f():\n    """Doc\n    string."""\n    # a comment\n'
            '    x = "not prose"  # trailing\n    return x\n')
    assert prose_lines("m.py", text) == {1, 2, 3}
    assert prose_lines("m.unknown-language", text) == frozenset()


@pytest.mark.parametrize(("original", "text", "ok"), [
    ("handle", "values", True),
    ("x", "not x", True),
    ("n", "n + 1", True),
    ("<", "<=", True),
    ("handle", '"""', False),  # a quote left open
    ("handle", "f(a", False),  # a bracket left open
    ("handle", "   ", False),
    ("handle", "handle", False),  # no change
    ("name", ")", False),  # a word must stay a word
])
def test_plausible_replacements_are_small_balanced_edits(original: str, text: str,
                                                         ok: bool) -> None:
    assert plausible_replacement(original, text) is ok


def test_first_like_takes_as_many_pieces_as_the_original() -> None:
    assert first_like("b", " a, b)") == "a"
    assert first_like("<", " <= 3:") == "<"
    assert first_like("self.x", "self.y + 1") == "self.y"
    assert balanced("f(a[0], {1: 2})") and not balanced("f(a]")


def test_window_reaches_three_lines_past_the_span() -> None:
    text = "a\nb\nc\nd\ne\nf\n"
    assert text[: window_end(text, 0)] == "a\nb\nc\nd\n"
    assert window_end(text, text.index("e")) == len(text)


def test_levels_rise_with_the_confidence() -> None:
    assert [level_of(d, 2.0) for d in (2.0, 3.0, 6.0)] == ["note", "warning", "error"]
