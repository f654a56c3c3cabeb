"""The `autan` command: one parser, one subcommand per module, one exit-code convention.

Bad input (a model folder that cannot be used, a file that does not exist) prints one line
naming the file and the problem and exits with 2; `--debug` shows the traceback as well.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence

from autan.cli import bench, complete, context, engine, generate, index, lsp, review, score
from autan.cli import eval as eval_cmd
from autan.cli import train as train_cmd
from autan.cli.common import ExitCode, debug_requested, run_reporting_errors

SUBCOMMANDS = (score, generate, index, context, complete, lsp, engine, review, bench, train_cmd,
               eval_cmd)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="autan",
        description="Offline fill-in-the-middle code completion with a local long-context model.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> ExitCode:
    env = os.environ if env is None else env
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse already printed usage or help
        return ExitCode(exit_.code if isinstance(exit_.code, int) else ExitCode.USAGE)
    return run_reporting_errors(lambda: args.handler(args),
                                debug_requested(args.debug, env))


def run() -> None:
    sys.exit(int(main()))
