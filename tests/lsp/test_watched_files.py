"""`workspace/didChangeWatchedFiles` end to end: the server asks for a file watcher, and a
file created or deleted on disk outside the editor reaches (and leaves) the next prompt.

Fixtures: a repository written here, `pkg/main.py` (opened in the editor), which imports
`zorbulate` from `pkg/shapes.py`, a file that the test creates on disk and deletes again; a
scripted engine, which records the prompts the server sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient

from autan.model.io.tokenizer import Tokenizer
from tests.lsp.harness import (
    ScriptedEngine,
    ServerEnv,
    capabilities,
    inline,
    lsp_server,
    open_doc,
    stats,
    until,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

MAIN = "from pkg.shapes import zorbulate\n\n\ndef run() -> int:\n    return "
SHAPES = "def zorbulate(n: int) -> int:\n    return n * 4217\n"
MARKER = "return n * 4217"


@pytest.fixture(scope="module")
def watched_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lsp-watched")
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "main.py").write_text(MAIN)
    return root


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(scripted_env: ServerEnv, watched_repo: Path) -> AsyncIterator[LanguageClient]:
    engine = await ScriptedEngine(scripted_env.socket, script=lambda frame: [" 1"]).start()
    async with lsp_server(scripted_env, [watched_repo],
                          caps=capabilities(watched_files=True)) as client:
        client.engine = engine  # type: ignore[attr-defined]
        yield client
    await engine.stop()


def notify(client: LanguageClient, path: Path, kind: types.FileChangeType) -> None:
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
        changes=[types.FileEvent(uri=path.as_uri(), type=kind)]))


async def test_a_file_changed_on_disk_reaches_the_next_prompt(
        client: LanguageClient, scripted_env: ServerEnv, watched_repo: Path) -> None:
    await until(lambda: bool(client.registrations))  # type: ignore[attr-defined]
    registration = client.registrations[0]  # type: ignore[attr-defined]
    assert registration.method == types.WORKSPACE_DID_CHANGE_WATCHED_FILES
    options = registration.register_options  # free-form: the client sees plain JSON
    assert [w["globPattern"] for w in options["watchers"]] == ["**/*"]

    async def indexed() -> bool:
        return all(f["files"] is not None for f in (await stats(client))["folders"])

    await until(indexed)
    engine: ScriptedEngine = client.engine  # type: ignore[attr-defined]
    tokenizer = Tokenizer.from_dir(scripted_env.model)
    uri = open_doc(client, watched_repo / "pkg" / "main.py", MAIN)
    line, character = 4, len("    return ")

    async def prompt_has_marker() -> bool:
        await inline(client, uri, line, character, invoked=True)  # invoked: never cached
        return MARKER in tokenizer.decode(engine.generates[-1]["prompt_ids"])

    assert not await prompt_has_marker()
    shapes = watched_repo / "pkg" / "shapes.py"
    shapes.write_text(SHAPES)
    notify(client, shapes, types.FileChangeType.Created)
    await until(prompt_has_marker, timeout_s=20, every_s=0.1)

    shapes.unlink()
    notify(client, shapes, types.FileChangeType.Deleted)

    async def prompt_lost_marker() -> bool:
        return not await prompt_has_marker()

    await until(prompt_lost_marker, timeout_s=20, every_s=0.1)
