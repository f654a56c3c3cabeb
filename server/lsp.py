"""The language server: LSP over stdio or TCP, on pygls 2.

Handlers are thin: they read the document, call `Completer` (completion.py) and convert to
`lsprotocol` types; the logic lives in the plain functions below them. Custom messages, for
status bars, streaming previews, tests and `autan bench lsp`:

- `autan/status` (notification) {state: "indexing" | "ready" | "generating" | "error",
  message, percentage?}; sent when the state changes. `percentage` (0-100) comes with
  "indexing" only, as the same pass's `$/progress` reports it (sent also to clients without
  work-done progress). The server has no "disabled" state: a client that is switched off
  simply stops asking.
- `autan/inlineCompletionProgress` (notification) {textDocument: {uri}, position, text}: the
  growing text of the completion being generated, sent only to clients that set
  `streamProgress: true` in their settings; the final answer is still the
  `textDocument/inlineCompletion` response.
- `autan/stats` (request, params {recent?: int}) -> {requests, answered, empty, cancelled,
  errors, cache_hits, model_calls, inflight, generating (requests past the debounce),
  engine_pid, engine_streams (requests at the engine), settings (in effect, snake_case),
  folders: [{root, files}], recent:
  [the last `recent` completions, newest last: {uri, from_cache, items, model_calls,
  prompt_tokens, cached_tokens, computed_tokens, generated_tokens, timings_ms}],
  acceptance: {shown, accepted, partially_accepted, accepted_chars, rate}} (see
  completion.py for the timings, feedback.py for acceptance; `rate` is accepted / shown, null
  before anything was shown). Counters are since the server started, and stay in it.
- `autan/indexedDocument` (request, params {textDocument: {uri}}) -> null when no indexed
  workspace folder holds the document, else what its index holds for it, once every change
  sent before the request has reached the index: {path (repository-relative), buffer (true:
  the editor's text, not the file on disk), sha1 (of that text's UTF-8), language,
  definitions, imports, resolved_imports}, the indexer's records as JSON (0-based lines);
  for tests, and for seeing what the context builder reads.
- `autan/didShowCompletion` (notification, client to server) {textDocument: {uri}}: a
  suggestion was offered to the user; once per suggestion, not again while the user types
  along it or while its text streams in.
- `autan/didAcceptCompletion` (notification, client to server) {textDocument: {uri}, kind:
  "full" | "word" | "line", acceptedLength}: the user took the rest of the suggestion (full),
  or its next word or line; `acceptedLength` counts the characters inserted (UTF-16 code
  units). Malformed feedback is logged and not counted.

Clients: `autan lsp` and `autan lsp --stdio` both serve stdio (editor clients such as
vscode-languageclient add `--stdio`); `editors/vscode/` is the VS Code client of these messages.
Settings the server does not know are reported as invalid, so a client filters its own
(client-only) settings out of what it sends.

Open documents: the index of their folder holds the editor's text in place of the file on
disk. It gets the whole text on didOpen (and when the folder's first indexing ends), and on
didChange the edits, converted to the indexer's units (documents.py), which it re-parses
incrementally; one worker thread applies them in order, under the folder's lock
(workspaces.py), and a completion waits for those sent before it. didClose gives the file on
disk back.

Files changed on disk outside the editor: a client that supports dynamic registration of
`workspace/didChangeWatchedFiles` is asked (`client/registerCapability`) to watch `**/*`;
reported paths are re-read by their folder's index in debounced batches (watch.py).

Settings come from `initializationOptions`, then from `workspace/configuration` (section
"autan", pulled after `initialized` and on `workspace/didChangeConfiguration` without
settings, when the client supports it) or from the settings pushed with
`workspace/didChangeConfiguration`; what the client sends later is merged over the
initialization options.

JSON-RPC errors pygls does not send by itself (`AutanProtocol`, `report_server_error`): a body
that is not JSON gets -32700, a message that is not a request object -32600, a request whose
params do not fit its method -32602; the server keeps serving after each.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from autan.indexer.parse import TextEdit
from autan.server.backend import Backend, LocalBackend, RemoteBackend, default_model_folder
from autan.server.completion import BUFFER_INDEX_LIMIT, Completer, Request, Result, clean_text
from autan.server.documents import (
    LineIndex,
    LspDocument,
    newline_position,
    use_lsp_documents,
)
from autan.server.feedback import FeedbackCounters, parse_acceptance, parse_shown
from autan.server.options import ModelOptions, ServerOptions, parse_options
from autan.server.typeahead import TypeAheadCache
from autan.server.watch import ChangedFiles, watcher_registration
from autan.server.workspaces import Folder, Workspaces

log = logging.getLogger(__name__)
VERSION = "0.1.0"
CONFIG_SECTION = "autan"
CONFIG_TIMEOUT_S = 10.0  # a client that never answers workspace/configuration
DRAIN_WAIT_S = 3.0  # `autan/stats` waits this long for cancelled generations' stats
RECENT = 256  # completions kept for `autan/stats`
PARSE_ERROR, INVALID_REQUEST = -32700, -32600
_progress_tokens = itertools.count(1)


@dataclass
class Counters:
    """What `autan/stats` reports: request outcomes since start, and the latest results."""

    requests: int = 0
    answered: int = 0  # with at least one item
    empty: int = 0  # answered null
    cancelled: int = 0
    errors: int = 0
    cache_hits: int = 0
    model_calls: int = 0
    feedback: FeedbackCounters = field(default_factory=FeedbackCounters)
    recent: deque[tuple[str, Result]] = field(default_factory=lambda: deque(maxlen=RECENT))

    def count(self, uri: str, result: Result | None) -> None:
        if result is None:
            return
        self.cache_hits += result.from_cache
        self.model_calls += result.model_calls
        self.recent.append((uri, result))


class AutanProtocol(LanguageServerProtocol):
    """pygls's protocol, answering malformed requests instead of only logging them: pygls
    raises while decoding a request whose params do not fit its method, and that request
    then never gets a response, so a client would wait for it forever."""

    _REJECTED = object()

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as err:
            if "method" in data and data.get("id") is not None:
                self.send_error(data["id"], err.code, f"{err.message}: {data['method']}")
            return self._REJECTED

    def handle_message(self, message: Any) -> None:
        if message is self._REJECTED:
            return
        if not hasattr(message, "jsonrpc"):  # a JSON value that is not a JSON-RPC object
            rid = message.get("id") if isinstance(message, dict) else None
            self.send_error(rid, INVALID_REQUEST, "Invalid Request: not a JSON-RPC message")
            return
        super().handle_message(message)

    def send_error(self, rid: Any, code: int, message: str) -> None:
        rid = rid if isinstance(rid, int | str) and not isinstance(rid, bool) else None
        self._send_data({"jsonrpc": "2.0", "id": rid,
                         "error": {"code": code, "message": message}})


class AutanServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("autan", VERSION, protocol_cls=AutanProtocol,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.options = ServerOptions()
        self.init_settings: dict[str, Any] = {}
        self.workspaces = Workspaces()
        self.changed_files = ChangedFiles(self.workspaces)
        self.backend: Backend | None = None
        self.backend_error: str | None = None
        self.inflight: dict[str, asyncio.Task[Any]] = {}
        self.background: set[asyncio.Future[Any]] = set()  # kept referenced until they finish
        self.drains: set[asyncio.Task[None]] = set()
        self.typeahead = TypeAheadCache()
        self.counters = Counters()
        self.generating = 0
        self.state: tuple[str, str, int | None] | None = None
        self._backend_lock: asyncio.Lock | None = None

    def spawn(self, coro: Any) -> None:
        """Run `coro` in the background, holding a reference so it is not collected."""
        future = asyncio.ensure_future(coro)
        self.background.add(future)
        future.add_done_callback(self.background.discard)

    def status(self, state: str, message: str = "", percentage: int | None = None) -> None:
        """`autan/status`, sent only when it changes (not twice per keystroke)."""
        if self.state != (state, message, percentage):
            self.state = (state, message, percentage)
            params: dict[str, Any] = {"state": state, "message": message}
            if percentage is not None:
                params["percentage"] = percentage
            self.protocol.notify("autan/status", params)

    def log_message(self, message: str, kind: types.MessageType = types.MessageType.Info
                    ) -> None:
        self.window_log_message(types.LogMessageParams(kind, message))

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A body that is not JSON gets -32700 (id null, as JSON-RPC says); other errors
        outside a request go to the log, not to a pop-up: the user cannot act on them."""
        if isinstance(error, json.JSONDecodeError | UnicodeDecodeError):
            self.protocol.send_error(None, PARSE_ERROR, f"Parse error: {error}")
        else:
            log.warning("server error (%s): %s", getattr(source, "__name__", source), error)
            with contextlib.suppress(Exception):
                self.log_message(f"autan: {error}", types.MessageType.Error)

    def apply_settings(self, raw: Any) -> None:
        options, errors = parse_options(merge_settings(self.init_settings, raw))
        for error in errors:
            self.log_message(f"autan settings: {error}", types.MessageType.Warning)
        if errors:
            self.window_show_message(types.ShowMessageParams(
                types.MessageType.Warning, "autan: some settings are invalid (see the log)"))
        if options.model != self.options.model and self.backend is not None:
            self.spawn(self.backend.close())
            self.backend, self.backend_error = None, None
        self.options = options

    async def get_backend(self) -> Backend:
        """Started on demand, in a worker thread (it loads a tokenizer, and may have to make
        the demo model): the local engine, or a remote one when configured."""
        self._backend_lock = self._backend_lock or asyncio.Lock()
        async with self._backend_lock:
            if self.backend is None:
                self.backend = await asyncio.to_thread(make_backend, self.options.model)
            return self.backend

    def completer_for(self, backend: Backend, path: Path | None) -> tuple[Completer, str]:
        """A completer over the index of the workspace folder holding `path`, and the path
        as the index names it (the URI's path when no indexed folder holds it)."""
        folder = self.workspaces.folder_of(path) if path is not None else None
        index = folder.index if folder is not None else None
        rel = (index.relpath(path) if index is not None and path is not None
               else str(path or ""))
        completer = Completer(backend, self.options.completion, index,
                              folder.lock if folder else None, self.typeahead, self.drains)
        return completer, rel

    def client_supports(self, *attrs: str) -> bool:
        """Whether the client's capabilities have `attrs` (a path such as "workspace",
        "configuration") set and true."""
        value: Any = self.client_capabilities
        for attr in attrs:
            value = getattr(value, attr, None)
        return bool(value)

    @contextlib.contextmanager
    def superseding(self, uri: str) -> Iterator[None]:
        """Run the current request as the document's only one: a newer request for the same
        document cancels it (the client gets -32800 and never stale text)."""
        older, task = self.inflight.get(uri), asyncio.current_task()
        if older is not None and not older.done():
            older.cancel()
        assert task is not None
        self.inflight[uri] = task
        try:
            yield
        except asyncio.CancelledError:
            self.counters.cancelled += 1
            raise
        finally:
            if self.inflight.get(uri) is task:
                del self.inflight[uri]


