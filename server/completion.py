"""One completion request, from document and cursor to suggestion text.

Pure of LSP: `Completer.complete` takes the document text, the cursor and a trigger kind, and
returns suggestions with the number of characters after the cursor they replace. The LSP
handlers convert positions and results; `autan complete` calls it headless.

The steps, each timed: the type-ahead cache; the context (`autan.indexer.context`, in a worker
thread); the prompt (`backend.Prompt`); streaming from the engine, stopping as soon as the
post-processing filters would cut the text anyway (the end of a line in single-line mode, the
end of the block in multi-line mode) or once the latency budget has passed with a whole line;
then the post-processing pipeline.

Timings (`Result.timings_ms`, milliseconds): `context` (context build), `prompt` (FIM prompt
and tokenization), `ttft` (from asking the backend to the first token, `prompt` included),
`engine_ttft` (the engine's own prefill and first token), `queue` (`ttft` less `prompt` and
`engine_ttft`: transport and waiting for the model), `decode` (the engine's decode time) and
`total`. The engine's numbers come with its `done` message; when the suggestion is decided
before the engine stops, the generation is cancelled and its `done` is awaited in the
background (`Completer.drains`), so the answer does not wait one more decode step for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from autan.indexer.budget import split_budget
from autan.indexer.context import Context, build_context, fit_tokens
from autan.indexer.index import RepoIndex
from autan.indexer.secrets import is_secret_file
from autan.server.backend import Backend, Prompt
from autan.server.options import CompletionOptions
from autan.server.postprocess import (
    Completion,
    CompletionContext,
    run_pipeline,
    wants_multiline,
)
from autan.server.typeahead import TypeAheadCache
from autan.wire.protocol import Finished, Token
from autan.wire.types import RequestStats, SamplingParams

Partial = Callable[[str], None]

BUFFER_INDEX_LIMIT = 1 << 20  # characters; like the indexer, which skips files over 1 MB
CHARS_PER_TOKEN_CAP = 16  # a window of budget * this many characters always holds the budget
TYPEAHEAD_WINDOW = 16_384  # characters of the prefix the type-ahead cache compares
TYPEAHEAD_ANCHOR = 4096  # the compared window starts at a multiple of this
PREFIX_ANCHOR_DIVISOR = 4  # the prefix window starts at a multiple of budget / this (chars)
DRAIN_TIMEOUT_S = 2.0  # how long a cancelled generation's `done` is awaited for its stats
_SURROGATES = re.compile("[\ud800-\udfff]")
_request_ids = itertools.count(1)


@dataclass
class Request:
    uri: str
    path: str  # repository-relative when `index` is set, else any label
    text: str
    line: int  # 0-based, lines split at "\n" only (the indexer's convention)
    character: int  # 0-based, in characters (code points)
    language: str | None = None
    invoked: bool = False  # the user asked (several items may be returned)


@dataclass
class Result:
    items: list[Completion]
    from_cache: bool = False
    model_calls: int = 0
    stats: RequestStats = field(default_factory=RequestStats)  # of the first sample
    timings_ms: dict[str, float] = field(default_factory=dict)

    def record(self, done: Finished) -> None:
        """Take the engine's accounting of the first sample (its `done` stats)."""
        s = self.stats = done.stats
        t = self.timings_ms
        t["engine_ttft"], t["decode"] = s.ttft_ms, s.decode_ms
        if "ttft" in t:
            t["queue"] = max(0.0, t["ttft"] - t.get("prompt", 0.0) - s.ttft_ms)


def offset_of(text: str, line: int, character: int) -> int:
    """The offset of 0-based (`line`, `character`), lines split at "\\n", clamped to the text."""
    start = 0
    for _ in range(max(0, line)):
        found = text.find("\n", start)
        if found < 0:
            break
        start = found + 1
    end = text.find("\n", start)
    return start + max(0, min(character, (len(text) if end < 0 else end) - start))


def clean_text(text: str) -> str:
    """The text with lone surrogates (what a client sends for bytes that are not UTF-8) made
    U+FFFD: tokenizers and the engine's msgpack need valid Unicode, and one code point stays
    one code point, so offsets do not move."""
    return _SURROGATES.sub("\ufffd", text) if _SURROGATES.search(text) else text


def typeahead_key(prefix: str) -> str:
    """What the type-ahead cache stores for a prefix: the prefix itself while short, else its
    end from an anchor at a multiple of TYPEAHEAD_ANCHOR, tagged with that anchor. Storing
    whole prefixes would keep 512 copies of a 10 MB buffer; an anchored window still grows by
    exactly the typed text, which is what the cache compares."""
    if len(prefix) <= TYPEAHEAD_WINDOW:
        return prefix
    anchor = (len(prefix) - TYPEAHEAD_WINDOW) // TYPEAHEAD_ANCHOR * TYPEAHEAD_ANCHOR
    return f"\0{anchor}\0{prefix[anchor:]}"


