"""`initialize` and what follows it: the advertised capabilities, indexing of the workspace
folders with `$/progress` and `autan/status`, and a folder added later.

Fixtures: the `repo` package of conftest.py (pkg/geometry.py, pkg/main.py), and a second
folder made here; no completion is asked, so no engine starts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp.harness import ServerEnv, lsp_server, stats, until

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(shared_env: ServerEnv, repo: Path) -> AsyncIterator[LanguageClient]:
    async with lsp_server(shared_env, [repo]) as client:
        await until(lambda: any(s["state"] == "ready" for s in client.statuses), 60)
        yield client


async def test_capabilities_advertise_inline_completion_incremental_sync_and_folders(
        client: LanguageClient) -> None:
    result: types.InitializeResult = client.init_result  # type: ignore[attr-defined]
    caps = result.capabilities
    assert isinstance(caps.inline_completion_provider, types.InlineCompletionOptions)
    sync = caps.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions)
    assert sync.open_close and sync.change == types.TextDocumentSyncKind.Incremental
    folders = caps.workspace.workspace_folders
    assert folders.supported and folders.change_notifications
    assert result.server_info is not None and result.server_info.name == "autan"


async def test_indexing_reports_work_done_progress_begin_report_end(
        client: LanguageClient) -> None:
    [reports] = client.progress_reports.values()
    kinds = [r.kind for r in reports]
    assert kinds[0] == "begin" and kinds[-1] == "end", kinds
    assert set(kinds[1:-1]) <= {"report"}
    percentages = [r.percentage for r in reports[1:-1]]
    assert percentages == sorted(percentages) and all(0 <= p <= 100 for p in percentages)
    assert "files indexed" in (reports[-1].message or "")


async def test_status_goes_from_indexing_to_ready(client: LanguageClient) -> None:
    states = [s["state"] for s in client.statuses]
    assert states.index("indexing") < states.index("ready"), states
    assert "files indexed" in client.statuses[states.index("ready")]["message"]


async def test_stats_show_the_indexed_folder(client: LanguageClient, repo: Path) -> None:
    folders = (await stats(client))["folders"]
    assert folders == [{"root": str(repo.resolve()), "files": folders[0]["files"]}]
    assert folders[0]["files"] >= 2


async def test_a_folder_added_later_is_indexed_with_progress(
        client: LanguageClient, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "tool.py").write_text("def tool():\n    return 1\n")
    client.workspace_did_change_workspace_folders(types.DidChangeWorkspaceFoldersParams(
        types.WorkspaceFoldersChangeEvent(
            added=[types.WorkspaceFolder(extra.as_uri(), "extra")], removed=[])))

    async def indexed() -> bool:
        found = {f["root"]: f["files"] for f in (await stats(client))["folders"]}
        return found.get(str(extra.resolve())) == 1

    await until(indexed, 30, 0.2)
    assert len(client.progress_reports) == 2
    assert all(r[-1].kind == "end" for r in client.progress_reports.values())
