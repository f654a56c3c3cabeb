"""The language server: LSP over stdio or TCP, on pygls 2.

Handlers are thin: they read the document, call `Completer` (completion.py) and convert to
`lsprotocol` types. Custom notifications, for status bars and streaming previews:

- `autan/status` {state: "indexing" | "ready" | "generating" | "error", message}
- `autan/inlineCompletionProgress` {textDocument: {uri}, position, text}: the growing text of
  the completion being generated, sent only to clients that set `streamProgress: true` in
  their settings; the final answer is still the `textDocument/inlineCompletion` response.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from autan.server.backend import Backend, LocalBackend, RemoteBackend, default_model_folder
from autan.server.completion import Completer, Request, Result
from autan.server.options import ServerOptions, parse_options
from autan.server.workspaces import Workspaces

log = logging.getLogger(__name__)
VERSION = "0.1.0"


class AutanServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("autan", VERSION,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.options = ServerOptions()
        self.workspaces = Workspaces()
        self.backend: Backend | None = None
        self.inflight: dict[str, asyncio.Task] = {}
        self.background: set[asyncio.Future] = set()  # kept referenced until they finish

    def spawn(self, coro: object) -> None:
        """Run `coro` in the background, holding a reference so it is not collected."""
        future = asyncio.ensure_future(coro)  # type: ignore[arg-type]
        self.background.add(future)
        future.add_done_callback(self.background.discard)

    def status(self, state: str, message: str = "") -> None:
        self.protocol.notify("autan/status", {"state": state, "message": message})

    def log_info(self, message: str) -> None:
        self.window_log_message(types.LogMessageParams(types.MessageType.Info, message))

    def apply_settings(self, raw: object) -> None:
        options, errors = parse_options(raw)
        for error in errors:
            self.window_log_message(types.LogMessageParams(types.MessageType.Warning,
                                                           f"autan settings: {error}"))
        if errors:
            self.window_show_message(types.ShowMessageParams(
                types.MessageType.Warning, "autan: some settings are invalid (see the log)"))
        if options.model != self.options.model and self.backend is not None:
            self.spawn(self.backend.close())
            self.backend = None
        self.options = options

    def get_backend(self) -> Backend:
        """Started on demand: the local engine (or a remote one, when configured)."""
        if self.backend is None:
            model = self.options.model
            folder = Path(model.path) if model.path else default_model_folder()
            local = LocalBackend(folder, model)
            self.backend = (local if not model.endpoint
                            else RemoteBackend(model, local.family, local.tokenizer))
        return self.backend

    def completer_for(self, path: Path) -> tuple[Completer, str]:
        folder = self.workspaces.folder_of(path)
        index = folder.index if folder else None
        rel = path.relative_to(folder.root).as_posix() if folder and index else str(path)
        completer = Completer(self.get_backend(), self.options.completion, index,
                              folder.lock if folder else None)
        completer.cache = self.typeahead
        return completer, rel

    @property
    def typeahead(self):
        if not hasattr(self, "_typeahead"):
            from autan.server.typeahead import TypeAheadCache

            self._typeahead = TypeAheadCache()
        return self._typeahead


server = AutanServer()


@server.feature(types.INITIALIZE)
def initialize(ls: AutanServer, params: types.InitializeParams) -> None:
    ls.apply_settings(params.initialization_options or {})
    for folder in params.workspace_folders or []:
        ls.workspaces.add(Path(to_fs_path(folder.uri)))
    if not ls.workspaces.folders and params.root_uri:
        ls.workspaces.add(Path(to_fs_path(params.root_uri)))


@server.feature(types.INITIALIZED)
async def initialized(ls: AutanServer, params: types.InitializedParams) -> None:
    for folder in list(ls.workspaces.folders.values()):
        ls.spawn(index_folder(ls, folder))


async def index_folder(ls: AutanServer, folder: object) -> None:
    """Index a workspace folder in a worker thread, reporting `$/progress`."""
    token = f"autan-index-{id(folder)}"
    loop = asyncio.get_running_loop()
    try:
        await ls.work_done_progress.create_async(token)
        ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(
            title="autan: indexing", message=str(folder.root), percentage=0))
    except Exception:
        token = None
    ls.status("indexing", str(folder.root))

    def progress(done: int, total: int, message: str) -> None:
        if token is not None:
            pct = int(100 * done / max(total, 1))
            loop.call_soon_threadsafe(ls.work_done_progress.report, token,
                                      types.WorkDoneProgressReport(message=message,
                                                                   percentage=pct))

    index = await asyncio.to_thread(ls.workspaces.index, folder, progress)
    if token is not None:
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(
            message=f"{len(index.records)} files"))
    ls.status("ready", f"{len(index.records)} files indexed")


@server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
def did_change_configuration(ls: AutanServer,
                             params: types.DidChangeConfigurationParams) -> None:
    settings = params.settings
    if isinstance(settings, dict) and "autan" in settings:
        settings = settings["autan"]
    if settings:
        ls.apply_settings(settings)


@server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
def did_change_folders(ls: AutanServer,
                       params: types.DidChangeWorkspaceFoldersParams) -> None:
    for removed in params.event.removed:
        ls.workspaces.remove(Path(to_fs_path(removed.uri)))
    for added in params.event.added:
        ls.spawn(index_folder(ls, ls.workspaces.add(Path(to_fs_path(added.uri)))))


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: AutanServer, params: types.DidCloseTextDocumentParams) -> None:
    ls.typeahead.forget(params.text_document.uri)


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
async def inline_completion(ls: AutanServer, params: types.InlineCompletionParams
                            ) -> types.InlineCompletionList | None:
    uri = params.text_document.uri
    older = ls.inflight.get(uri)
    if older is not None and not older.done():
        older.cancel()  # a newer request for the same document wins
    task = asyncio.current_task()
    ls.inflight[uri] = task
    try:
        await asyncio.sleep(ls.options.completion.debounce_ms / 1000)
        return await answer(ls, params)
    finally:
        if ls.inflight.get(uri) is task:
            del ls.inflight[uri]


async def answer(ls: AutanServer, params: types.InlineCompletionParams
                 ) -> types.InlineCompletionList | None:
    doc = ls.workspace.get_text_document(params.text_document.uri)
    languages = ls.options.languages
    if languages is not None and doc.language_id not in languages:
        return None
    offset = doc.offset_at_position(params.position)
    text = doc.source
    line = text.count("\n", 0, offset)
    req = Request(doc.uri, "", text, line, offset - (text.rfind("\n", 0, offset) + 1),
                  doc.language_id, params.context.trigger_kind
                  == types.InlineCompletionTriggerKind.Invoked)
    completer, req.path = ls.completer_for(Path(to_fs_path(doc.uri)))
    ls.status("generating")
    try:
        result = await completer.complete(req, partial_sender(ls, params))
    except Exception as err:
        log.exception("completion failed")
        ls.status("error", str(err))
        return None
    ls.status("ready")
    return to_lsp(doc, offset, result)


def partial_sender(ls: AutanServer, params: types.InlineCompletionParams):
    if not ls.options.stream_progress:
        return None

    def send(text: str) -> None:
        ls.protocol.notify("autan/inlineCompletionProgress", {
            "textDocument": {"uri": params.text_document.uri},
            "position": {"line": params.position.line,
                         "character": params.position.character},
            "text": text})

    return send


def to_lsp(doc: object, offset: int, result: Result | None) -> types.InlineCompletionList | None:
    if result is None or not result.items:
        return None
    start = doc.client_position_at_offset(offset)
    items = []
    for item in result.items:
        end = doc.client_position_at_offset(offset + item.replace_suffix_chars)
        items.append(types.InlineCompletionItem(insert_text=item.text,
                                                range=types.Range(start, end)))
    return types.InlineCompletionList(items=items)