def bounded_prompt(prefix: str, suffix: str, budget: int, count: Callable[[str], int],
                   path: str | None) -> Prompt:
    """The prompt without repository context: prefix and suffix cut to the shares of the
    budget that `split_budget` gives them (the prefix gets all that the suffix leaves), after
    a cut by characters so that a 10 MB buffer is never tokenized whole."""
    chars = max(1, budget) * CHARS_PER_TOKEN_CAP
    split = split_budget(budget, repository_context=False)
    suffix, suffix_tokens = fit_tokens(suffix[:chars // 10 + 1], split.suffix, count,
                                       keep_end=False)
    prefix, _ = fit_tokens(prefix[-chars:], split.prefix(suffix_tokens), count, keep_end=True)
    return Prompt(prefix, suffix, [], path)


def anchored_prefix(window: str, start: int, step: int) -> str:
    """The prefix window (which starts at offset `start` of the document) cut further, at the
    first line start at or after the next multiple of `step`.

    Why: a prefix longer than the budget is cut from its end, so its first line moves down as
    the user types; every move changes the prompt from there on, and the engine's prefix
    state cache then recomputes the whole prefix (seconds at a large budget). Anchoring the
    cut keeps it in place until the text typed since has crossed `step` characters, at the
    cost of at most `step` characters of the window."""
    if start <= 0 or step <= 0:
        return window  # the document's own start: stable already
    cut = -(-start // step) * step - start
    if cut == 0:
        return window
    newline = window.find("\n", cut - 1)
    return window[newline + 1:] if newline >= 0 else window[cut:]


class Completer:
    def __init__(self, backend: Backend, options: CompletionOptions,
                 index: RepoIndex | None = None, index_lock: threading.Lock | None = None,
                 cache: TypeAheadCache | None = None,
                 drains: set[asyncio.Task[None]] | None = None) -> None:
        """`cache` and `drains` are shared by the requests of one server (a Completer is made
        per request, for the index of the request's workspace folder)."""
        self.backend = backend
        self.options = options
        self.index = index
        self.index_lock = index_lock or threading.Lock()
        self.cache = cache if cache is not None else TypeAheadCache()
        self.drains = drains if drains is not None else set()

    async def complete(self, req: Request, on_partial: Partial | None = None) -> Result | None:
        """Suggestions for the cursor, or None where autan does not complete (secret files)."""
        start = time.perf_counter()
        if is_secret_file(req.path):
            return None
        req = dataclasses.replace(req, text=clean_text(req.text))
        cursor = offset_of(req.text, req.line, req.character)
        prefix, suffix = req.text[:cursor], req.text[cursor:]
        post = self.post_context(req, prefix, suffix)
        key = typeahead_key(prefix)
        if not req.invoked and (hit := self.from_cache(req.uri, key, suffix, post)):
            hit.timings_ms["total"] = ms_since(start)
            return hit
        context = await self.context_for(req)
        timings = {"context": ms_since(start)}
        prompt = self.prompt_for(req, context, prefix, suffix)
        result = await self.generate(prompt, post, req, on_partial, timings)
        timings["total"] = ms_since(start)
        if result.items:
            self.cache.remember(req.uri, key, suffix, result.items[0].text)
        return result

    def from_cache(self, uri: str, key: str, suffix: str,
                   post: CompletionContext) -> Result | None:
        """The rest of a shown suggestion the user is typing along, post-processed again."""
        cached = self.cache.lookup(uri, key, suffix)
        item = run_pipeline(Completion(cached), post) if cached is not None else None
        return Result([item], from_cache=True) if item is not None else None

    async def context_for(self, req: Request) -> Context | None:
        """The repository context, built in a worker thread. A request cancelled meanwhile
        tells the thread, which then skips the work if it has not taken the index yet."""
        if self.index is None or len(req.text) > BUFFER_INDEX_LIMIT:
            return None
        cancelled = threading.Event()
        try:
            return await asyncio.to_thread(self.build_context, req, cancelled)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    def build_context(self, req: Request, cancelled: threading.Event | None = None
                      ) -> Context | None:
        if self.index is None:
            return None
        with self.index_lock:
            if cancelled is not None and cancelled.is_set():
                return None
            # The context is cut from what the index holds, so it must hold this request's
            # text. The LSP server keeps it there from the editor's edits, which makes this
            # a comparison; other callers get their text indexed here.
            self.index.update_buffer(req.path, req.text)
            return build_context(self.index, req.path, req.line, req.character,
                                 self.options.context_budget, self.backend.count_tokens)

    def prompt_for(self, req: Request, context: Context | None, prefix: str,
                   suffix: str) -> Prompt:
        """The prompt from the context (or from the document alone, bounded), with the
        prefix window anchored (see `anchored_prefix`)."""
        budget = self.options.context_budget
        if context is None:
            prompt = bounded_prompt(prefix, suffix, budget, self.backend.count_tokens,
                                    req.path)
        else:
            prompt = Prompt(context.prefix, context.suffix,
                            [(s.path, s.text) for s in context.segments], req.path)
        step = max(256, budget // PREFIX_ANCHOR_DIVISOR)
        prompt.prefix = anchored_prefix(prompt.prefix, len(prefix) - len(prompt.prefix), step)
        return prompt

    def post_context(self, req: Request, prefix: str, suffix: str) -> CompletionContext:
        ctx = CompletionContext(prefix=prefix, suffix=suffix, language=req.language,
                                path=req.path)
        ctx.multiline = wants_multiline(ctx)  # decided once per cursor, before generating
        return ctx

    async def generate(self, prompt: Prompt, post: CompletionContext, req: Request,
                       on_partial: Partial | None, timings: dict[str, float]) -> Result:
        samples = max(1, self.options.max_items) if req.invoked else 1
        result = Result([], timings_ms=timings)
        seen: set[str] = set()
        for i in range(samples):
            params = SamplingParams(max_tokens=self.options.max_tokens,
                                    temperature=0.0 if i == 0 else 0.8, top_p=0.95,
                                    stop_strings=() if post.multiline else ("\n",), seed=i)
            result.model_calls += 1
            text, reason = await self.stream_one(prompt, params, post, on_partial if i == 0
                                                 else None, result if i == 0 else None)
            item = run_pipeline(Completion(text, stop_reason=reason), post)
            if item is not None and item.text not in seen:
                seen.add(item.text)
                result.items.append(item)
        return result

    async def stream_one(self, prompt: Prompt, params: SamplingParams, post: CompletionContext,
                         on_partial: Partial | None, result: Result | None) -> tuple[str, str]:
        """Stream until the engine stops or the suggestion is decided. Returns the text and
        why it ends. A decided suggestion cancels the generation in the engine; `result`
        (when given) gets the timings and the engine's stats."""
        start = time.perf_counter()
        timings = result.timings_ms if result is not None else {}
        rid = f"autan-{next(_request_ids)}"
        stream = self.backend.stream(prompt, params, request_id=rid, timings=timings)
        text, lines_checked, handed_off = "", 0, False
        try:
            async for event in stream:
                if isinstance(event, Finished):
                    if result is not None:
                        result.record(event)
                    return event.text, event.finish_reason
                assert isinstance(event, Token)
                timings.setdefault("ttft", ms_since(start))
                text += event.text
                if on_partial is not None and event.text:
                    on_partial(text)
                if text.count("\n") > lines_checked:
                    lines_checked = text.count("\n")
                    if self.decided(text, post, start):
                        handed_off = await self.finish_in_background(stream, rid, result)
                        return text, "decided"
            return text, "ended"
        finally:
            if not handed_off:
                await stream.aclose()  # type: ignore[attr-defined]

    async def finish_in_background(self, stream: AsyncIterator[Token | Finished], rid: str,
                                   result: Result | None) -> bool:
        """Cancel a generation whose suggestion is decided. When the backend confirms the
        cancel with a final `done`, a background task reads it (for its stats) instead of
        making the answer wait for it, and True is returned: the task owns the stream."""
        if result is None or not await self.backend.cancel(rid):
            return False
        task = asyncio.create_task(drain(stream, result))
        self.drains.add(task)
        task.add_done_callback(self.drains.discard)
        return True

    def decided(self, text: str, post: CompletionContext, start: float) -> bool:
        """Whether more tokens can no longer change the suggestion: the filters already cut
        inside what we have, or the latency budget has passed with a whole line."""
        whole = text[: text.rfind("\n")]
        if not whole.strip():
            return False
        cut = run_pipeline(Completion(whole), post)
        if cut is None or len(cut.text.rstrip()) < len(whole.rstrip()):
            return True
        return ms_since(start) > self.options.latency_budget_ms


async def drain(stream: AsyncIterator[Token | Finished], result: Result) -> None:
    """Read a cancelled stream to its `done` (bounded) and record its stats."""
    async def to_done() -> None:
        async for event in stream:
            if isinstance(event, Finished):
                result.record(event)
                return

    try:
        await asyncio.wait_for(to_done(), DRAIN_TIMEOUT_S)
    except Exception:  # the engine died or never answered: only the stats are lost
        pass
    finally:
        with contextlib.suppress(Exception):
            await stream.aclose()  # type: ignore[attr-defined]


def ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000
