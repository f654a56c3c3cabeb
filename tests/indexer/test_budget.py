"""The one rule that shares a budget between the code before and after the cursor: pinned for
both prompts, with repository context (the context builder) and without it (the server's
bounded prompt, tested in tests/lsp/test_budget_split.py)."""

from __future__ import annotations

from pathlib import Path

from autan.indexer.budget import CONTEXT_DEFAULTS, split_budget
from autan.indexer.context import build_context
from autan.indexer.index import RepoIndex


def count(text: str) -> int:
    return len(text) // 4


def test_with_repository_context_the_file_gets_half_of_the_budget() -> None:
    split = split_budget(4096, repository_context=True)
    assert split.suffix == 409
    assert split.prefix(409) == 2048 - 409 and split.prefix(10) == 2048 - 10


def test_without_repository_context_the_prefix_takes_all_the_suffix_leaves() -> None:
    split = split_budget(4096, repository_context=False)
    assert split.suffix == 409
    assert split.prefix(409) == 4096 - 409 and split.prefix(0) == 4096


def test_tiny_budgets_keep_a_line_of_suffix_and_a_few_of_prefix() -> None:
    for repository_context in (True, False):
        split = split_budget(40, repository_context)
        assert split.suffix == 32 and split.prefix(32) == 64


def test_the_default_budget() -> None:
    assert CONTEXT_DEFAULTS.budget == 4096


def test_build_context_cuts_the_file_by_the_split(tmp_path: Path) -> None:
    """A file far larger than the budget: the suffix fills its share, and the prefix what
    the split leaves it (cuts at line ends, from an estimate, lose a little of each)."""
    body = "".join(f"value_{i:05d} = compute({i}, factor=3)\n" for i in range(4000))
    (tmp_path / "big.py").write_text(body)
    index, _ = RepoIndex.open(tmp_path, persist=False)
    ctx = build_context(index, "big.py", 2000, 0, 4096, count)
    split = split_budget(4096, repository_context=True)
    assert 0.9 * split.suffix <= ctx.suffix_tokens <= split.suffix
    assert 0.9 * split.prefix(ctx.suffix_tokens) <= ctx.prefix_tokens
    assert ctx.prefix_tokens <= split.prefix(ctx.suffix_tokens)
