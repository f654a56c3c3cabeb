"""The JetBrains (LSP4IJ) template, `editors/jetbrains/autan/`, tested without an IDE.

- `template.json` against `editors/jetbrains/template.schema.json`, our mirror of LSP4IJ's
  template deserializer (LSP4IJ has no schema of it), and its file name patterns against
  every file the indexer reads (`autan.indexer.languages.LANGUAGES`).
- `settings.schema.json` is what `editors/jetbrains/settings_schema.py` makes from the
  server's options today (regenerate: `.venv/bin/python -P editors/jetbrains/settings_schema.py`).
- `settings.json` and `initializationOptions.json` against that schema and the server's parser.
- End to end: an LSP4IJ-like client (`tests/editors/lsp4ij.py`) runs the template's command,
  the real `autan lsp` with the bundled model on CPU in private XDG directories, and gets
  inline completion items for a file opened with the template's language id.

Fixture: `pkg/geometry.py`, a small module whose last line is being typed.
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from autan.indexer.languages import LANGUAGES
from autan.model.io.default_model import default_model_dir
from autan.server.options import parse_options
from tests.editors.json_schema import errors
from tests.editors.lsp4ij import (
    JETBRAINS,
    TEMPLATE_DIR,
    Template,
    automatic_request,
    did_open,
    find_settings,
    lsp4ij_session,
    server_command,
    shown_variants,
)
from tests.lsp.conftest import stop_engine
from tests.lsp.harness import REQUEST_TIMEOUT_S, ServerEnv, stats, until, within

# The LSP language id each indexed language is opened with (VS Code's ids).
LSP_IDS = {"python": "python", "javascript": "javascript", "typescript": "typescript",
           "tsx": "typescriptreact", "go": "go", "rust": "rust", "java": "java", "c": "c",
           "cpp": "cpp", "c_sharp": "csharp", "ruby": "ruby", "php": "php",
           "bash": "shellscript", "lua": "lua"}
REACT = {".jsx": "javascriptreact"}  # the indexer reads .jsx as javascript
GEOMETRY = '''"""Points and distances."""
import math


class Point:
    def __init__(self, x: float, y: float) -> None:
        self.x = x
        self.y = y


def distance(a: Point, b: Point) -> float:
    return '''
LAST = GEOMETRY.count("\n")
CURSORS = [(LAST, len("    return ")), (LAST - 1, len("def distance(")), (LAST - 3, 0)]


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load()


def test_template_matches_lsp4ij_format(template: Template) -> None:
    schema = load_json(JETBRAINS / "template.schema.json")
    assert errors(template.template, schema) == []
    assert template.template["id"] == "autan"
    assert set(template.template["programArgs"]) == {"default", "windows", "mac", "unix"}


@pytest.mark.parametrize("change, reason", [
    (lambda t: t.pop("programArgs"), "missing 'programArgs'"),
    (lambda t: t.update(programArgs="autan lsp"), "$.programArgs: expected object"),
    (lambda t: t["fileTypeMappings"][0].pop("languageId"), "missing 'languageId'"),
    (lambda t: t["fileTypeMappings"][0].update(fileType={}), "fewer than 1 keys"),
    (lambda t: t.update(filetypeMappings=[]), "$.filetypeMappings: not allowed"),
])
def test_template_schema_refuses_what_lsp4ij_cannot_read(template: Template, change: Any,
                                                         reason: str) -> None:
    broken = copy.deepcopy(template.template)
    change(broken)
    found = errors(broken, load_json(JETBRAINS / "template.schema.json"))
    assert any(reason in e for e in found), found


def test_program_args_start_the_language_server(template: Template) -> None:
    for os_key in ("windows", "mac", "unix", "linux-with-no-key"):
        argv = server_command(template.program_args(os_key))
        assert Path(argv[0]).name in ("autan", "autan.exe") and argv[1:] == ["lsp"], argv
    assert Path(server_command("autan lsp")[0]).is_file()


def test_patterns_map_every_indexed_file_to_its_language_id(template: Template) -> None:
    for spec in LANGUAGES.values():
        for name in [f"x{ext}" for ext in spec.extensions] + list(spec.filenames):
            expected = REACT.get(Path(name).suffix, LSP_IDS[spec.name])
            assert template.language_id(name) == expected, name
    assert template.language_id("notes.txt") is None


def generator() -> Any:
    """`editors/jetbrains/settings_schema.py`, loaded from its file (editors/ is no package)."""
    path = JETBRAINS / "settings_schema.py"
    spec = importlib.util.spec_from_file_location("autan_jetbrains_settings_schema", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_settings_schema_is_generated_from_the_server_options() -> None:
    checked_in = (TEMPLATE_DIR / "settings.schema.json").read_text()
    assert checked_in == generator().render(), (
        "editors/jetbrains/autan/settings.schema.json is out of date; regenerate with "
        ".venv/bin/python -P editors/jetbrains/settings_schema.py")


def test_settings_are_valid_for_the_schema_and_the_server(template: Template) -> None:
    schema = load_json(TEMPLATE_DIR / "settings.schema.json")
    assert errors(template.settings, schema) == []
    assert list(template.settings) == ["autan"]
    assert parse_options(template.settings["autan"])[1] == []
    assert parse_options(template.initialization_options)[1] == []


@pytest.mark.parametrize("settings, reason", [
    ({"autan": {"completion": {"maxTokenz": 5}}}, "maxTokenz: not allowed"),
    ({"autan": {"completion": {"maxTokens": "5"}}}, "expected integer"),
    ({"autan": {"languages": ["python", 3]}}, "expected string"),
    ({"autan": {"streamProgress": 1}}, "expected boolean"),
    ({"completion": {}}, "$.completion: not allowed"),
])
def test_settings_schema_refuses_what_the_server_reports(settings: Any, reason: str) -> None:
    found = errors(settings, load_json(TEMPLATE_DIR / "settings.schema.json"))
    assert any(reason in e for e in found), found
    if "autan" in settings:
        assert parse_options(settings["autan"])[1], "the server should report it too"


def test_configuration_answers_by_section(template: Template) -> None:
    autan = template.settings["autan"]
    assert find_settings("autan", template.settings) == autan
    assert find_settings("autan.completion", template.settings) == autan["completion"]
    assert find_settings("autan", {"autan.completion": {"a": 1}}) == {"autan.completion": {"a": 1}}
    assert find_settings("other", template.settings) is None


# --- end to end ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env() -> Iterator[ServerEnv]:
    """Private XDG directories; the engine is the bundled model's, stopped at the end."""
    model = default_model_dir()
    assert model is not None, "this checkout has no bundled model (model/weights/default)"
    env = ServerEnv.make(model)
    yield env
    asyncio.run(stop_engine(env.socket))
    shutil.rmtree(env.cache.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("jetbrains-project")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "geometry.py").write_text(GEOMETRY)
    return root


