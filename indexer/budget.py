"""A prompt's token budget: its default, and how the code around the cursor shares it.

One place for both, so that the server's settings, every CLI command and the benchmarks start
from the same budget, and the prompt with repository context (`context.build_context`) and the
one without it (`server.completion.bounded_prompt`) cut the cursor's file by the same rule.
Nothing here imports anything of ours: the CLI reads the defaults while it builds its parser.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_SUFFIX_TOKENS = 32  # the next line or two, even at a tiny budget
MIN_PREFIX_TOKENS = 64  # the cursor's line and a few above it: without them, nothing to complete
SUFFIX_DIVISOR = 10  # the suffix may take a tenth of the budget


@dataclass(frozen=True)
class ContextDefaults:
    """The defaults that every entry point reads (server settings, `autan context`,
    `autan complete`, `autan bench lsp`), so that they agree."""

    budget: int = 4096  # tokens of the whole prompt: prefix, suffix and repository context


CONTEXT_DEFAULTS = ContextDefaults()


@dataclass(frozen=True)
class BudgetSplit:
    """The cursor file's shares of a budget: `suffix` tokens at most after the cursor, and a
    pool of `prefix_and_suffix` tokens from which the prefix gets what the suffix leaves."""

    budget: int
    suffix: int
    prefix_and_suffix: int

    def prefix(self, suffix_tokens: int) -> int:
        """The prefix's share, once the suffix is cut and took `suffix_tokens`."""
        return max(MIN_PREFIX_TOKENS, self.prefix_and_suffix - suffix_tokens)


def split_budget(budget: int, repository_context: bool) -> BudgetSplit:
    """How the code before and after the cursor share `budget`.

    The suffix gets a tenth (at least MIN_SUFFIX_TOKENS): what follows the cursor matters
    mostly where it joins the completion, and a tenth of the default budget (~40 lines)
    holds the rest of the enclosing block. The prefix matters most, the lines just above the
    cursor above all, so it gets everything else that the cursor's file may take: half of the
    budget with repository context (the other half goes to definitions and related files,
    which beat the file's own distant lines), the whole budget without it (nothing else
    competes, so a cut would only waste room). At least MIN_PREFIX_TOKENS either way.
    """
    suffix = max(MIN_SUFFIX_TOKENS, budget // SUFFIX_DIVISOR)
    return BudgetSplit(budget, suffix, budget // 2 if repository_context else budget)
