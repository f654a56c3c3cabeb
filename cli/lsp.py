"""`autan lsp`: the language server, over stdio (default) or TCP."""

from __future__ import annotations

import argparse
import logging

from autan.cli.common import ExitCode, UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lsp", help="run the language server (stdio or TCP)",
                       description="Serve LSP with textDocument/inlineCompletion. The model "
                       "runs in a separate `autan engine` process started on demand.")
    p.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    p.add_argument("--log-level", default="WARNING", help="logging level on stderr")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    logging.basicConfig(level=args.log_level.upper(), format="autan-lsp %(levelname)s %(message)s")
    from autan.server.lsp import server

    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(f"--tcp {args.tcp}: expected HOST:PORT")
        server.start_tcp(host, int(port))
    else:
        server.start_io()
    return ExitCode.OK
