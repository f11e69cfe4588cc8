"""The ``hsgd`` command: a thin layer that gathers each package's subcommands.

Each package owns its subcommands in its own ``cli`` module, which exposes
``register(subparsers)`` (top-level commands) and ``register_bench(subparsers)``
(targets of ``hsgd bench``). Every handler receives the parsed ``argparse.Namespace`` and
returns the process exit code.

Bad input never ends in a traceback: a usage error, a ``ValueError`` from the library (which
names the parameter and the rule), a file that cannot be written, or a run that does not fit
in memory each print one line ``hsgd: error: ...`` on standard error and exit with status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn, Sequence

from bounds import cli as bounds_cli
from empirical import cli as empirical_cli
from empirical.io import check_parent
from figures import build, check_cli, power_cli

__all__ = ["build_parser", "main"]

PREFIX = "hsgd: error: "


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (``hsgd: error: ...``), status 2.

    Subcommand parsers inherit the class (``add_subparsers`` makes parsers of the parent's type).
    """

    def error(self, message: str) -> NoReturn:  # noqa: D401 - argparse's hook
        """Print one line naming the problem and exit with status 2 (``--help`` shows the usage)."""
        command = self.prog.partition(" ")[2]
        where = f"{command}: " if command else ""
        line = " ".join(f"{where}{message}".split())
        self.exit(2, f"{PREFIX}{line} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The full ``hsgd`` argument parser."""
    parser = _Parser(
        prog="hsgd",
        description="Theory verification toolkit for Hierarchical SGD (H-SGD).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    bounds_cli.register(commands)
    empirical_cli.register(commands)
    check_cli.register(commands)
    power_cli.register(commands)
    build.register(commands)
    bench = commands.add_parser("bench", help="benchmarks (speed as ratios measured in one run)")
    targets = bench.add_subparsers(dest="target", required=True, metavar="TARGET")
    bounds_cli.register_bench(targets)
    empirical_cli.register_bench(targets)
    return parser


def _error(message: str) -> int:
    print(PREFIX + " ".join(str(message).split()), file=sys.stderr)
    return 2


def _os_error(err: OSError, args: argparse.Namespace) -> str:
    """``OSError`` as one line: the option whose path failed (when one did), the path, the reason."""
    path = err.filename if err.filename is not None else ""
    reason = err.strerror or str(err)
    option = ""
    for name in ("out_dir", "out"):
        value = getattr(args, name, None)
        if value and path and (str(value).startswith(str(path)) or str(path).startswith(str(value))):
            option = f"--{name.replace('_', '-')} {value}: "
            break
    if not path:
        return f"{option}{reason}"
    return f"{option}{path}: {reason}" if option else f"cannot write {path}: {reason}"


def _check_output_paths(args: argparse.Namespace) -> None:
    """Before any work: an output path must lie in an existing folder or one new folder under one."""
    if getattr(args, "out_dir", None):
        check_parent(Path(args.out_dir) / "file")
    if getattr(args, "out", None):
        check_parent(args.out)  # a stem: OUT.npz and OUT.json go next to it


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hsgd`` console script; returns the exit status.

    Status 2 with one line on standard error for bad input of any kind (see the module docstring).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # usage errors (already printed) and --help
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
    try:
        _check_output_paths(args)
        return int(args.handler(args) or 0)
    except BrokenPipeError:  # the reader stopped (hsgd ... | head): not an error of the input
        try:  # no second error when Python flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 1
    except ValueError as err:  # bad input: the library names the parameter and the rule
        return _error(str(err))
    except MemoryError as err:
        return _error(f"out of memory ({err or 'an allocation failed'}); use fewer steps, seeds, workers or "
                      f"a larger --record-every")
    except OSError as err:
        return _error(_os_error(err, args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
