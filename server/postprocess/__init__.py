"""Post-processing: turn what the model wrote into what the editor should show.

Modelled on Tabby's completion post-processing (`clients/tabby-agent/src/codeCompletion/
postprocess/`): each filter is one function `(item, ctx) -> Completion | None` in its own
module, doing one thing; `PIPELINE` is the only place that orders them, and `run_pipeline`
runs them. A filter returns its input unchanged when it has nothing to do, a cut copy when
it shortens the text, and None to drop the suggestion, which ends the pipeline.

The order, and why:

1. `normalize_newlines`: every later filter splits on "\n".
2. `remove_repetitive_lines`, `remove_repetitive_blocks`: cut a model loop first, so that
   nothing below reasons about fifty copies of one line.
3. `drop_prefix_repetition`: drop a suggestion that only re-types the lines above.
4. `decide_multiline`: decide once, from the syntax at the cursor, one line or a block.
5. `limit_to_line`: in single-line mode, the first line only.
6. `fix_indent_style`, `fix_indent_unit`: tabs or spaces and the unit as the file has them,
   before anything compares lines with the file's.
7. `limit_scope`: in multi-line mode, stop at the end of the block.
8. `stop_at_suffix`: stop where the completion re-types the code below the cursor.
9. `balance_brackets`: cut an escape from the block; replace closers the suffix repeats.
10. `trim_whitespace`: trailing whitespace, with the trailing newline policy.
11. `drop_empty`: drop what is left empty or changes nothing.
12. `restore_newlines`: the file's own line ending.

Post-processing runs on every completion, so it must be fast and must never fail: the
context bounds what filters read (see `types`), and `run_pipeline` logs and skips a filter
that raises instead of losing the completion.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from autan.server.postprocess._multiline import wants_multiline
from autan.server.postprocess.balance_brackets import balance_brackets
from autan.server.postprocess.decide_multiline import decide_multiline
from autan.server.postprocess.drop_empty import drop_empty
from autan.server.postprocess.drop_prefix_repetition import drop_prefix_repetition
from autan.server.postprocess.fix_indent_style import fix_indent_style
from autan.server.postprocess.fix_indent_unit import fix_indent_unit
from autan.server.postprocess.limit_scope import limit_scope
from autan.server.postprocess.limit_to_line import limit_to_line
from autan.server.postprocess.normalize_newlines import normalize_newlines
from autan.server.postprocess.remove_repetitive_blocks import remove_repetitive_blocks
from autan.server.postprocess.remove_repetitive_lines import remove_repetitive_lines
from autan.server.postprocess.restore_newlines import restore_newlines
from autan.server.postprocess.stop_at_suffix import stop_at_suffix
from autan.server.postprocess.trim_whitespace import trim_whitespace
from autan.server.postprocess.types import Completion, CompletionContext

__all__ = ["PIPELINE", "Completion", "CompletionContext", "Filter", "run_pipeline",
           "wants_multiline"]

Filter = Callable[[Completion, CompletionContext], Completion | None]

PIPELINE: list[Filter] = [
    normalize_newlines,
    remove_repetitive_lines,
    remove_repetitive_blocks,
    drop_prefix_repetition,
    decide_multiline,
    limit_to_line,
    fix_indent_style,
    fix_indent_unit,
    limit_scope,
    stop_at_suffix,
    balance_brackets,
    trim_whitespace,
    drop_empty,
    restore_newlines,
]

logger = logging.getLogger(__name__)


def run_pipeline(item: Completion, ctx: CompletionContext,
                 pipeline: Sequence[Filter] = PIPELINE) -> Completion | None:
    """Run every filter in order; None as soon as one drops the completion.

    A filter that raises is a bug, but one bug must not cost the user every completion:
    it is logged with its traceback and skipped, and the next filter sees its input.
    """
    for step in pipeline:
        try:
            result = step(item, ctx)
        except Exception:
            logger.exception("postprocess filter %s failed; skipped",
                             getattr(step, "__name__", step))
            continue
        if result is None:
            logger.debug("postprocess filter %s dropped the completion",
                         getattr(step, "__name__", step))
            return None
        item = result
    return item