server = AutanServer()


@server.feature(types.INITIALIZE)
def initialize(ls: AutanServer, params: types.InitializeParams) -> None:
    use_lsp_documents(ls.workspace)
    raw = params.initialization_options
    ls.init_settings = raw if isinstance(raw, dict) else {}
    ls.apply_settings({})
    for root in workspace_roots(params):
        ls.workspaces.add(root)


@server.feature(types.INITIALIZED)
async def initialized(ls: AutanServer, params: types.InitializedParams) -> None:
    if ls.client_supports("workspace", "configuration"):
        await pull_configuration(ls)
    if ls.client_supports("workspace", "did_change_watched_files", "dynamic_registration"):
        ls.spawn(watch_files(ls))
    for folder in list(ls.workspaces.folders.values()):
        ls.spawn(index_folder(ls, folder))


@server.feature(types.SHUTDOWN)
async def shutdown(ls: AutanServer, params: None) -> None:
    for task in list(ls.inflight.values()):
        task.cancel()
    if ls.backend is not None:
        with contextlib.suppress(Exception):
            await ls.backend.close()  # a shared engine keeps serving other windows


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: AutanServer,
                                   params: types.DidChangeConfigurationParams) -> None:
    settings = pushed_settings(json_value(params.settings))
    if settings is not None:
        ls.apply_settings(settings)
    elif ls.client_supports("workspace", "configuration"):
        await pull_configuration(ls)


