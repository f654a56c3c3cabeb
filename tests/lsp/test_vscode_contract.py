"""The VS Code extension (editors/vscode/) against the server it drives, without VS Code: its
settings are the server's options plus its own client-only keys, and its list of secret files
is the indexer's. Both are copies by necessity (TypeScript cannot import Python), so drift
would mean settings the server warns about, or secret files whose text the client sends.

Fixtures: editors/vscode/package.json and editors/vscode/src/{settings,exclusions}.ts."""

from __future__ import annotations

import json
import re
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from autan.indexer import secrets
from autan.server.options import ServerOptions, parse_options

EXTENSION = Path(__file__).resolve().parents[2] / "editors" / "vscode"


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def option_keys(cls: type, prefix: str = "") -> set[str]:
    """Dotted camelCase keys of the leaf options, as VS Code settings name them."""
    keys: set[str] = set()
    for f in fields(cls):
        default = getattr(cls(), f.name)
        key = f"{prefix}{camel(f.name)}"
        keys |= option_keys(type(default), f"{key}.") if is_dataclass(default) else {key}
    return keys


def ts_strings(source: str, const: str) -> list[str]:
    """The string literals of `export const <const> ... = [ ... ];` in a TypeScript file."""
    body = re.search(rf"export const {const}\b[^=]*=\s*\[(.*?)\](?: as const)?;", source, re.S)
    assert body, f"{const} not found"
    return re.findall(r'"([^"]*)"', body.group(1))


def test_every_server_option_is_a_setting_and_the_rest_are_client_only() -> None:
    manifest = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
    settings = {key.removeprefix("autan.")
                for key in manifest["contributes"]["configuration"]["properties"]}
    server = option_keys(ServerOptions)
    source = (EXTENSION / "src" / "settings.ts").read_text(encoding="utf-8")
    client_only = set(ts_strings(source, "CLIENT_ONLY_KEYS"))
    assert server <= settings, f"options without a setting: {sorted(server - settings)}"
    assert settings - server == client_only
    assert set(ts_strings(source, "SERVER_KEYS")) == {camel(f.name) for f in fields(ServerOptions)}


def test_the_settings_defaults_are_accepted_by_the_server() -> None:
    """What the extension sends with nothing configured (its contributed defaults, nested as
    VS Code nests them, client-only keys left out) parses without a warning."""
    manifest = json.loads((EXTENSION / "package.json").read_text(encoding="utf-8"))
    source = (EXTENSION / "src" / "settings.ts").read_text(encoding="utf-8")
    client_only = set(ts_strings(source, "CLIENT_ONLY_KEYS"))
    sent: dict[str, Any] = {}
    for key, schema in manifest["contributes"]["configuration"]["properties"].items():
        *parents, leaf = key.removeprefix("autan.").split(".")
        if not parents and leaf in client_only:
            continue
        node = sent
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = schema["default"]
    options, errors = parse_options(sent)
    assert errors == []
    assert options.stream_progress is True  # the extension's default, unlike the server's


def test_the_secret_file_list_is_the_indexers() -> None:
    source = (EXTENSION / "src" / "exclusions.ts").read_text(encoding="utf-8")
    assert tuple(ts_strings(source, "SECRET_FILE_PATTERNS")) == secrets.SECRET_FILE_PATTERNS
    assert set(ts_strings(source, "WORD_PATTERNS")) == secrets._WORD_PATTERNS
    assert set(ts_strings(source, "CODE_EXTENSIONS")) == secrets.CODE_EXTENSIONS
