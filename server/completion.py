"""One completion request, from document and cursor to suggestion text.

Pure of LSP: `Completer.complete` takes the document text, the cursor and a trigger kind, and
returns suggestions with the number of characters after the cursor they replace. The LSP
handlers convert positions and results; `autan complete` calls it headless.

The steps, each timed: the type-ahead cache; the context (`autan.indexer.context`, in a worker
thread); the prompt (`backend.Prompt`); streaming from the engine, stopping as soon as the
post-processing filters would cut the text anyway (the end of a line in single-line mode, the
end of the block in multi-line mode) or once the latency budget has passed with a whole line;
then the post-processing pipeline.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from autan.indexer.context import Context, build_context
from autan.indexer.index import RepoIndex
from autan.server.backend import Backend, Prompt
from autan.server.engine_protocol import Done, GenerateParams, Token
from autan.server.options import CompletionOptions
from autan.server.postprocess import Completion, CompletionContext, run_pipeline
from autan.server.postprocess.decide_multiline import decide_multiline
from autan.server.typeahead import TypeAheadCache

Partial = Callable[[str], None]


@dataclass
class Request:
    uri: str
    path: str  # repository-relative when `index` is set, else any label
    text: str
    line: int  # 0-based
    character: int  # 0-based, in characters (code points)
    language: str | None = None
    invoked: bool = False  # the user asked (several items may be returned)


@dataclass
class Result:
    items: list[Completion]
    from_cache: bool = False
    prompt_tokens: int = 0
    cached_tokens: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)


def offset_of(text: str, line: int, character: int) -> int:
    lines = text.split("\n")
    line = max(0, min(line, len(lines) - 1))
    return sum(len(x) + 1 for x in lines[:line]) + max(0, min(character, len(lines[line])))


class Completer:
    def __init__(self, backend: Backend, options: CompletionOptions,
                 index: RepoIndex | None = None, index_lock: threading.Lock | None = None) -> None:
        self.backend = backend
        self.options = options
        self.index = index
        self.index_lock = index_lock or threading.Lock()
        self.cache = TypeAheadCache()

    async def complete(self, req: Request, on_partial: Partial | None = None) -> Result | None:
        start = time.perf_counter()
        cursor = offset_of(req.text, req.line, req.character)
        prefix, suffix = req.text[:cursor], req.text[cursor:]
        cached = self.cache.lookup(req.uri, prefix, suffix)
        if cached is not None and not req.invoked:
            item = run_pipeline(Completion(cached), self.post_context(req, prefix, suffix))
            if item is not None:
                return Result([item], True, timings_ms={"total": ms_since(start)})
        context = await asyncio.to_thread(self.build_context, req)
        timings = {"context": ms_since(start)}
        prompt = Prompt(context.prefix if context else prefix,
                        context.suffix if context else suffix,
                        [(s.path, s.text) for s in context.segments] if context else [],
                        req.path)
        post = self.post_context(req, prefix, suffix)
        result = await self.generate(prompt, post, req, on_partial, timings)
        timings["total"] = ms_since(start)
        if result.items:
            self.cache.remember(req.uri, prefix, suffix, result.items[0].text)
        return result

    def build_context(self, req: Request) -> Context | None:
        if self.index is None:
            return None
        with self.index_lock:
            return build_context(self.index, req.path, req.line, req.character,
                                 self.options.context_budget, self.backend.count_tokens,
                                 open_buffers={req.path: req.text})

    def post_context(self, req: Request, prefix: str, suffix: str) -> CompletionContext:
        ctx = CompletionContext(prefix=prefix, suffix=suffix, language=req.language,
                                path=req.path)
        decide_multiline(Completion("x"), ctx)  # records ctx.multiline for this cursor
        return ctx

    async def generate(self, prompt: Prompt, post: CompletionContext, req: Request,
                       on_partial: Partial | None, timings: dict[str, float]) -> Result:
        samples = max(1, self.options.max_items) if req.invoked else 1
        result = Result([], timings_ms=timings)
        seen: set[str] = set()
        for i in range(samples):
            params = GenerateParams(max_tokens=self.options.max_tokens,
                                    temperature=0.0 if i == 0 else 0.8, top_p=0.95,
                                    stop_strings=() if post.multiline else ("\n",), seed=i)
            text, done = await self.stream_one(prompt, params, post, on_partial if i == 0
                                               else None, timings)
            if done is not None and i == 0:
                result.prompt_tokens = done.stats.prompt_tokens
                result.cached_tokens = done.stats.reused_tokens
            item = run_pipeline(Completion(text, stop_reason=done.finish_reason if done
                                           else "decided"), post)
            if item is not None and item.text not in seen:
                seen.add(item.text)
                result.items.append(item)
        return result

    async def stream_one(self, prompt: Prompt, params: GenerateParams, post: CompletionContext,
                         on_partial: Partial | None,
                         timings: dict[str, float]) -> tuple[str, Done | None]:
        """Stream until the engine stops or the suggestion is decided; leaving the stream
        early cancels the generation in the engine."""
        start = time.perf_counter()
        text, lines_checked = "", 0
        async for event in self.backend.stream(prompt, params):
            if isinstance(event, Done):
                timings.setdefault("ttft", event.stats.ttft_ms)
                return event.text, event
            assert isinstance(event, Token)
            if "ttft" not in timings:
                timings["ttft"] = ms_since(start)
            text += event.text
            if on_partial is not None and event.text:
                on_partial(text)
            if text.count("\n") > lines_checked:
                lines_checked = text.count("\n")
                if self.decided(text, post, start):
                    return text, None
        return text, None

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


def ms_since(start: float) -> float:
    return (time.perf_counter() - start) * 1000
