"""`autan bench lsp`: a scripted editing session through a real LSP client, timed by the server.

A copy of a few standard-library packages becomes a git repository; `autan lsp` serves it and
indexes it; a pygls client opens one file and types a function into it one character at a
time, asking for an inline completion after every keystroke and waiting for the answer (a
user pausing after each key; debounce 0, so only server work is timed). The server's own
timings of every completion come from `autan/stats` (see `autan.server.completion` for what
each covers): context build, prompt building and tokenization, engine queue (transport and
waiting for the model), prefill to the first token with its cached and computed tokens, and
decode; time to first item is the server's whole handling of the request, which answers
once the suggestion is decided.

The session runs twice against an engine the bench starts itself on the socket the server
looks for: once with the prefix state cache at its default budget and once with
`autan engine --cache-mib 0`, where every keystroke recomputes the whole prompt.
Reports, never asserts.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from autan.indexer.budget import CONTEXT_DEFAULTS
from autan.server.engine_client import EngineClient
from autan.wire.protocol import EngineError, default_socket_path

PACKAGES = ("json", "email", "http", "urllib", "logging")
TARGET = "json/decoder.py"
ANCHOR = "class JSONDecoder(object):"  # the function is typed just above this line
FUNCTION = '''def skip_whitespace(s, end):
    """Return the index of the first character at or after end that is not blank."""
    while end < len(s) and s[end] in ' \\t\\n\\r':
        end += 1
    return end


'''
START_TIMEOUT_S = 600.0
STAGES = ("context", "prompt", "queue", "engine_ttft", "decode", "total")


@dataclass(frozen=True)
class BenchConfig:
    model: Path
    device: str = "auto"
    budget: int = CONTEXT_DEFAULTS.budget
    max_tokens: int = 16
    keystrokes: int = 0  # 0: the whole function
    packages: tuple[str, ...] = PACKAGES
    cache_mib: tuple[int, ...] = (2048, 0)


@dataclass
class RunResult:
    cache_mib: int
    keystrokes: int
    model_requests: int
    typeahead_hits: int
    empty: int
    first_ms: dict[str, float]  # the first request at the insertion point, cold
    p50: dict[str, float] = field(default_factory=dict)
    p90: dict[str, float] = field(default_factory=dict)
    tokens_p50: dict[str, float] = field(default_factory=dict)
    cached_share: float = 0.0  # cached / prompt tokens over all model requests
    typeahead_p50_ms: float | None = None


@dataclass
class BenchResult:
    files: int
    target: str
    typed_chars: int
    runs: list[RunResult]


def copy_packages(dest: Path, packages: tuple[str, ...]) -> int:
    """Copy standard-library packages into `dest` and commit them (git signals need a
    repository). Returns the number of files."""
    src = Path(sysconfig.get_paths()["stdlib"])
    for name in packages:
        shutil.copytree(src / name, dest / name,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "test*"))
    from git import Repo

    repo = Repo.init(dest)
    repo.git.add("-A")
    repo.git.commit("-q", "-m", "bench", "--no-verify",
                    env={"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@x",
                         "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@x"})
    return sum(1 for p in dest.rglob("*.py"))


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1), linear between ranks; 0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def summarize(cache_mib: int, keystrokes: int, first: dict[str, Any],
              records: list[dict[str, Any]]) -> RunResult:
    model = [r for r in records if not r["from_cache"] and r["model_calls"]]
    hits = [r for r in records if r["from_cache"]]
    run = RunResult(cache_mib, keystrokes, len(model), len(hits),
                    sum(not r["items"] for r in records), dict(first["timings_ms"]))
    for stage in STAGES:
        values = [r["timings_ms"][stage] for r in model if stage in r["timings_ms"]]
        run.p50[stage], run.p90[stage] = percentile(values, 0.5), percentile(values, 0.9)
    for key in ("prompt_tokens", "cached_tokens", "computed_tokens"):
        run.tokens_p50[key] = percentile([float(r[key]) for r in model], 0.5)
    prompt = sum(r["prompt_tokens"] for r in model)
    run.cached_share = sum(r["cached_tokens"] for r in model) / prompt if prompt else 0.0
    if hits:
        run.typeahead_p50_ms = percentile([r["timings_ms"]["total"] for r in hits], 0.5)
    return run


class Session:
    """One editing session: an engine, `autan lsp`, a pygls client, and the typed file."""

    def __init__(self, config: BenchConfig, tree: Path, env: dict[str, str], log: Path
                 ) -> None:
        self.config, self.tree, self.env, self.log = config, tree, env, log
        self.client = LanguageClient("autan-bench", "0.1.0")
        self.ready = ready = asyncio.Event()
        self._stderr: asyncio.Task[None] | None = None

        @self.client.feature("autan/status")
        def on_status(ls: LanguageClient, params: Any) -> None:
            if getattr(params, "state", None) == "ready":  # the workspace is indexed
                ready.set()

    async def start(self) -> None:
        await self.client.start_io(sys.executable, "-P", "-m", "autan.cli", "lsp", env=self.env)
        server = getattr(self.client, "_server", None)
        if server is not None and server.stderr is not None:
            self._stderr = asyncio.create_task(_copy_lines(server.stderr, self.log))
        c = self.config
        await asyncio.wait_for(self.client.initialize_async(types.InitializeParams(
            capabilities=types.ClientCapabilities(window=types.WindowClientCapabilities(
                work_done_progress=False)),
            workspace_folders=[types.WorkspaceFolder(self.tree.as_uri(), self.tree.name)],
            initialization_options={
                "model": {"path": str(c.model), "device": c.device},
                "completion": {"debounceMs": 0, "maxTokens": c.max_tokens,
                               "contextBudget": c.budget}})), START_TIMEOUT_S)
        self.client.initialized(types.InitializedParams())
        await asyncio.wait_for(self.ready.wait(), START_TIMEOUT_S)

    async def type_function(self, text: str, keystrokes: int) -> tuple[dict[str, Any], int]:
        """Open the target, complete once at the insertion point, then type. Returns the
        first request's record and the number of keystrokes typed."""
        path = self.tree / TARGET
        source = path.read_text(encoding="utf-8")
        uri = path.as_uri()
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=1, text=source)))
        line = source[: source.index(ANCHOR)].count("\n")
        await self.complete(uri, line, 0)
        first = (await self.stats(1))["recent"][-1]
        column, typed = 0, text[:keystrokes] if keystrokes else text
        for version, char in enumerate(typed, start=2):
            at = types.Position(line, column)
            self.client.text_document_did_change(types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                [types.TextDocumentContentChangePartial(range=types.Range(at, at),
                                                        text=char)]))
            line, column = (line + 1, 0) if char == "\n" else (line, column + 1)
            await self.complete(uri, line, column)
        return first, len(typed)

    async def complete(self, uri: str, line: int, column: int) -> None:
        await asyncio.wait_for(self.client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Automatic),
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line, column))), START_TIMEOUT_S)

    async def stats(self, recent: int) -> dict[str, Any]:
        reply = await self.client.protocol.send_request_async("autan/stats",
                                                              {"recent": recent})
        return plain(reply)

    async def stop(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.shutdown_async(None), 30)
            self.client.exit(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.stop(), 30)
        if self._stderr is not None:
            self._stderr.cancel()


