"""Server settings parsing and the type-ahead cache."""

from __future__ import annotations

from autan.server.options import ServerOptions, parse_options
from autan.server.typeahead import TypeAheadCache


def test_camel_case_settings_fill_nested_dataclasses() -> None:
    options, errors = parse_options({
        "model": {"path": "/models/m", "endpointKind": "mistral"},
        "completion": {"maxTokens": 32, "contextBudget": 8192.0, "debounceMs": 10},
        "languages": ["python", "rust"], "streamProgress": True,
    })
    assert errors == []
    assert options.model.path == "/models/m" and options.model.endpoint_kind == "mistral"
    assert (options.completion.max_tokens, options.completion.context_budget) == (32, 8192)
    assert options.languages == ["python", "rust"] and options.stream_progress


def test_bad_values_are_reported_and_defaults_kept() -> None:
    options, errors = parse_options({"completion": {"maxTokens": "many", "debounceMs": True},
                                     "bogus": 1, "model": 7, "languages": [1]})
    default = ServerOptions()
    assert options.completion.max_tokens == default.completion.max_tokens
    assert options.completion.debounce_ms == default.completion.debounce_ms
    assert options.model == default.model and options.languages is None
    assert len(errors) == 5 and any("bogus" in e for e in errors)
    assert parse_options(None) == (ServerOptions(), [])


def test_typing_along_the_suggestion_is_answered_from_the_cache() -> None:
    cache = TypeAheadCache()
    cache.remember("a.py", "def add(a, b):\n    return ", "\n", "a + b")
    assert cache.lookup("a.py", "def add(a, b):\n    return a", "\n") == " + b"
    assert cache.lookup("a.py", "def add(a, b):\n    return a +", "\n") == " b"
    assert cache.lookup("a.py", "def add(a, b):\n    return a -", "\n") is None  # diverged
    assert cache.lookup("a.py", "def add(a, b):\n    return a + b", "\n") is None  # done
    assert cache.lookup("b.py", "def add(a, b):\n    return a", "\n") is None  # other file
    assert cache.lookup("a.py", "def add(a, b):\n    return a", "\nx = 1") is None  # suffix


def test_cache_is_bounded_lru() -> None:
    cache = TypeAheadCache(capacity=3)
    for i in range(5):
        cache.remember("a.py", f"p{i}", "", "xyz")
    assert len(cache) == 3
    assert cache.lookup("a.py", "p0x", "") is None and cache.lookup("a.py", "p4x", "") == "yz"
    cache.forget("a.py")
    assert len(cache) == 0
