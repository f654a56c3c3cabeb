"""What the LSP tests share: a real `autan lsp` process driven by pytest-lsp's client over
stdio, a scripted engine for the tests that need to control what the "model" says and when,
and small helpers with bounded waits.

Why a scripted engine next to the real one: the demo model has random weights (and its
tokenizer is trained on autan's own source, so its output drifts as the code changes), so a
test cannot make it re-type a `)` or stream slowly. `ScriptedEngine` speaks the documented
engine protocol (`autan.wire.protocol`) on the socket the server looks for, and
records every frame it gets: that is how the tests see a cancel reach the engine, or that a
type-ahead answer never asked the model. Everything else (the engine restart, the 10 MB
document, the first completion) runs against a real `autan engine`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import make_test_lsp_client

from autan.wire.protocol import (
    PROTOCOL_VERSION,
    default_socket_path,
    encode_frame,
    read_frame,
)

T = TypeVar("T")
START_TIMEOUT_S = 120.0  # starting the server (and loading torch) on a busy 2-core machine
REQUEST_TIMEOUT_S = 90.0  # a completion that may have to start a real engine first


@dataclass
class ServerEnv:
    """Private directories for one group of servers: the index store (XDG_CACHE_HOME) and the
    engine socket (XDG_RUNTIME_DIR), so no test touches the user's engine or index."""

    cache: Path
    runtime: Path
    model: Path

    @classmethod
    def make(cls, model: Path) -> ServerEnv:
        base = "/tmp" if Path("/tmp").is_dir() else None  # Unix socket paths: ~100 bytes
        root = Path(tempfile.mkdtemp(prefix="autan-lsp-", dir=base))
        (root / "cache").mkdir()
        (root / "run").mkdir(mode=0o700)
        return cls(root / "cache", root / "run", model)

    def environ(self) -> dict[str, str]:
        """The server's environment (its engine inherits it). One torch thread: the demo
        model gains nothing from two, and on a shared 2-core machine OpenMP threads that
        spin-wait for a busy core make it ~10x slower."""
        env = dict(os.environ, XDG_CACHE_HOME=str(self.cache), XDG_RUNTIME_DIR=str(self.runtime),
                   OMP_NUM_THREADS="1")
        env.pop("AUTAN_DEBUG", None)
        return env

    @property
    def socket(self) -> Path:
        """Where the server looks for (and starts) the shared engine of `model`."""
        return default_socket_path(self.model, {"XDG_RUNTIME_DIR": str(self.runtime)})


def init_options(env: ServerEnv, **completion: Any) -> dict[str, Any]:
    """initializationOptions for the demo model; `completion` in camelCase."""
    return {"model": {"path": str(env.model), "device": "cpu"},
            "completion": {"debounceMs": 0, "maxTokens": 16, **completion}}


def capabilities(configuration: bool = True, progress: bool = True,
                 watched_files: bool = False) -> types.ClientCapabilities:
    """A client that supports what autan uses: inline completion, incremental sync, workspace
    folders and configuration, work-done progress; with `watched_files`, the dynamic
    registration of a file watcher."""
    watch = types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True)
    return types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(
            workspace_folders=True, configuration=configuration,
            did_change_configuration=types.DidChangeConfigurationClientCapabilities(),
            did_change_watched_files=watch if watched_files else None),
        text_document=types.TextDocumentClientCapabilities(
            synchronization=types.TextDocumentSyncClientCapabilities(),
            inline_completion=types.InlineCompletionClientCapabilities()),
        window=types.WindowClientCapabilities(work_done_progress=progress))


def plain(value: Any) -> Any:
    """pygls hands custom results over as namedtuples; tests compare plain dicts."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def make_client() -> LanguageClient:
    """pytest-lsp's client, also recording autan's own notifications."""
    client = make_test_lsp_client()
    client.statuses = []  # type: ignore[attr-defined]
    client.partials = []  # type: ignore[attr-defined]
    client.registrations = []  # type: ignore[attr-defined]

    @client.feature("autan/status")
    def on_status(ls: LanguageClient, params: Any) -> None:
        ls.statuses.append(plain(params))  # type: ignore[attr-defined]

    @client.feature("autan/inlineCompletionProgress")
    def on_partial(ls: LanguageClient, params: Any) -> None:
        ls.partials.append(plain(params))  # type: ignore[attr-defined]

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def on_register(ls: LanguageClient, params: types.RegistrationParams) -> None:
        ls.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    return client


@contextlib.asynccontextmanager
async def lsp_server(env: ServerEnv, folders: list[Path], options: dict[str, Any] | None = None,
                     configuration: dict[str, Any] | None = None,
                     caps: types.ClientCapabilities | None = None,
                     ) -> AsyncIterator[LanguageClient]:
    """`python -m autan.cli lsp`, initialized with `options`; `configuration` is what the
    client answers for workspace/configuration section "autan" (None: nothing)."""
    config = ClientServerConfig(server_command=[sys.executable, "-P", "-m", "autan.cli", "lsp"],
                                client_factory=make_client, server_env=env.environ())
    client = await config.start()
    if configuration is not None:
        client.set_configuration(configuration, section="autan")
    try:
        client.init_result = await within(  # type: ignore[attr-defined]
            client.initialize_session(types.InitializeParams(
                capabilities=caps or capabilities(),
                workspace_folders=[types.WorkspaceFolder(f.as_uri(), f.name) for f in folders],
                initialization_options=options if options is not None else init_options(env))),
            START_TIMEOUT_S)
        yield client
    finally:
        with contextlib.suppress(Exception):
            await within(client.shutdown_session(), 30)
        with contextlib.suppress(Exception):
            await within(client.stop(), 30)


async def within(awaitable: Awaitable[T], timeout_s: float = REQUEST_TIMEOUT_S) -> T:
    return await asyncio.wait_for(awaitable, timeout_s)


async def until(check: Callable[[], Awaitable[bool] | bool], timeout_s: float = 30.0,
                every_s: float = 0.05) -> None:
    """Poll `check` until it holds; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(every_s)


