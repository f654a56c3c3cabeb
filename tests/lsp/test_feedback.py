"""What an editor client relies on beyond LSP itself: `autan lsp --stdio` (the form
vscode-languageclient starts), acceptance feedback (`autan/didShowCompletion`,
`autan/didAcceptCompletion`) counted in `autan/stats` `acceptance`, malformed feedback ignored
without stopping the server, and the indexing percentage carried by `autan/status`.

Fixtures: the `repo` package of conftest.py; the server is started with `--stdio`. No
completion is asked, so no engine starts."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.harness import (
    START_TIMEOUT_S,
    ServerEnv,
    capabilities,
    init_options,
    make_client,
    stats,
    until,
    within,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
URI = "file:///work/pkg/main.py"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(shared_env: ServerEnv, repo: Path) -> AsyncIterator[LanguageClient]:
    command = [sys.executable, "-P", "-m", "autan.cli", "lsp", "--stdio"]
    config = ClientServerConfig(server_command=command, client_factory=make_client,
                                server_env=shared_env.environ())
    client = await config.start()
    try:
        await within(client.initialize_session(types.InitializeParams(
            capabilities=capabilities(), initialization_options=init_options(shared_env),
            workspace_folders=[types.WorkspaceFolder(repo.as_uri(), repo.name)])),
            START_TIMEOUT_S)
        await until(lambda: any(s["state"] == "ready" for s in client.statuses), 60)
        yield client
    finally:
        await within(client.shutdown_session(), 30)
        await within(client.stop(), 30)


def shown(client: LanguageClient, uri: str = URI) -> None:
    client.protocol.notify("autan/didShowCompletion", {"textDocument": {"uri": uri}})


def accepted(client: LanguageClient, kind: Any, length: Any, uri: str = URI) -> None:
    client.protocol.notify("autan/didAcceptCompletion", {
        "textDocument": {"uri": uri}, "kind": kind, "acceptedLength": length})


async def acceptance(client: LanguageClient) -> dict[str, Any]:
    """The counts after every notification sent before: the server reads its input in order,
    so the stats request is answered after the notifications are handled."""
    return (await stats(client))["acceptance"]


async def test_stdio_flag_serves_and_nothing_is_shown_yet(client: LanguageClient) -> None:
    assert await acceptance(client) == {"shown": 0, "accepted": 0, "partially_accepted": 0,
                                        "accepted_chars": 0, "rate": None}


async def test_shown_and_accepted_suggestions_are_counted(client: LanguageClient) -> None:
    before = await acceptance(client)
    for _ in range(4):
        shown(client)
    accepted(client, "word", 3)
    accepted(client, "line", 5)
    accepted(client, "full", 12)  # the rest of the suggestion whose word and line were taken
    accepted(client, "full", 7)
    after = await acceptance(client)
    assert after["shown"] - before["shown"] == 4
    assert after["accepted"] - before["accepted"] == 2
    assert after["partially_accepted"] - before["partially_accepted"] == 2
    assert after["accepted_chars"] - before["accepted_chars"] == 3 + 5 + 12 + 7
    assert after["rate"] == round(after["accepted"] / after["shown"], 4)


@pytest.mark.parametrize("params", [
    {"textDocument": {"uri": URI}, "kind": "tab", "acceptedLength": 3},
    {"textDocument": {"uri": URI}, "kind": "full", "acceptedLength": -1},
    {"textDocument": {"uri": URI}, "kind": "full", "acceptedLength": True},
    {"textDocument": {"uri": URI}, "kind": "full", "acceptedLength": "3"},
    {"textDocument": {"uri": URI}, "kind": "full"},
    {"kind": "full", "acceptedLength": 3},
    [1, 2],
])
async def test_malformed_feedback_is_not_counted_and_the_server_goes_on(
        client: LanguageClient, params: Any) -> None:
    before = await acceptance(client)
    client.protocol.notify("autan/didAcceptCompletion", params)
    client.protocol.notify("autan/didShowCompletion", {"textDocument": {}})
    assert await acceptance(client) == before


async def test_indexing_status_carries_a_rising_percentage(client: LanguageClient) -> None:
    indexing = [s for s in client.statuses if s["state"] == "indexing"]
    percentages = [s["percentage"] for s in indexing]
    assert percentages[0] == 0 and percentages[-1] == 100, percentages
    assert percentages == sorted(percentages)
    assert all("percentage" not in s for s in client.statuses if s["state"] != "indexing")