@server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
def did_change_folders(ls: AutanServer,
                       params: types.DidChangeWorkspaceFoldersParams) -> None:
    for removed in params.event.removed:
        ls.workspaces.remove(Path(to_fs_path(removed.uri) or removed.uri))
    for added in params.event.added:
        if (path := to_fs_path(added.uri)) is not None:
            ls.spawn(index_folder(ls, ls.workspaces.add(Path(path))))


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
async def did_change_watched_files(ls: AutanServer,
                                   params: types.DidChangeWatchedFilesParams) -> None:
    ls.changed_files.add(change.uri for change in params.changes)


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: AutanServer, params: types.DidOpenTextDocumentParams) -> None:
    sync_buffer(ls, params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: AutanServer, params: types.DidChangeTextDocumentParams) -> None:
    sync_buffer(ls, params.text_document.uri)  # pygls has applied the changes already


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: AutanServer, params: types.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    if (task := ls.inflight.get(uri)) is not None:
        task.cancel()
    ls.typeahead.forget(uri)
    if (path := to_fs_path(uri)) is not None:  # queued now: after the document's changes
        ls.workspaces.close_buffer(Path(path))


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(ls: AutanServer, params: types.InlineCompletionParams
                            ) -> types.InlineCompletionList | None:
    ls.counters.requests += 1
    with ls.superseding(params.text_document.uri):
        await asyncio.sleep(ls.options.completion.debounce_ms / 1000)
        answer = await complete(ls, params)
    ls.counters.answered += answer is not None
    ls.counters.empty += answer is None
    return answer