def plain(value: Any) -> Any:
    """pygls hands custom results over as namedtuples; the summary wants dicts."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


async def _copy_lines(stream: asyncio.StreamReader, log: Path) -> None:
    """Keep the server's stderr flowing (a full pipe would block it), into a log file."""
    with open(log, "ab") as sink:
        while line := await stream.readline():
            sink.write(line)


@contextlib.contextmanager
def engine(config: BenchConfig, cache_mib: int, socket: Path, env: dict[str, str],
           log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`autan engine --cache-mib N` on the socket the server will look for."""
    args = [sys.executable, "-P", "-m", "autan.cli", "engine", "--socket", str(socket),
            "--cache-mib", str(cache_mib), "--model", str(config.model),
            "--device", config.device]
    with open(log, "ab") as sink:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=sink, env=env)
    try:
        yield proc
    finally:
        with contextlib.suppress(Exception):
            asyncio.run(EngineClient(socket).shutdown())
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def wait_for_engine(socket: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"autan engine exited with {proc.returncode}")
        client = EngineClient(socket)
        try:
            await client.health(5.0)
            return
        except (EngineError, OSError):
            await asyncio.sleep(0.5)
        finally:
            await client.close()
    raise RuntimeError(f"autan engine did not answer on {socket}")


async def run_session(config: BenchConfig, tree: Path, env: dict[str, str], log: Path,
                      cache_mib: int) -> RunResult:
    session = Session(config, tree, env, log)
    try:
        await session.start()
        first, typed = await session.type_function(FUNCTION, config.keystrokes)
        records = (await session.stats(typed))["recent"]
    finally:
        await session.stop()
    return summarize(cache_mib, typed, first, records)


def run(config: BenchConfig, progress: Any = None) -> BenchResult:
    """The whole benchmark: one tree, one session per cache budget."""
    with tempfile.TemporaryDirectory(prefix="autan-bench-lsp-", dir=_short_tmp()) as tmp:
        root = Path(tmp)
        tree = root / "repo"
        tree.mkdir()
        files = copy_packages(tree, config.packages)
        runs = []
        for cache_mib in config.cache_mib:
            runtime = root / f"run-{cache_mib}"
            runtime.mkdir(mode=0o700)
            env = dict(os.environ, XDG_CACHE_HOME=str(root / "cache"),
                       XDG_RUNTIME_DIR=str(runtime))
            socket = default_socket_path(config.model, env)
            with engine(config, cache_mib, socket, env, root / "engine.log") as proc:
                asyncio.run(wait_for_engine(socket, proc))
                runs.append(asyncio.run(run_session(config, tree, env, root / "lsp.log",
                                                    cache_mib)))
            if progress is not None:
                progress(runs[-1])
        typed = len(FUNCTION[: config.keystrokes] if config.keystrokes else FUNCTION)
        return BenchResult(files, TARGET, typed, runs)


def _short_tmp() -> str | None:
    """Unix socket paths must stay under ~100 bytes, whatever TMPDIR says."""
    return "/tmp" if Path("/tmp").is_dir() else None


def as_dict(result: BenchResult) -> dict[str, Any]:
    return asdict(result)
