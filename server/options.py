"""Server settings: nested dataclasses with defaults, read from camelCase JSON.

Settings arrive in `initializationOptions`, from `workspace/configuration` (section "autan")
and with `workspace/didChangeConfiguration`. A bad value is reported and replaced by its
default; it never stops the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from autan.indexer.budget import CONTEXT_DEFAULTS


@dataclass
class ModelOptions:
    path: str | None = None  # a local model folder; None: the default model
    endpoint: str | None = None  # a remote engine's base URL (opt-in; offline otherwise)
    endpoint_kind: str = "openai"  # openai (/v1/completions) | mistral (/v1/fim/completions)
    endpoint_model: str = ""
    api_key_env: str | None = None  # name of the environment variable holding the key
    device: str = "auto"
    dtype: str = "auto"


@dataclass
class CompletionOptions:
    max_tokens: int = 96
    context_budget: int = CONTEXT_DEFAULTS.budget
    debounce_ms: int = 75
    latency_budget_ms: int = 1500  # answer once a whole line exists and this has passed
    max_items: int = 3  # for Invoked requests (Automatic requests get one)


@dataclass
class ServerOptions:
    model: ModelOptions = field(default_factory=ModelOptions)
    completion: CompletionOptions = field(default_factory=CompletionOptions)
    languages: list[str] | None = None  # None: every language; else LSP language ids
    stream_progress: bool = False  # send autan/inlineCompletionProgress notifications


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _coerce(value: Any, default: Any, where: str, errors: list[str]) -> Any:
    if is_dataclass(default):
        return _fill(type(default), value, where, errors)
    if default is None or value is None:
        return value
    expected = type(default)
    if expected is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        errors.append(f"{where}: expected {expected.__name__}, got {value!r}; using {default!r}")
        return default
    return value


def _fill(cls: type, raw: Any, where: str, errors: list[str]) -> Any:
    out = cls()
    if raw is None:
        return out
    if not isinstance(raw, dict):
        errors.append(f"{where or 'settings'}: expected an object, got {raw!r}")
        return out
    known = {f.name: f for f in fields(cls)}
    for key, value in raw.items():
        name = snake(key)
        if name not in known:
            errors.append(f"{where}{'.' if where else ''}{key}: unknown setting, ignored")
            continue
        full = f"{where}{'.' if where else ''}{key}"
        setattr(out, name, _coerce(value, getattr(out, name), full, errors))
    return out


def parse_options(raw: Any) -> tuple[ServerOptions, list[str]]:
    """Options from a JSON object (camelCase keys); unknown or ill-typed values are reported
    in the error list and the defaults kept."""
    errors: list[str] = []
    options = _fill(ServerOptions, raw, "", errors)
    if options.languages is not None and not all(isinstance(x, str) for x in options.languages):
        errors.append(f"languages: expected a list of language ids, got {options.languages!r}")
        options.languages = None
    return options, errors