@server.feature("autan/didShowCompletion")
def did_show_completion(ls: AutanServer, params: Any) -> None:
    uri, problem = parse_shown(json_value(params))
    if uri is None:
        log.warning("autan/didShowCompletion ignored: %s", problem)
        return
    ls.counters.feedback.did_show()


@server.feature("autan/didAcceptCompletion")
def did_accept_completion(ls: AutanServer, params: Any) -> None:
    acceptance, problem = parse_acceptance(json_value(params))
    if acceptance is None:
        log.warning("autan/didAcceptCompletion ignored: %s", problem)
        return
    ls.counters.feedback.did_accept(acceptance)


@server.feature("autan/stats")
async def stats(ls: AutanServer, params: Any) -> dict[str, Any]:
    if ls.drains:  # cancelled generations still owe their stats
        await asyncio.wait(list(ls.drains), timeout=DRAIN_WAIT_S)
    recent = custom_param(params, "recent", 1)
    return stats_payload(ls, recent if isinstance(recent, int) else 1)


@server.feature("autan/indexedDocument")
async def indexed_document(ls: AutanServer, params: Any) -> dict[str, Any] | None:
    uri = custom_param(custom_param(params, "textDocument", None), "uri", None)
    path = to_fs_path(uri) if isinstance(uri, str) else None
    if not path:
        return None
    folder = ls.workspaces.folder_of(Path(path))
    if folder is None:
        return None
    await asyncio.wrap_future(ls.workspaces.buffers_done())
    return await asyncio.to_thread(indexed_payload, folder, Path(path))


async def complete(ls: AutanServer, params: types.InlineCompletionParams
                   ) -> types.InlineCompletionList | None:
    """Snapshot the document, complete, and answer only if the document is still that
    snapshot: an answer for text that has changed since would be placed wrongly."""
    doc = open_document(ls, params.text_document.uri)
    if doc is None or not language_enabled(ls.options, doc.language_id):
        return None
    lines = doc.line_index()
    offset = lines.offset(params.position.line, params.position.character)
    result = await run_completion(ls, doc, lines.text, offset, params)
    if result is None or open_document(ls, doc.uri) is not doc or doc.source is not lines.text:
        return None
    return to_lsp(lines, offset, result)


