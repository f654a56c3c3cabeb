"""Settings: `initializationOptions`, then `workspace/configuration` (pulled after
`initialized` and when `workspace/didChangeConfiguration` carries none), settings pushed with
`didChangeConfiguration`, the `languages` filter, `streamProgress`, invalid values, and a
client without the configuration and progress capabilities.

Fixtures: pkg/settings.py, a line being typed in the `repo` package; a scripted engine
suggests ` total = 1` in three tokens and records the `max_tokens` each request asks for."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient

from autan.server.options import CompletionOptions
from tests.lsp.harness import (
    ScriptedEngine,
    ServerEnv,
    capabilities,
    init_options,
    inline,
    lsp_server,
    open_doc,
    stats,
    until,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

TEXT = "def f():\n    \n"
LINE, START = 1, 4


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def engine(scripted_env: ServerEnv) -> AsyncIterator[ScriptedEngine]:
    engine = await ScriptedEngine(scripted_env.socket,
                                  script=lambda frame: ["total", " =", " 1"]).start()
    yield engine
    await engine.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(scripted_env: ServerEnv, repo: Path, engine: ScriptedEngine
                 ) -> AsyncIterator[LanguageClient]:
    async with lsp_server(scripted_env, [repo], init_options(scripted_env, maxTokens=11),
                          configuration={"completion": {"maxTokens": 7}}) as client:
        yield client


def push(client: LanguageClient, settings: Any) -> None:
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings))


async def max_tokens_asked(client: LanguageClient, engine: ScriptedEngine, repo: Path) -> int:
    """Complete once (invoked: never from the type-ahead cache) and return what the engine
    was asked for."""
    uri = open_doc(client, repo / "pkg" / "settings.py", TEXT)
    asked = len(engine.generates)
    await inline(client, uri, LINE, START, invoked=True)
    assert len(engine.generates) > asked
    return engine.generates[-1]["params"]["max_tokens"]


async def settled(client: LanguageClient, max_tokens: int) -> None:
    async def check() -> bool:
        return (await stats(client))["settings"]["completion"]["max_tokens"] == max_tokens

    await until(check, 15, 0.1)


async def test_pulled_configuration_is_merged_over_initialization_options(
        client: LanguageClient, engine: ScriptedEngine, repo: Path,
        scripted_env: ServerEnv) -> None:
    await settled(client, 7)
    settings = (await stats(client))["settings"]
    assert settings["model"]["path"] == str(scripted_env.model)  # initializationOptions kept
    assert settings["completion"]["debounce_ms"] == 0
    assert await max_tokens_asked(client, engine, repo) == 7


async def test_pushed_settings_apply(client: LanguageClient, engine: ScriptedEngine,
                                     repo: Path) -> None:
    push(client, {"autan": {"completion": {"maxTokens": 5}}})
    await settled(client, 5)
    assert await max_tokens_asked(client, engine, repo) == 5


async def test_a_push_without_settings_makes_the_server_pull(
        client: LanguageClient, engine: ScriptedEngine, repo: Path) -> None:
    client.set_configuration({"completion": {"maxTokens": 9}}, section="autan")
    push(client, None)
    await settled(client, 9)
    assert await max_tokens_asked(client, engine, repo) == 9


async def test_languages_filter(client: LanguageClient, engine: ScriptedEngine,
                                repo: Path) -> None:
    push(client, {"autan": {"languages": ["rust"]}})

    async def filtered() -> bool:
        return (await stats(client))["settings"]["languages"] == ["rust"]

    await until(filtered, 15, 0.1)
    uri = open_doc(client, repo / "pkg" / "settings.py", TEXT)
    asked = len(engine.generates)
    assert await inline(client, uri, LINE, START, invoked=True) is None
    assert len(engine.generates) == asked
    push(client, {"autan": {"languages": ["python"]}})
    await until(lambda: stats_languages(client, ["python"]), 15, 0.1)
    assert await inline(client, uri, LINE, START, invoked=True) is not None


async def stats_languages(client: LanguageClient, languages: list[str]) -> bool:
    return (await stats(client))["settings"]["languages"] == languages


async def test_progress_notifications_only_when_stream_progress_is_on(
        client: LanguageClient, engine: ScriptedEngine, repo: Path) -> None:
    uri = open_doc(client, repo / "pkg" / "settings.py", TEXT)
    client.partials.clear()  # type: ignore[attr-defined]
    await inline(client, uri, LINE, START, invoked=True)
    assert client.partials == []  # type: ignore[attr-defined]

    push(client, {"autan": {"streamProgress": True}})
    await until(lambda: stats_stream(client), 15, 0.1)
    result = await inline(client, uri, LINE, START, invoked=True)
    partials: list[dict[str, Any]] = client.partials  # type: ignore[attr-defined]
    texts = [p["text"] for p in partials]
    assert texts == ["total", "total =", "total = 1"]
    assert all(p["textDocument"]["uri"] == uri and p["position"] == {
        "line": LINE, "character": START} for p in partials)
    assert result is not None and result.items[0].insert_text == "total = 1"


async def stats_stream(client: LanguageClient) -> bool:
    return (await stats(client))["settings"]["stream_progress"] is True


async def test_invalid_settings_are_logged_and_defaults_kept(client: LanguageClient) -> None:
    push(client, {"autan": {"completion": {"maxTokens": "many"}, "bogus": 1}})
    await until(lambda: any("bogus" in m.message for m in client.log_messages), 15)
    assert any("maxTokens" in m.message and m.type == types.MessageType.Warning
               for m in client.log_messages)
    assert any(m.type == types.MessageType.Warning for m in client.messages)
    settings = (await stats(client))["settings"]
    assert settings["completion"]["max_tokens"] == CompletionOptions().max_tokens  # default
    assert settings["model"]["path"] is not None  # the valid rest still applies


async def test_a_client_without_configuration_or_progress_is_not_asked(
        scripted_env: ServerEnv, repo: Path, engine: ScriptedEngine) -> None:
    async with lsp_server(scripted_env, [repo], init_options(scripted_env, maxTokens=11),
                          configuration={"completion": {"maxTokens": 7}},
                          caps=capabilities(configuration=False, progress=False)) as client:
        await until(lambda: any(s["state"] == "ready" for s in client.statuses), 30)
        assert client.progress_reports == {}
        assert (await stats(client))["settings"]["completion"]["max_tokens"] == 11
