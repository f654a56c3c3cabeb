"""What keeps consecutive prompts cacheable and bounded, as pure functions: the anchored
prefix window, the bounded prompt of a document without repository context, the type-ahead
key of a long prefix, the line-start snapshot boundary, cleaning undecodable text, and the
settings merge. No server.

Fixtures: generated text (numbered lines); a character-count tokenizer stands in for the
model's."""

from __future__ import annotations

from autan.server.backend import Prompt, line_start_boundary
from autan.server.completion import (
    TYPEAHEAD_WINDOW,
    anchored_prefix,
    bounded_prompt,
    clean_text,
    offset_of,
    typeahead_key,
)
from autan.server.lsp import merge_settings, pushed_settings

TEXT = "".join(f"line {i:05d} = {i:05d}\n" for i in range(5000))  # 19 characters a line


def count(text: str) -> int:
    return len(text) // 4


def window_start(prefix: str, budget: int) -> int:
    prompt = bounded_prompt(prefix, "", budget, count, "x.py")
    step = max(256, budget // 4)
    return len(prefix) - len(anchored_prefix(prompt.prefix, len(prefix) - len(prompt.prefix),
                                             step))


def test_the_anchored_window_start_stays_put_while_typing() -> None:
    """Typing 200 characters at the end of a long file moves a plain budget cut ~12 times
    (once per line); the anchored cut at most once."""
    prefix = TEXT[:60_000]
    starts = {window_start(prefix + "x" * n, 2048) for n in range(0, 200, 5)}
    assert len(starts) <= 2
    for start in starts:
        assert prefix[start - 1] == "\n"  # still at a line start
    plain = {len(prefix) + n - len(bounded_prompt(prefix + "x" * n, "", 2048, count,
                                                  "x.py").prefix) for n in range(0, 200, 5)}
    assert len(plain) > len(starts)


def test_anchoring_keeps_the_start_of_the_file_and_costs_at_most_a_step() -> None:
    assert anchored_prefix("abc\ndef", 0, 256) == "abc\ndef"
    window = TEXT[1000:9000]
    cut = anchored_prefix(window, 1000, 1024)
    assert window.endswith(cut) and len(window) - len(cut) <= 1024 + 19
    assert (1000 + len(window) - len(cut)) >= 1024


def test_a_bounded_prompt_fits_the_budget_without_reading_10_mb() -> None:
    huge = "x = 1\n" * 2_000_000
    calls: list[int] = []

    def counting(text: str) -> int:
        calls.append(len(text))
        return len(text) // 4

    prompt = bounded_prompt(huge, huge, 1000, counting, "big.py")
    assert count(prompt.prefix) <= 1000 and count(prompt.suffix) <= 100
    assert max(calls) <= 1000 * 16  # never the whole document
    assert huge.endswith(prompt.prefix) and huge.startswith(prompt.suffix)


def test_typeahead_keys_grow_by_exactly_the_typed_text() -> None:
    prefix = TEXT[:50_000]
    a, b = typeahead_key(prefix), typeahead_key(prefix + "abc")
    assert len(a) <= TYPEAHEAD_WINDOW + 4096 + 16
    assert b.startswith(a) and b[len(a):] == "abc"
    assert typeahead_key("short") == "short"


def test_line_start_boundary_after_enter_uses_the_previous_line() -> None:
    ids = list  # a "tokenizer" of one id per character makes shared prefixes exact

    def build(prefix: str) -> object:
        return type("P", (), {"ids": ids(f"<{prefix}|suffix>")})

    typing = Prompt("a = 1\nb = 2\nc = ", "")
    # one id short of the shared run: the last shared id may merge with what follows
    assert line_start_boundary(build, typing, build(typing.prefix)) == len("<a = 1\nb = 2\n") - 1
    entered = Prompt("a = 1\nb = 2\n", "")
    assert line_start_boundary(build, entered, build(entered.prefix)) == len("<a = 1\n") - 1
    assert line_start_boundary(build, Prompt("", ""), build("")) is None


def test_clean_text_and_offsets() -> None:
    assert clean_text("caf\udce9") == "caf\ufffd" and clean_text("plain") == "plain"
    assert offset_of("ab\ncd\n", 1, 1) == 4 and offset_of("ab\ncd", 5, 9) == 5
    assert offset_of("ab\ncd", 0, 9) == 2


def test_settings_merge_and_pushes() -> None:
    base = {"model": {"path": "/m"}, "completion": {"maxTokens": 16, "debounceMs": 0}}
    merged = merge_settings(base, {"completion": {"maxTokens": 7}, "languages": ["go"]})
    assert merged == {"model": {"path": "/m"}, "completion": {"maxTokens": 7, "debounceMs": 0},
                      "languages": ["go"]}
    assert merge_settings(base, {}) == base and merge_settings(base, None) == base
    assert pushed_settings({"autan": {"x": 1}}) == {"x": 1}
    assert pushed_settings({"x": 1}) == {"x": 1}
    assert pushed_settings(None) is None and pushed_settings({}) is None