async def run_completion(ls: AutanServer, doc: TextDocument, text: str, offset: int,
                         params: types.InlineCompletionParams) -> Result | None:
    """The completion with its status notifications; a failure is logged and shown in the
    status, and the request gets null (the next request tries again)."""
    invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
    path = to_fs_path(doc.uri)
    ls.generating += 1
    ls.status("generating")
    try:
        backend = await ls.get_backend()
        # The context is cut from the index's copy of the document: let the edits sent
        # before this request reach it.
        await asyncio.wrap_future(ls.workspaces.buffers_done())
        completer, rel = ls.completer_for(backend, Path(path) if path else None)
        req = make_request(doc.uri, rel, text, offset, doc.language_id, invoked)
        result = await completer.complete(req, partial_sender(ls, params))
        ls.counters.count(doc.uri, result)
        return result
    except Exception as err:
        return completion_failed(ls, err)
    finally:
        ls.generating -= 1
        if ls.generating == 0 and ls.state is not None and ls.state[0] == "generating":
            ls.status("ready")


def completion_failed(ls: AutanServer, err: Exception) -> None:
    """Log a failed completion; a model that cannot be loaded also gets one pop-up, since
    only the user can fix the setting."""
    log.warning("completion failed: %s", err, exc_info=log.isEnabledFor(logging.DEBUG))
    ls.counters.errors += 1
    ls.status("error", str(err))
    ls.log_message(f"autan: completion failed: {err}", types.MessageType.Error)
    if ls.backend is None and ls.backend_error != str(err):
        ls.backend_error = str(err)
        ls.window_show_message(types.ShowMessageParams(
            types.MessageType.Error, f"autan: cannot start the model: {err}"))


async def pull_configuration(ls: AutanServer) -> None:
    """Ask the client for the "autan" section and apply it over the initialization options."""
    try:
        reply = await asyncio.wait_for(ls.workspace_configuration_async(
            types.ConfigurationParams([types.ConfigurationItem(section=CONFIG_SECTION)])),
            CONFIG_TIMEOUT_S)
    except Exception as err:  # a client may refuse, or not answer
        log.info("workspace/configuration failed: %s", err)
        return
    reply = json_value(reply)
    section = reply[0] if isinstance(reply, list) and reply else None
    ls.apply_settings(section if isinstance(section, dict) else {})


async def watch_files(ls: AutanServer) -> None:
    """Ask the client to report files changed on disk; without it, only open buffers and
    the next start's indexing see such changes."""
    try:
        await asyncio.wait_for(ls.client_register_capability_async(watcher_registration()),
                               CONFIG_TIMEOUT_S)
    except Exception as err:  # a client may refuse, or not answer
        log.info("client/registerCapability for watched files failed: %s", err)


async def index_folder(ls: AutanServer, folder: Folder) -> None:
    """Index a workspace folder in a worker thread, reporting `$/progress` (when the client
    supports it) and `autan/status`. A failure is logged; completion goes on without it."""
    progress = await IndexProgress.start(ls, folder.root)
    ls.status("indexing", str(folder.root), 0)
    try:
        index = await asyncio.to_thread(ls.workspaces.index, folder, progress.report)
        give_open_buffers(ls, folder)
        message = f"{len(index.records)} files indexed"
        ls.status("ready", message)
    except Exception as err:
        log.warning("indexing %s failed: %s", folder.root, err)
        message = f"indexing failed: {err}"
        ls.status("error", message)
        ls.log_message(f"autan: {message}", types.MessageType.Error)
    progress.end(message)