def open_doc(client: LanguageClient, path: Path, text: str, language: str = "python") -> str:
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))
    return uri


def insert(client: LanguageClient, uri: str, version: int, line: int, character: int,
           text: str) -> None:
    """An incremental didChange inserting `text` at (line, character)."""
    at = types.Position(line, character)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        [types.TextDocumentContentChangePartial(range=types.Range(at, at), text=text)]))


def inline_params(uri: str, line: int, character: int, invoked: bool = False
                  ) -> types.InlineCompletionParams:
    kind = (types.InlineCompletionTriggerKind.Invoked if invoked
            else types.InlineCompletionTriggerKind.Automatic)
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(trigger_kind=kind),
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line, character))


async def inline(client: LanguageClient, uri: str, line: int, character: int,
                 invoked: bool = False, timeout_s: float = REQUEST_TIMEOUT_S
                 ) -> types.InlineCompletionList | None:
    result = await within(client.text_document_inline_completion_async(
        inline_params(uri, line, character, invoked)), timeout_s)
    assert result is None or isinstance(result, types.InlineCompletionList), result
    return result


async def stats(client: LanguageClient, recent: int = 1) -> dict[str, Any]:
    return plain(await within(client.protocol.send_request_async("autan/stats",
                                                                 {"recent": recent}), 30))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- a scripted engine ------------------------------------------------------------------


Script = Callable[[dict[str, Any]], list[str]]


@dataclass
class ScriptedEngine:
    """An engine that streams `script(generate_frame)` as tokens, `delay_s` apart, honouring
    stop strings, max_tokens and cancels, and records the frames it receives."""

    socket: Path
    script: Script = lambda frame: ["x"]
    delay_s: float = 0.0
    generates: list[dict[str, Any]] = field(default_factory=list)
    streamed: dict[Any, int] = field(default_factory=dict)  # id -> tokens sent so far
    cancels: list[Any] = field(default_factory=list)
    finished: dict[Any, str] = field(default_factory=dict)  # id -> finish_reason
    _server: asyncio.AbstractServer | None = None
    _cancel_events: dict[Any, asyncio.Event] = field(default_factory=dict)

    async def start(self) -> ScriptedEngine:
        self.socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.socket))
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await within(self._server.wait_closed(), 5)
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(encode_frame({"type": "hello", "protocol": PROTOCOL_VERSION,
                                   "model": "scripted", "device": "cpu", "pid": None}))
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                frame = await read_frame(reader)
                if frame["type"] == "generate":
                    self.generates.append(frame)
                    self._cancel_events[frame["id"]] = asyncio.Event()
                    task = asyncio.create_task(self._generate(frame, writer))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                elif frame["type"] == "cancel":
                    self.cancels.append(frame["id"])
                    if (event := self._cancel_events.get(frame["id"])) is not None:
                        event.set()
                elif frame["type"] == "health":
                    writer.write(encode_frame({"type": "health", "id": frame.get("id"),
                                               "ok": True, "model": "scripted", "device": "cpu",
                                               "pid": 0, "uptime_s": 0.0, "cache_bytes": 0}))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for task in tasks:
                task.cancel()
            writer.close()

    async def _generate(self, frame: dict[str, Any], writer: asyncio.StreamWriter) -> None:
        rid, params = frame["id"], frame.get("params") or {}
        stops = params.get("stop_strings") or []
        text, reason = "", "length"
        for token in self.script(frame)[: params.get("max_tokens", 64)]:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if self._cancel_events[rid].is_set():
                reason = "cancelled"
                break
            cut = min((p for p in (f"{text}{token}".find(s) for s in stops) if p >= 0),
                      default=-1)
            if cut >= 0:
                token, reason = f"{text}{token}"[len(text):cut], "stop"
            text += token
            writer.write(encode_frame({"type": "token", "id": rid, "text": token,
                                       "token_id": 1}))
            self.streamed[rid] = self.streamed.get(rid, 0) + 1
            if reason == "stop":
                break
        self.finished[rid] = reason
        n = len(frame.get("prompt_ids") or [])
        writer.write(encode_frame({"type": "done", "id": rid, "text": text,
                                   "finish_reason": reason, "stats": {
                                       "prompt_tokens": n, "reused_tokens": 0,
                                       "computed_tokens": n, "generated_tokens": 1,
                                       "ttft_ms": 1.0, "decode_ms": 1.0}}))
