"""Where completions come from: the local engine process, or a remote engine (opt-in).

Both take the same `Prompt` (context segments, prefix, suffix) and stream the same events
(`Token`, then `Finished`), so the completion logic does not care which one runs the model.
`cancel(request_id)` stops a stream early but lets it end with its `done` (and the engine's
stats); closing the stream stops it too, without waiting for anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from autan.model.io.default_model import default_model_dir
from autan.model.io.demo import demo_folder
from autan.model.io.fim import FimFamily, FimPrompt, build_fim_prompt, detect_family
from autan.model.io.tokenizer import Tokenizer
from autan.server.engine_client import EngineClient, EngineLaunch
from autan.server.options import ModelOptions
from autan.server.remote import MistralFimEngine, OpenAICompletionsEngine, fim_prompt_text
from autan.wire.protocol import Finished, SamplingParams, Token, default_socket_path

Event = Token | Finished


@dataclass
class Prompt:
    prefix: str
    suffix: str
    context_files: Sequence[tuple[str, str]] = ()  # (path, text), most stable first
    file_path: str | None = None
    repo_name: str | None = None


class Backend(Protocol):
    family: FimFamily | None

    def stream(self, prompt: Prompt, params: SamplingParams, request_id: str | None = None,
               timings: dict[str, float] | None = None) -> AsyncIterator[Event]:
        """Token events, then one Finished; `timings["prompt"]` gets the prompt build time."""
        ...

    async def cancel(self, request_id: str) -> bool:
        """Stop that stream; True when it will still end with a Finished (with stats)."""
        ...

    def count_tokens(self, text: str) -> int: ...

    async def close(self) -> None: ...


def line_start_boundary(build: object, prompt: Prompt, full: FimPrompt) -> int | None:
    """The number of leading ids shared with the same prompt cut at the start of the cursor
    line: while the user types on that line, the next request resumes from there. With the
    cursor at the start of a line (just after Enter), the previous line's start: the cursor
    line's start would be the whole prefix, which no later prompt shares exactly."""
    prefix = prompt.prefix
    end = len(prefix) - 1 if prefix.endswith("\n") else len(prefix)
    cut = prefix[: prefix.rfind("\n", 0, max(end, 0)) + 1]
    if cut == prefix:
        return None
    other = build(cut)  # type: ignore[operator]
    shared = 0
    for a, b in zip(full.ids, other.ids, strict=False):
        if a != b:
            break
        shared += 1
    return shared - 1 if shared > 1 else None  # the last shared id may merge differently


def default_model_folder() -> Path:
    """The model used when none is configured: the bundled default model, or in a checkout
    without one the demo model, made (once) by a child process: making it needs torch,
    which this process never loads."""
    bundled = default_model_dir()
    if bundled is not None:
        return bundled
    folder = demo_folder()
    if not (folder / "tokenizer.json").exists():
        subprocess.run([sys.executable, "-P", "-c",
                        "from autan.model.io.demo import demo_checkpoint; demo_checkpoint()"],
                       check=True, timeout=600)
    return folder