class IndexProgress:
    """Work-done progress for one indexing pass, fed from the indexing thread, mirrored in
    `autan/status` for status bars. Reports are sent only when the percentage moves, so a
    large repository costs ~100 notifications of each."""

    def __init__(self, ls: AutanServer, token: str | None, root: Path) -> None:
        self.ls, self.token, self.root = ls, token, root
        self.loop = asyncio.get_running_loop()
        self.last = 0

    @classmethod
    async def start(cls, ls: AutanServer, root: Path) -> IndexProgress:
        token: str | None = f"autan-index-{next(_progress_tokens)}"
        try:
            if not ls.client_supports("window", "work_done_progress"):
                raise RuntimeError("the client has no work-done progress")
            await ls.work_done_progress.create_async(token)
            ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(
                title="autan: indexing", message=str(root), percentage=0))
        except Exception:
            token = None
        return cls(ls, token, root)

    def report(self, done: int, total: int, message: str) -> None:
        percentage = int(100 * done / max(total, 1))
        if percentage == self.last:
            return
        self.last = percentage
        self.loop.call_soon_threadsafe(self.ls.status, "indexing", str(self.root), percentage)
        if self.token is not None:
            self.loop.call_soon_threadsafe(
                self.ls.work_done_progress.report, self.token,
                types.WorkDoneProgressReport(message=message, percentage=percentage))

    def end(self, message: str) -> None:
        if self.token is not None:
            self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=message))


def make_backend(model: ModelOptions) -> Backend:
    """The backend the settings ask for (blocking: tokenizer load, maybe the demo model)."""
    folder = Path(model.path).expanduser() if model.path else default_model_folder()
    local = LocalBackend(folder, model)
    return local if not model.endpoint else RemoteBackend(model, local.family, local.tokenizer)


