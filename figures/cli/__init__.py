"""The ``hsgd`` command: a thin layer that gathers each package's subcommands.

Each package owns its subcommands in its own ``cli`` module, which exposes
``register(subparsers)`` (top-level commands) and ``register_bench(subparsers)``
(targets of ``hsgd bench``). Every handler receives the parsed ``argparse.Namespace`` and
returns the process exit code.

:data:`COMMANDS` lists each command with the function that registers it and its one-line help.
Only the command being run has its module imported (``hsgd --help`` lists the commands
without importing sympy, scipy or matplotlib); a command's module imports the heavy libraries
inside its handler, so its ``--help`` loads only what its options need.

Bad input never ends in a traceback: a usage error, a ``ValueError`` from the library (which
names the parameter and the rule), a file that cannot be written, or a run that does not fit
in memory each print one line ``hsgd: error: ...`` on standard error and exit with status 2.

Ctrl-C is one line too, ``hsgd: interrupted; ...`` saying what was kept (a command's
``kept(args)``, set with ``set_defaults``; by default: nothing, since files are written only
whole), and exit status 130 (128 + SIGINT), as shells expect.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, NoReturn, Sequence

from figures.executor import THREAD_VARIABLES, keep_freed_memory

__all__ = ["COMMANDS", "build_parser", "check_output_paths", "main"]

COMMANDS: list[tuple[str, str, str]] = [
    ("bound", "figures.cli.bound:register", "evaluate the symbolic bounds of docs/theory.md"),
    ("simulate", "figures.cli.simulate:register", "run H-SGD (or local SGD) on a synthetic problem"),
    ("check", "figures.cli.check:register",
     "the sandwich checker: local SGD (I), H-SGD, local SGD (G) and their bounds"),
    ("power", "figures.cli.power:register",
     "verification power: witnesses per term and mutation testing of a theorem"),
    ("falsify", "figures.cli.falsify:register",
     "try to break a theorem: a search of the assumption class, confirmed on fresh seeds"),
    ("tightness", "figures.cli.tightness:register",
     "per term, the interval in which a theorem's true constant lies, from runs on fresh seeds"),
    ("advise", "figures.cli.advise:register",
     "the design (I, G, N, gamma) that reaches a target fastest on a network, checked by simulation"),
    ("replay", "figures.cli.replay:register",
     "replay the paper's experimental setups (the authors' code's semantics) on scikit-learn's digits"),
    ("figures", "figures.cli.figures:register", "rebuild every figure (PNG, PDF, data)"),
    ("bench", "figures.cli:register_bench", "benchmarks (speed as ratios measured in one run)"),
]
"""Per command: its name, ``"module:function"`` whose ``function(subparsers)`` adds it (and only
it), and the help ``hsgd --help`` shows (the same as the one the function gives)."""

PREFIX = "hsgd: error: "


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (``hsgd: error: ...``), status 2.

    Subcommand parsers inherit the class (``add_subparsers`` makes parsers of the parent's type).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # argparse reads "-1e-3" as an option name ("expected one argument"); read it as the
        # negative number it is, so the option's own rule names what is wrong with it
        self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")

    def error(self, message: str) -> NoReturn:  # noqa: D401 - argparse's hook
        """Print one line naming the problem and exit with status 2 (``--help`` shows the usage)."""
        command = self.prog.partition(" ")[2]
        where = f"{command}: " if command else ""
        line = " ".join(f"{where}{message}".split())
        self.exit(2, f"{PREFIX}{line} (see '{self.prog} --help')\n")


def register_bench(commands: argparse._SubParsersAction) -> None:
    """Add ``hsgd bench`` with the targets of each package (``register_bench``)."""
    from figures.cli import bound as bounds_cli
    from figures.cli import simulate as empirical_cli

    bench = commands.add_parser("bench", help="benchmarks (speed as ratios measured in one run)")
    targets = bench.add_subparsers(dest="target", required=True, metavar="TARGET")
    bounds_cli.register_bench(targets)
    empirical_cli.register_bench(targets)


def _registrar(spec: str) -> Callable[[argparse._SubParsersAction], None]:
    """The register function ``"module:function"`` names (importing its module)."""
    module, _, function = spec.partition(":")
    return getattr(importlib.import_module(module), function)


def build_parser(command: str | None = "*") -> argparse.ArgumentParser:
    """The ``hsgd`` argument parser.

    Args:
        command: the command whose options the parser knows (its module is imported); every
            other command is listed with its help only. ``"*"`` (default): every command;
            ``None``: none (enough for ``hsgd --help`` and for a usage error naming the
            commands).
    """
    parser = _Parser(
        prog="hsgd",
        description="Theory verification toolkit for Hierarchical SGD (H-SGD).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, spec, help_text in COMMANDS:
        if command in ("*", name):
            _registrar(spec)(commands)
        else:
            commands.add_parser(name, help=help_text, add_help=False)
    return parser


def _command(argv: Sequence[str]) -> str | None:
    """The command named on the command line (its first word that is not an option), if any."""
    names = {name for name, _, _ in COMMANDS}
    first = next((word for word in argv if not word.startswith("-")), None)
    return first if first in names else None


def _command_parsers(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[tuple[int, argparse.ArgumentParser]]:
    """``(position in argv, parser)`` of every (sub)command named on the command line, in order,
    starting with ``(-1, parser)``: the words are matched to each level's commands in turn (by
    word, since nested commands may share an ``argparse`` dest)."""
    chain = [(-1, parser)]
    for i, word in enumerate(argv):
        action = next((a for a in chain[-1][1]._actions if isinstance(a, argparse._SubParsersAction)), None)
        if action is not None and word in action.choices:
            chain.append((i, action.choices[word]))
    return chain


def _unrecognized(parser: argparse.ArgumentParser, argv: Sequence[str], extras: Sequence[str]) -> NoReturn:
    """Report ``extras`` through the innermost command named before the first of them (its
    help page lists what it takes), e.g. ``hsgd bench engine --quik`` through ``bench engine``."""
    first = next((i for i, word in enumerate(argv) if word == extras[0]), len(argv))
    owner = [p for position, p in _command_parsers(parser, argv) if position < first][-1]
    owner.error(f"unrecognized arguments: {' '.join(extras)}")


def _error(message: str) -> int:
    print(PREFIX + " ".join(str(message).split()), file=sys.stderr)
    return 2


INTERRUPTED = 130
"""The exit status after Ctrl-C: 128 + SIGINT."""


def _interrupted(args: argparse.Namespace | None) -> int:
    """One line for Ctrl-C, saying what the interrupted command kept; status :data:`INTERRUPTED`."""
    kept = getattr(args, "kept", None)
    what = kept(args) if callable(kept) else "nothing was written (hsgd writes files only when they are whole)"
    print(f"hsgd: interrupted; {what}", file=sys.stderr)
    return INTERRUPTED


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


def check_output_paths(args: argparse.Namespace) -> None:
    """Before any work, the one check of a command's ``--out-dir`` or ``--out``: the folder exists
    (or is one new folder under an existing one), accepts a new file, and none of the files the
    command will write there (its ``outputs(args)``, names in that folder, when it sets one) is
    a folder. :func:`main` calls it for every command; a command whose folder is only known
    in its handler (``hsgd figures``) calls it again there.

    Raises:
        ValueError: an empty ``--out-dir``/``--out`` (it would silently mean the current folder, or
            nothing), or an ``--out`` naming a folder (the files would land beside it).
        OSError: naming the path and the reason (``main`` turns it into one line naming the
            option, status 2).
    """
    from empirical.io import check_writable

    for name in ("out_dir", "out"):
        if getattr(args, name, None) is not None and not str(getattr(args, name)).strip():
            raise ValueError(f"--{name.replace('_', '-')} must name a {'folder' if name == 'out_dir' else 'file'}, "
                             "got an empty string")
    outputs = getattr(args, "outputs", None)
    names = list(outputs(args)) if callable(outputs) else []
    if getattr(args, "out_dir", None):
        check_writable(Path(args.out_dir), names)
    out = getattr(args, "out", None)
    if out:
        if out.endswith(("/", os.sep)) or Path(out).is_dir():
            stem = Path(out).name
            files = [f"OUT{name[len(stem):]}" for name in names]  # this command's files, named after OUT
            written = " and ".join([", ".join(files[:-1]), files[-1]]) if len(files) > 1 else "".join(files) or "OUT.*"
            raise ValueError(f"--out is a file name without extension ({written} are written next to it), got the "
                             f"folder {out!r}: give a name inside it, e.g. {str(Path(out) / 'run')!r}")
        check_writable(Path(out).parent, names)  # a stem: its files go next to it


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hsgd`` console script; returns the exit status.

    Status 2 with one line on standard error for bad input of any kind, 130 after Ctrl-C (see
    the module docstring).
    """
    if argv is None:  # the console script: the process ends after this command
        atexit.register(gc.freeze)  # its final collections then skip the ~170k objects of sympy, scipy, matplotlib (0.2 s)
    argv = sys.argv[1:] if argv is None else list(argv)
    for name in THREAD_VARIABLES:  # parallel work is split between processes (figures.executor), not BLAS threads
        os.environ.setdefault(name, "1")
    keep_freed_memory()  # the runs made in this process (--workers 1, the checker's inline parts)
    try:
        parser = build_parser(_command(argv))
    except KeyboardInterrupt:
        return _interrupted(None)
    try:
        args, extras = parser.parse_known_args(argv)
        if extras:  # named by the (sub)command that was given them, with its help page
            _unrecognized(parser, argv, extras)
    except SystemExit as stop:  # usage errors (already printed) and --help
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)
    try:
        check_output_paths(args)
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:  # Ctrl-C: one line (what was kept), no traceback
        return _interrupted(args)
    except BrokenPipeError:  # the reader stopped (hsgd ... | head): not an error of the input
        try:  # no second error when Python flushes stdout at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError):
            pass
        return 1
    except ValueError as err:  # bad input: the library names the parameter and the rule
        return _error(str(err))
    except MemoryError as err:
        larger = " or a larger --record-every" if hasattr(args, "record_every") else ""  # only where it exists
        return _error(f"out of memory ({err or 'an allocation failed'}); use fewer steps, seeds or workers{larger}")
    except OSError as err:
        return _error(_os_error(err, args))
