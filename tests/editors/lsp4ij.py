"""A client that treats a user-defined language server template as LSP4IJ does, without an IDE.

What it copies from LSP4IJ (redhat-developer/lsp4ij, 0.20 to main):

- `LanguageServerTemplateManager.createLsTemplate`: a template folder's `template.json`,
  `settings.json` and `initializationOptions.json` (a missing one reads as `{}`).
- `ServerTemplate.getOSProgramArgs`: the command is `programArgs[<os>]`, else
  `programArgs.default`; the first word `autan` is the console script beside this Python.
- `ClientCapabilitiesFactory`: the capabilities that matter to autan (configuration,
  workspace folders, dynamic watched files, work-done progress, inline completion, UTF-16).
- `UserDefinedLanguageClient`: once the server has started it pushes the whole of
  `settings.json` with `workspace/didChangeConfiguration`, and `LanguageClientImpl.configuration`
  answers `workspace/configuration` per item with `SettingsHelper.findSettings(section)`.
- `LSPInlineCompletionSupport`: every request says `triggerKind: Automatic`, and
  `LSPInlineCompletionProvider` drops items whose text is blank.
- File name pattern mappings pick the `languageId` sent with `didOpen`.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import shlex
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, default_converter, register_lsp_features

from tests.lsp.harness import START_TIMEOUT_S, ServerEnv, within

REPO = Path(__file__).resolve().parents[2]
JETBRAINS = REPO / "editors" / "jetbrains"
TEMPLATE_DIR = JETBRAINS / "autan"


@dataclass
class Template:
    """A template folder as LSP4IJ reads it."""

    template: dict[str, Any]
    settings: Any
    initialization_options: Any

    @classmethod
    def load(cls, folder: Path = TEMPLATE_DIR) -> Template:
        def read(name: str) -> Any:
            path = folder / name
            return json.loads(path.read_text() if path.exists() else "{}")

        return cls(read("template.json"), read("settings.json"),
                   read("initializationOptions.json"))

    def program_args(self, os_key: str) -> str:
        """What LSP4IJ runs on `os_key` ("windows", "mac" or "unix")."""
        args = self.template["programArgs"]
        return args.get(os_key) or args["default"]

    def language_id(self, filename: str) -> str | None:
        """The languageId of the first file name pattern mapping that matches."""
        for mapping in self.template.get("fileTypeMappings", []):
            patterns = mapping["fileType"].get("patterns", [])
            if any(fnmatch.fnmatchcase(filename, p) for p in patterns):
                return mapping["languageId"]
        return None


def server_command(program_args: str) -> list[str]:
    """The template's command line, with `autan` resolved to the console script beside this
    Python (the user's PATH would find their own installation instead)."""
    argv = shlex.split(program_args)
    if argv and argv[0] == "autan":
        argv[0] = str(Path(sys.executable).with_name("autan"))
    return argv


def find_settings(section: str | None, settings: Any) -> Any:
    """`SettingsHelper.findSettings`: the key itself, else a dotted path, else the keys that
    start with the section's dotted segments (None when nothing matches)."""
    if section is None or not isinstance(settings, dict):
        return None
    if section in settings:
        return settings[section]
    parts, current = section.split("."), settings
    for part in parts:
        if not isinstance(current, dict) or part not in current:
            break
        current = current[part]
    else:
        return current
    kept = {k: v for k, v in settings.items() if k.split(".")[: len(parts)] == parts}
    return kept or None


def capabilities() -> types.ClientCapabilities:
    """The parts of LSP4IJ's client capabilities that autan reads."""
    return types.ClientCapabilities(
        workspace=types.WorkspaceClientCapabilities(
            apply_edit=True, workspace_folders=True, configuration=True,
            did_change_configuration=types.DidChangeConfigurationClientCapabilities(True),
            did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(True)),
        text_document=types.TextDocumentClientCapabilities(
            synchronization=types.TextDocumentSyncClientCapabilities(
                will_save=True, will_save_wait_until=True, did_save=True),
            inline_completion=types.InlineCompletionClientCapabilities(True)),
        window=types.WindowClientCapabilities(work_done_progress=True),
        general=types.GeneralClientCapabilities(
            position_encodings=[types.PositionEncodingKind.Utf16]))


def make_client(settings: Any) -> LanguageClient:
    """pytest-lsp's client with LSP4IJ's answer to workspace/configuration, recording the
    sections asked for and accepting dynamic registrations."""
    client = LanguageClient(converter_factory=default_converter)
    client.sections_asked = []  # type: ignore[attr-defined]

    def configuration(ls: LanguageClient, params: types.ConfigurationParams) -> list[Any]:
        ls.sections_asked.extend(i.section for i in params.items)  # type: ignore[attr-defined]
        return [find_settings(item.section, settings) for item in params.items]

    def register(ls: LanguageClient, params: types.RegistrationParams) -> None:
        return None

    register_lsp_features(client, {**DEFAULT_CLIENT_FEATURES,
                                   types.WORKSPACE_CONFIGURATION: configuration,
                                   types.CLIENT_REGISTER_CAPABILITY: register})
    return client


@contextlib.asynccontextmanager
async def lsp4ij_session(env: ServerEnv, template: Template, folder: Path, os_key: str = "unix"
                         ) -> AsyncIterator[LanguageClient]:
    """Start the template's server as LSP4IJ would for a project `folder`: initialize with
    `initializationOptions.json`, then push the whole `settings.json`."""
    config = ClientServerConfig(server_command=server_command(template.program_args(os_key)),
                                client_factory=lambda: make_client(template.settings),
                                server_env=env.environ())
    client = await config.start()
    try:
        client.init_result = await within(  # type: ignore[attr-defined]
            client.initialize_session(types.InitializeParams(
                capabilities=capabilities(),
                client_info=types.ClientInfo("IntelliJ IDEA", "2024.2"),
                root_uri=folder.as_uri(),
                workspace_folders=[types.WorkspaceFolder(folder.as_uri(), folder.name)],
                initialization_options=template.initialization_options)),
            START_TIMEOUT_S)
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings=template.settings))
        yield client
    finally:
        with contextlib.suppress(Exception):
            await within(client.shutdown_session(), 30)
        with contextlib.suppress(Exception):
            await within(client.stop(), 30)


def did_open(client: LanguageClient, template: Template, path: Path, text: str) -> str:
    """didOpen with the languageId the template maps the file name to."""
    language = template.language_id(path.name)
    assert language is not None, f"the template maps no language to {path.name}"
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))
    return uri


def automatic_request(uri: str, line: int, character: int) -> types.InlineCompletionParams:
    """What LSPInlineCompletionSupport sends, whatever started it (typing or Alt+\\)."""
    return types.InlineCompletionParams(
        context=types.InlineCompletionContext(types.InlineCompletionTriggerKind.Automatic),
        text_document=types.TextDocumentIdentifier(uri), position=types.Position(line, character))


def shown_variants(result: types.InlineCompletionList | list[Any] | None) -> list[str]:
    """The texts LSP4IJ turns into variants: items whose insert text is not blank."""
    items = result.items if isinstance(result, types.InlineCompletionList) else result or []
    texts = [i.insert_text if isinstance(i.insert_text, str) else i.insert_text.value
             for i in items]
    return [t for t in texts if t.strip()]
