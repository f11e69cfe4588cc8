"""The ``hsgd`` command: a thin layer that gathers each package's subcommands.

Each package owns its subcommands in its own ``cli`` module, which exposes
``register(subparsers)`` (top-level commands) and ``register_bench(subparsers)``
(targets of ``hsgd bench``). Every handler receives the parsed ``argparse.Namespace`` and
returns the process exit code.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from bounds import cli as bounds_cli
from empirical import cli as empirical_cli
from figures import build, check_cli

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The full ``hsgd`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="hsgd",
        description="Theory verification toolkit for Hierarchical SGD (H-SGD).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bounds_cli.register(commands)
    empirical_cli.register(commands)
    check_cli.register(commands)
    build.register(commands)
    bench = commands.add_parser("bench", help="benchmarks (speed as ratios measured in one run)")
    targets = bench.add_subparsers(dest="target", required=True, metavar="TARGET")
    bounds_cli.register_bench(targets)
    empirical_cli.register_bench(targets)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hsgd`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ValueError as err:  # bad input: one clear line, no traceback
        print(f"hsgd: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
