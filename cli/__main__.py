"""`python -m autan.cli` runs the `autan` command."""

from autan.cli.main import run

run()