class LocalBackend:
    """The `autan engine` process (shared over a Unix socket, started on demand)."""

    def __init__(self, model_dir: Path, options: ModelOptions,
                 socket_path: Path | None = None, shared: bool = True,
                 client: EngineClient | None = None) -> None:
        """`shared`: connect to (or start) the engine on its socket, for every editor window;
        otherwise a private engine on stdio that ends with this process. `client`: an engine
        client the caller has made (`autan complete` picks a running engine or its own)."""
        self.tokenizer = Tokenizer.from_dir(model_dir)
        self.family = detect_family(self.tokenizer, None)
        if client is None:
            launch = EngineLaunch(model=model_dir, device=options.device, dtype=options.dtype)
            socket = (socket_path or default_socket_path(model_dir)) if shared else None
            client = EngineClient(socket, launch)
        self.client = client
        self.open_streams = 0  # requests sent to the engine and not yet ended (for stats)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text))

    def build(self, prompt: Prompt, prefix: str | None = None) -> FimPrompt:
        if self.family is None:
            raise ValueError("the model's tokenizer has no fill-in-the-middle tokens")
        return build_fim_prompt(self.family, self.tokenizer,
                                prompt.prefix if prefix is None else prefix, prompt.suffix,
                                prompt.context_files, prompt.repo_name, prompt.file_path)

    def prepare(self, prompt: Prompt, params: SamplingParams
                ) -> tuple[list[int], list[int], SamplingParams]:
        """Prompt ids, snapshot boundaries and the params with the family's stop tokens.
        Tokenizing a long context takes a while: callers run this in a worker thread."""
        fim = self.build(prompt)
        boundaries = list(fim.boundaries)
        extra = line_start_boundary(lambda p: self.build(prompt, p), prompt, fim)
        if extra is not None:
            boundaries.append(extra)
        params = SamplingParams(params.max_tokens, params.temperature, params.top_p,
                                (*params.stop_strings, *fim.stop_strings),
                                (*params.stop_ids, *fim.stop_ids), params.seed)
        return list(fim.ids), sorted(set(boundaries)), params

    async def stream(self, prompt: Prompt, params: SamplingParams, request_id: str | None = None,
                     timings: dict[str, float] | None = None) -> AsyncIterator[Event]:
        start = time.perf_counter()
        ids, boundaries, params = await asyncio.to_thread(self.prepare, prompt, params)
        if timings is not None:
            timings["prompt"] = (time.perf_counter() - start) * 1000
        events = self.client.generate(ids, boundaries, params, request_id=request_id)
        self.open_streams += 1
        try:
            async with contextlib.aclosing(events):  # closing early cancels in the engine now
                async for event in events:
                    yield event
        finally:
            self.open_streams -= 1

    async def cancel(self, request_id: str) -> bool:
        await self.client.cancel(request_id)
        return True

    @property
    def engine_pid(self) -> int | None:
        """The engine's process id once connected."""
        return self.client.pid

    async def close(self) -> None:
        await self.client.close()


class RemoteBackend:
    """An OpenAI-compatible /v1/completions server (raw FIM prompt) or Mistral's FIM API.
    Everything sent is redacted by the remote clients."""

    def __init__(self, options: ModelOptions, family: FimFamily | None,
                 tokenizer: Tokenizer | None) -> None:
        key = os.environ.get(options.api_key_env) if options.api_key_env else None
        self.kind = options.endpoint_kind
        self.family = family
        self.tokenizer = tokenizer
        if self.kind == "mistral":
            self.engine = MistralFimEngine(options.endpoint or "", options.endpoint_model,
                                           key or "")
        else:
            self.engine = OpenAICompletionsEngine(options.endpoint or "",
                                                  options.endpoint_model, key)

    def count_tokens(self, text: str) -> int:
        if self.tokenizer is not None:
            return len(self.tokenizer.encode(text))
        return max(1, len(text) // 4)  # no tokenizer for a remote model: a char estimate

    async def stream(self, prompt: Prompt, params: SamplingParams, request_id: str | None = None,
                     timings: dict[str, float] | None = None) -> AsyncIterator[Event]:
        context = "".join(f"# {path}\n{text}\n" for path, text in prompt.context_files)
        prefix = context + prompt.prefix
        if self.kind == "mistral" or self.family is None:
            events = self.engine.generate(prefix, params, suffix=prompt.suffix)
        else:
            events = self.engine.generate(fim_prompt_text(self.family, prefix, prompt.suffix),
                                          params)
        async with contextlib.aclosing(events):
            async for event in events:
                yield event

    async def cancel(self, request_id: str) -> bool:
        return False  # HTTP streams stop when closed; there is no final message to wait for

    async def close(self) -> None:
        await self.engine.aclose()  # its kept-alive connections
