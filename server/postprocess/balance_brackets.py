"""Balance the completion's closing brackets and quotes against the suffix.

The bracket scanner (`_lexer`) knows what is open at the cursor and what the suffix closes.
A closing bracket or quote in the completion either closes something the completion opened
(fine), something open at the cursor (see below), or nothing at all: then the completion
has escaped its block (or closed the wrong kind of bracket) and is cut before that closer.
Where closers may stand alone (shell `case` patterns) or the language is unknown, that cut
is not made.

When the completion closes something the suffix closes too, one of the two closers is a
duplicate. If the suffix's copies lead the rest of the cursor's line (`foo(║)` completed
with `x)`), the completion takes them over: `replace_suffix_chars` says how many characters
after the cursor it replaces, as Tabby's replace range does (punctuation the completion
also re-typed after them, such as the `;` of `});`, is taken over too). Otherwise the
suffix keeps its closer and the completion is cut before its own.

Only closers on the cursor's line count as the suffix's: a `}` further down may close an
outer block (the user has not typed the inner `}` yet), which counting cannot tell apart;
`limit_scope` and `stop_at_suffix` judge those lines by indentation. A string open at the
cursor is the exception: its closing quote is the suffix's wherever it is.
"""

from __future__ import annotations

from autan.server.postprocess._lexer import lexicon_for, scan, scan_prefix, scan_suffix
from autan.server.postprocess.types import Completion, CompletionContext

_CLOSER_RUN = frozenset(")]}\"'` \t")
_QUOTES = frozenset({'"', "'", "`", '"""', "'''"})


def balance_brackets(item: Completion, ctx: CompletionContext) -> Completion:
    """The completion cut where it escapes, or made to replace the closers it repeats."""
    lexicon = lexicon_for(ctx.language)
    before = scan_prefix(ctx)
    if before.state.comment is not None:
        return item
    result = scan(item.text, lexicon, before.state)
    closes = result.outer_closes
    if result.escape is not None and lexicon.strict_brackets:
        item = item.with_text(item.text[: result.escape].rstrip(), "balance_brackets")
        closes = [close for close in closes if close[0] < result.escape]
    theirs = _suffix_closes(ctx)
    duplicates = min(len(closes), len(theirs))
    if duplicates == 0 or item.replace_suffix_chars:
        return item
    offset, token = theirs[duplicates - 1]
    end = offset + len(token)
    if end <= len(ctx.line_suffix) and _CLOSER_RUN.issuperset(ctx.line_suffix[:end]):
        mine_offset, mine_token = closes[duplicates - 1]
        tail = item.text[mine_offset + len(mine_token):]
        if tail and "\n" not in tail and ctx.line_suffix.startswith(tail, end):
            end += len(tail)
        return Completion(item.text, end, item.stop_reason)
    return item.with_text(item.text[: closes[0][0]].rstrip(), "balance_brackets")


def _suffix_closes(ctx: CompletionContext) -> list[tuple[int, str]]:
    """The suffix's closes of what is open at the cursor: its line's, and a string's."""
    kept = []
    for offset, token in scan_suffix(ctx).outer_closes:
        if offset >= len(ctx.line_suffix) and token not in _QUOTES:
            break
        kept.append((offset, token))
    return kept