@pytest.mark.slow
@pytest.mark.asyncio
async def test_an_lsp4ij_like_client_gets_inline_completions(
        env: ServerEnv, template: Template, project: Path) -> None:
    async with lsp4ij_session(env, template, project) as client:
        caps = client.init_result.capabilities  # type: ignore[attr-defined]
        assert caps.inline_completion_provider
        await until(lambda: "autan" in client.sections_asked, 30)  # type: ignore[attr-defined]

        async def settled() -> bool:  # settings.json's debounceMs 0 is in effect
            return (await stats(client))["settings"]["completion"]["debounce_ms"] == 0

        await until(settled, 30, 0.1)
        path = project / "pkg" / "geometry.py"
        uri = did_open(client, template, path, GEOMETRY)
        shown = []
        for line, character in CURSORS:  # the model may have nothing to say at one of them
            result = await within(client.text_document_inline_completion_async(
                automatic_request(uri, line, character)), REQUEST_TIMEOUT_S)
            items = result.items if isinstance(result, types.InlineCompletionList) else result
            assert len(items or []) <= 1, "Automatic requests get one item (README says so)"
            if shown := shown_variants(result):
                break
        assert shown, "no variant LSP4IJ would show at any cursor"
        await until(lambda: any(  # indexing showed as a background task, and ended
            r and r[-1].kind == "end" for r in client.progress_reports.values()), 30)
        warnings = [m.message for m in client.log_messages + client.messages
                    if "settings" in m.message]
        assert warnings == [], warnings
