"""The default context budget is written once (`autan.indexer.budget.CONTEXT_DEFAULTS`): the
server's settings, the benchmark and every command with a --budget read it, and the help
texts show it. In process: the parsers only."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from autan.bench.lsp import BenchConfig
from autan.cli.main import build_parser
from autan.indexer.budget import CONTEXT_DEFAULTS
from autan.server.options import CompletionOptions, parse_options

COMMANDS = [["context", "x.py:1:1"], ["complete", "x.py:1:1"], ["bench", "lsp"]]


def subparser(parser: argparse.ArgumentParser, names: list[str]) -> argparse.ArgumentParser:
    for name in names:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


@pytest.mark.parametrize("command", COMMANDS)
def test_every_budget_option_defaults_to_the_one_value(command: list[str]) -> None:
    parser = build_parser()
    assert parser.parse_args(command).budget == CONTEXT_DEFAULTS.budget
    names = [word for word in command if ":" not in word]
    help_text = " ".join(subparser(parser, names).format_help().split())
    assert f"(default: {CONTEXT_DEFAULTS.budget})" in help_text


def test_the_server_and_the_bench_read_it_too() -> None:
    assert CompletionOptions().context_budget == CONTEXT_DEFAULTS.budget
    assert parse_options({})[0].completion.context_budget == CONTEXT_DEFAULTS.budget
    assert BenchConfig(model=Path("m")).budget == CONTEXT_DEFAULTS.budget
