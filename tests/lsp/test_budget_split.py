"""The server's prompt without repository context cuts the document by the indexer's budget
split (`autan.indexer.budget`), so its prefix takes all that the suffix leaves. No server.

Fixture: generated lines of ~40 characters; one token per four characters."""

from __future__ import annotations

from autan.indexer.budget import split_budget
from autan.server.completion import bounded_prompt

TEXT = "".join(f"value_{i:05d} = compute({i}, factor=3)\n" for i in range(4000))


def count(text: str) -> int:
    return len(text) // 4


def test_the_bounded_prompt_gives_the_prefix_what_the_suffix_leaves() -> None:
    middle = len(TEXT) // 2
    prompt = bounded_prompt(TEXT[:middle], TEXT[middle:], 4096, count, "big.py")
    split = split_budget(4096, repository_context=False)
    suffix_tokens = count(prompt.suffix)
    assert 0.9 * split.suffix <= suffix_tokens <= split.suffix
    assert 0.9 * split.prefix(suffix_tokens) <= count(prompt.prefix)
    assert count(prompt.prefix) <= split.prefix(suffix_tokens)
    # More than the half that the prompt with repository context gives the file.
    assert count(prompt.prefix) + suffix_tokens > 4096 // 2
