"""What the subcommands share: exit codes, model options, loading an engine."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING

from autan.model.errors import ModelFileError

if TYPE_CHECKING:  # torch and the engine load only in commands that run a model
    import torch

    from autan.model.runtime.engine import Engine, EngineOptions


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2  # bad input: a model folder, file or argument that cannot be used
    INTERRUPTED = 130


class UsageError(Exception):
    """Bad input that is not a model file problem (a missing text file, a bad value)."""


def debug_requested(flag: bool, env: Mapping[str, str] | None = None) -> bool:
    """`--debug` or `AUTAN_DEBUG=1`: show tracebacks as well."""
    return flag or (os.environ if env is None else env).get("AUTAN_DEBUG") == "1"


def run_reporting_errors(handler: Callable[[], ExitCode], debug: bool) -> ExitCode:
    """Run a subcommand under the one exit-code convention: bad input (`ModelFileError`,
    `UsageError`) is one line on stderr and exit code 2, with the traceback only when
    `debug`; Ctrl-C is 130; a closed pipe (`autan generate ... | head`) is success."""
    try:
        return handler()
    except (ModelFileError, UsageError) as err:
        if debug:
            traceback.print_exc()
        print(f"autan: error: {err}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        return ExitCode.OK


def standalone_main(parser: argparse.ArgumentParser,
                    handler: Callable[[argparse.Namespace], ExitCode],
                    argv: list[str] | None = None) -> int:
    """`python -m autan.cli.<command>`, for a command that must run without the rest of the
    CLI's imports (a training machine): the same `--debug` and errors as `autan`."""
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    args = parser.parse_args(argv)
    return int(run_reporting_errors(lambda: handler(args), debug_requested(args.debug)))


DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}  # names of torch dtypes


@dataclass(frozen=True)
class ModelDefaults:
    dtype: str = "auto"  # bf16 on CUDA, fp32 on CPU
    device: str = "auto"  # cuda when available


def add_model_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    d = ModelDefaults()
    parser.add_argument("--model", type=Path, required=required, metavar="DIR",
                        help="model folder (config.json or params.json, safetensors, tokenizer)")
    parser.add_argument("--dtype", choices=["auto", *DTYPES], default=d.dtype,
                        help=f"weight dtype (default: {d.dtype}: bf16 on CUDA, fp32 on CPU)")
    parser.add_argument("--device", default=d.device,
                        help=f"cpu, cuda, cuda:N (default: {d.device})")


def resolve_device(name: str) -> torch.device:
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"--device {name}: no CUDA device is available")
    return device


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    import torch

    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return getattr(torch, DTYPES[name])


def load_engine(args: argparse.Namespace, options: EngineOptions | None = None) -> Engine:
    """The engine for `--model`, its tokenizer, dtype and device."""
    from autan.model.io.loader import load_model
    from autan.model.io.tokenizer import Tokenizer
    from autan.model.runtime.engine import Engine

    device = resolve_device(args.device)
    model, _ = load_model(args.model, resolve_dtype(args.dtype, device), device)
    tokenizer = Tokenizer.from_dir(args.model)
    return Engine(model, tokenizer, options)


def read_text_arg(text: str | None, file: Path | None) -> str:
    """The text of `--text` or `--file` (exactly one is given by argparse)."""
    if text is not None:
        return text
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise UsageError(f"{file}: no such file") from err
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"{file}: cannot read as UTF-8 text ({err})") from err
