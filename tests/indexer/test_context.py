"""The context builder on the polyglot fixture: the right segments, within the budget, in a
stable order, and never a secret."""

from __future__ import annotations

import pytest

from autan.indexer.context import build_context
from autan.indexer.index import RepoIndex
from tests.indexer.fixtures import (
    POLYGLOT_HISTORY,
    SEEDED_SECRETS,
    git_init,
    make_polyglot_repo,
)


def count(text: str) -> int:
    """A stand-in tokenizer: one token per 4 characters, at least one per word."""
    return max(len(text) // 4, len(text.split()))


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> RepoIndex:
    root = make_polyglot_repo(tmp_path_factory.mktemp("ctx") / "repo")
    git_init(root, POLYGLOT_HISTORY)
    # A larger module so that cursors a few lines apart have room to move.
    lines = ["from pkg.core import add, Calculator", "from pkg.util.strings import slugify", ""]
    for i in range(60):
        lines += [f"def step_{i}(x):", f"    return add(x, {i})", ""]
    (root / "pkg" / "steps.py").write_text("\n".join(lines))
    idx, _ = RepoIndex.open(root, persist=False)
    return idx


def test_definition_used_on_the_cursor_line_is_in_context_at_2k(index: RepoIndex) -> None:
    ctx = build_context(index, "pkg/util/strings.py", 10, 11, 2048, count)
    core = [s for s in ctx.segments if s.path == "pkg/core.py"]
    assert any("def add(a: int, b: int) -> int:" in s.text for s in core), ctx.segments
    assert ctx.total_tokens <= 2048


@pytest.mark.parametrize("budget", [256, 2048, 4096, 32768, 262144])
def test_total_tokens_fit_the_budget(index: RepoIndex, budget: int) -> None:
    ctx = build_context(index, "pkg/app.py", 6, 4, budget, count)
    assert ctx.total_tokens <= budget
    assert ctx.total_tokens == ctx.prefix_tokens + ctx.suffix_tokens + sum(
        s.tokens for s in ctx.segments)


def test_large_budget_holds_most_of_the_repository(index: RepoIndex) -> None:
    ctx = build_context(index, "pkg/app.py", 6, 4, 262144, count)
    covered = {s.path for s in ctx.segments if s.kind == "file"}
    code = {p for p, r in index.records.items() if r.language is not None} - {"pkg/app.py"}
    assert len(covered & code) >= 0.8 * len(code)


def test_prefix_and_suffix_split_at_the_cursor(index: RepoIndex) -> None:
    ctx = build_context(index, "pkg/core.py", 4, 12, 4096, count)
    text = index.text_of("pkg/core.py")
    assert ctx.prefix + ctx.suffix == text
    assert ctx.prefix.endswith("    return a") and ctx.suffix.startswith(" + b")


def test_segments_are_sorted_stably_by_tier_then_path(index: RepoIndex) -> None:
    ctx = build_context(index, "pkg/steps.py", 40, 4, 4096, count)
    tiers = [s.tier for s in ctx.segments]
    assert tiers == sorted(tiers)
    for tier in set(tiers):
        keys = [(s.path, s.start_line) for s in ctx.segments if s.tier == tier]
        assert keys == sorted(keys)
    assert all(s.why and s.tokens > 0 for s in ctx.segments)


def common_prefix_tokens(a: list, b: list) -> int:
    shared = 0
    for x, y in zip(a, b, strict=False):
        if (x.path, x.start_line, x.end_line, x.text) != (y.path, y.start_line, y.end_line,
                                                          y.text):
            break
        shared += x.tokens
    return shared


@pytest.mark.parametrize("budget", [2048, 8192, 32768])
def test_nearby_cursors_share_90_percent_of_segment_tokens(index: RepoIndex,
                                                           budget: int) -> None:
    a = build_context(index, "pkg/steps.py", 60, 4, budget, count)
    b = build_context(index, "pkg/steps.py", 64, 8, budget, count)
    total = max(sum(s.tokens for s in a.segments), sum(s.tokens for s in b.segments))
    assert total > 0
    assert common_prefix_tokens(a.segments, b.segments) >= 0.9 * total


def test_no_secret_in_any_context(index: RepoIndex) -> None:
    for path in index.records:
        ctx = build_context(index, path, 3, 0, 262144, count)
        blob = ctx.prefix + ctx.suffix + "".join(s.text for s in ctx.segments)
        for secret in SEEDED_SECRETS:
            assert secret not in blob, (path, secret[:6])


def test_open_buffer_overrides_the_file_on_disk(index: RepoIndex) -> None:
    text = index.text_of("pkg/core.py") + "\ndef from_editor():\n    pass\n"
    ctx = build_context(index, "pkg/core.py", 0, 0, 4096, count,
                        open_buffers={"pkg/core.py": text})
    assert "from_editor" in ctx.suffix
    index.close_buffer("pkg/core.py")
    index.refresh(persist=False)


def test_secret_file_gets_no_context(index: RepoIndex) -> None:
    ctx = build_context(index, ".env", 0, 0, 4096, count)
    assert ctx.prefix == ctx.suffix == "" and ctx.segments == []