def merge_settings(base: Any, override: Any) -> Any:
    """`override` deep-merged over `base` (objects merge key by key; anything else wins)."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return override if override is not None else base
    merged = dict(base)
    for key, value in override.items():
        merged[key] = merge_settings(base.get(key), value)
    return merged


def pushed_settings(settings: Any) -> dict[str, Any] | None:
    """The "autan" settings in a didChangeConfiguration push, or None when the client sent
    none (VS Code sends null and expects the server to pull)."""
    if isinstance(settings, dict) and isinstance(settings.get(CONFIG_SECTION), dict):
        return settings[CONFIG_SECTION]
    if isinstance(settings, dict) and settings and CONFIG_SECTION not in settings:
        return settings
    return None


def workspace_roots(params: types.InitializeParams) -> list[Path]:
    """The folders to index: the workspace folders, else the root URI or root path."""
    uris = [f.uri for f in params.workspace_folders or []] or (
        [params.root_uri] if params.root_uri else [])
    paths = [p for p in (to_fs_path(u) for u in uris) if p]
    if not paths and params.root_path:
        paths = [params.root_path]
    return [Path(p) for p in paths]


def open_document(ls: AutanServer, uri: str) -> LspDocument | None:
    """The document if the client opened it (pygls would read anything else from disk)."""
    doc = ls.workspace.text_documents.get(unquote(uri))
    return doc if isinstance(doc, LspDocument) else None


def language_enabled(options: ServerOptions, language_id: str | None) -> bool:
    return options.languages is None or language_id in options.languages


def make_request(uri: str, path: str, text: str, offset: int, language: str | None,
                 invoked: bool) -> Request:
    """A completion request at `offset`, with the cursor as the indexer counts lines (at
    "\\n" only; LSP positions were converted to the offset with LSP's line breaks)."""
    line, character = newline_position(text, offset)
    return Request(uri, path, text, line, character, language, invoked)


def sync_buffer(ls: AutanServer, uri: str) -> None:
    """Queue an open document's changes since the last call for its folder's index: the
    edits, with the text they make (the whole text, for a document just opened)."""
    doc = open_document(ls, uri)
    if doc is not None:
        queue_buffer(ls, doc, doc.take_index_edits() or ())  # taken always: none pile up


def queue_buffer(ls: AutanServer, doc: LspDocument, edits: Sequence[TextEdit]) -> None:
    """Queue `doc`'s text (and the `edits` that made it) for its folder's index, cleaned as
    a completion request's text is. Not a document that completion leaves alone: a disabled
    language, a buffer too large to index."""
    path, text = to_fs_path(doc.uri), doc.source
    if (not path or not language_enabled(ls.options, doc.language_id)
            or len(text) > BUFFER_INDEX_LIMIT):
        return
    # One code point stays one (clean_text), so the edits' positions still hold.
    edits = [replace(e, new_text=clean_text(e.new_text)) for e in edits]
    ls.workspaces.update_buffer(Path(path), clean_text(text), edits)


def give_open_buffers(ls: AutanServer, folder: Folder) -> None:
    """Queue the whole text of every document open in a folder just indexed: those opened
    while it was indexed reached no index."""
    for doc in list(ls.workspace.text_documents.values()):
        path = to_fs_path(doc.uri)
        if (isinstance(doc, LspDocument) and path
                and ls.workspaces.folder_of(Path(path)) is folder):
            queue_buffer(ls, doc, ())


def indexed_payload(folder: Folder, path: Path) -> dict[str, Any] | None:
    """`autan/indexedDocument`'s answer (blocking: under the folder's lock)."""
    with folder.lock:
        index = folder.index
        record = index.records.get(index.relpath(path)) if index is not None else None
        if index is None or record is None:
            return None
        symbols = record.symbols
        return {"path": record.path, "buffer": record.path in index.buffers,
                "sha1": record.sha1, "language": record.language,
                "definitions": [asdict(d) for d in symbols.definitions] if symbols else [],
                "imports": [asdict(i) for i in symbols.imports] if symbols else [],
                "resolved_imports": list(record.resolved_imports)}


def partial_sender(ls: AutanServer, params: types.InlineCompletionParams
                   ) -> Callable[[str], None] | None:
    if not ls.options.stream_progress:
        return None

    def send(text: str) -> None:
        ls.protocol.notify("autan/inlineCompletionProgress", {
            "textDocument": {"uri": params.text_document.uri},
            "position": {"line": params.position.line,
                         "character": params.position.character},
            "text": text})

    return send


def to_lsp(lines: LineIndex, offset: int, result: Result) -> types.InlineCompletionList | None:
    """Items whose range starts at the cursor and ends after the characters they replace."""
    if not result.items:
        return None
    start = types.Position(*lines.position(offset))
    items = [types.InlineCompletionItem(
        insert_text=item.text,
        range=types.Range(start, types.Position(*lines.position(
            offset + item.replace_suffix_chars)))) for item in result.items]
    return types.InlineCompletionList(items=items)


def json_value(value: Any) -> Any:
    """A JSON value as plain dicts and lists: pygls structures the free-form values it
    cannot type (custom params, configuration replies) into namedtuples."""
    if hasattr(value, "_asdict"):
        return {k: json_value(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    return value


def custom_param(params: Any, name: str, default: Any) -> Any:
    """A field of a custom request's params: pygls hands them over as a namedtuple."""
    if isinstance(params, dict):
        return params.get(name, default)
    return getattr(params, name, default)


def stats_payload(ls: AutanServer, recent: int) -> dict[str, Any]:
    c = ls.counters
    latest = list(c.recent)[-recent:] if recent > 0 else []
    return {
        "requests": c.requests, "answered": c.answered, "empty": c.empty,
        "cancelled": c.cancelled, "errors": c.errors, "cache_hits": c.cache_hits,
        "model_calls": c.model_calls, "inflight": len(ls.inflight),
        "generating": ls.generating,
        "engine_pid": getattr(ls.backend, "engine_pid", None),
        "engine_streams": getattr(ls.backend, "open_streams", 0),
        "settings": asdict(ls.options),
        "folders": [{"root": str(root), "files": None if f.index is None
                     else len(f.index.records)} for root, f in ls.workspaces.folders.items()],
        "recent": [result_payload(uri, r) for uri, r in latest],
        "acceptance": c.feedback.payload(),
    }


def result_payload(uri: str, r: Result) -> dict[str, Any]:
    s = r.stats
    return {"uri": uri, "from_cache": r.from_cache, "model_calls": r.model_calls,
            "prompt_tokens": s.prompt_tokens, "cached_tokens": s.reused_tokens,
            "computed_tokens": s.computed_tokens, "generated_tokens": s.generated_tokens,
            "items": [item.text for item in r.items],
            "timings_ms": {k: round(v, 3) for k, v in r.timings_ms.items()}}
