"""`autan lsp`: the language server, over stdio (default) or TCP."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import BinaryIO

from autan.cli.common import ExitCode, UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lsp", help="run the language server (stdio or TCP)",
                       description="Serve LSP with textDocument/inlineCompletion. The model "
                       "runs in a separate `autan engine` process started on demand.")
    transport = p.add_mutually_exclusive_group()
    # Editor clients name the transport they start us with (vscode-languageclient appends
    # `--stdio`); stdio is the default, so the flag only has to be accepted.
    transport.add_argument("--stdio", action="store_true", help="serve on stdio (the default)")
    transport.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    p.add_argument("--log-level", default="WARNING", help="logging level on stderr")
    p.set_defaults(handler=run)


def claim_stdout() -> BinaryIO:
    """The LSP stream on a private copy of stdout; file descriptor 1 and `sys.stdout` then
    point at stderr. One stray print, from autan or from any library or child process, would
    otherwise corrupt the JSON-RPC stream the editor reads."""
    stream = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return stream


def configure_logging(level_name: str) -> None:
    """Log to stderr. pygls logs every message it sends at INFO (a 10 MB document would be
    logged whole), so its loggers stay at WARNING unless DEBUG is asked for."""
    level = logging.getLevelName(level_name.upper())
    if not isinstance(level, int):
        raise UsageError(f"--log-level {level_name}: not a logging level")
    logging.basicConfig(level=level, format="autan-lsp %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pygls").setLevel(level if level <= logging.DEBUG else
                                        max(level, logging.WARNING))


def run(args: argparse.Namespace) -> ExitCode:
    configure_logging(args.log_level)
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(f"--tcp {args.tcp}: expected HOST:PORT")
    from autan.server.lsp import server

    if args.tcp:
        server.start_tcp(host, int(port))
    else:
        server.start_io(stdin=sys.stdin.buffer, stdout=claim_stdout())
    return ExitCode.OK
