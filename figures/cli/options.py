"""Command-line option types and options shared by the commands (light: argparse, math and
decimal only, so ``--help`` stays fast): each type's error states the whole rule it broke."""

from __future__ import annotations

import argparse
import math
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

__all__ = ["add_theorem_option", "DEFAULT_THEOREM", "integer_option", "real_option", "list_option", "MAX_INTEGER"]

DEFAULT_THEOREM = "theorem2"
"""The theorem a command checks unless told otherwise: docs/theory.md §4.2 Theorem 2."""


def add_theorem_option(parser: argparse.ArgumentParser, default: str | None = DEFAULT_THEOREM,
                       default_text: str = DEFAULT_THEOREM) -> None:
    """``--theorem NAME``: a registered theorem (:data:`bounds.theorems.REGISTRY`) or a user's own
    as ``path/to/file.py:attr`` or ``module:attr``; resolved by :func:`bounds.theorems.theorem`
    when the command runs (an unknown one is one line naming what is accepted)."""
    parser.add_argument("--theorem", default=default, metavar="NAME",
                        help=f"the theorem checked (default {default_text}): a registered name (theorem2: docs/theory.md §4.2 "
                             "Theorem 2; sharp: §9.1 Theorem S; sharp_recursion: §9.2 Theorem S'; theorem_p: §10.3 Theorem P, with weights and partial participation; both derived for this project) or your own Theorem as "
                             "path/to/file.py:attr or module:attr (README, 'Your own theorem')")


MAX_INTEGER = 2**53 - 1  # every integer up to here is exact in floating point


def add_execution_options(parser: argparse.ArgumentParser, work: str, progress: str = "progress messages") -> None:
    """``--workers``, ``--dask-scheduler`` and ``--no-progress``: where ``work`` runs (the one executor,
    :func:`figures.executor.executor`) and whether it reports progress on standard error. The
    numbers are the same for any choice."""
    from figures.executor import workers_option

    parser.add_argument("--workers", type=workers_option, default=None,
                        help=f"processes for {work} (default: one per CPU, never more than there are tasks; 1 runs "
                             "them in this process); the numbers are the same for any count")
    parser.add_argument("--dask-scheduler", "--scheduler", dest="dask_scheduler", default=None,
                        help=f"run {work} on a Dask cluster at this address (e.g. tcp://host:8786; needs "
                             "dask.distributed; not with --workers)")
    parser.add_argument("--no-progress", action="store_true", help=f"no {progress}")


def integer_option(low: int = 1, high: int = MAX_INTEGER) -> Callable[[str], int]:
    """An argparse ``type``: an integer in ``[low, high]``, also written as ``1e4`` when integral.

    The error (which argparse prefixes with the option's name) states the whole rule.

    Example:
        >>> integer_option()("1e4"), integer_option(2, 10)("7")
        (10000, 7)
        >>> integer_option()("1e24")
        Traceback (most recent call last):
        argparse.ArgumentTypeError: must be an integer from 1 to 2**53 - 1, got '1e24'
    """
    top = "2**53 - 1" if high == MAX_INTEGER else str(high)
    rule = f"must be an integer from {low} to {top}"

    def parse(text: str) -> int:
        try:
            number = Decimal(text.strip())
        except InvalidOperation:
            raise argparse.ArgumentTypeError(f"{rule}, got {text!r}") from None
        if not number.is_finite() or number.adjusted() > 18 or number != number.to_integral_value():
            raise argparse.ArgumentTypeError(f"{rule}, got {text!r}")
        value = int(number)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{rule}, got {text!r}")
        return value

    parse.__name__ = "integer"
    return parse


def real_option(sign: str = "any", *, low: float | None = None, high: float | None = None) -> Callable[[str], float]:
    """An argparse ``type``: a finite real number, ``sign`` one of "positive", "non-negative", "any",
    optionally within ``[low, high]`` (a range where the computations that use it stay finite).

    Example:
        >>> real_option("positive")("2.5")
        2.5
        >>> real_option("non-negative")("nan")
        Traceback (most recent call last):
        argparse.ArgumentTypeError: must be a finite non-negative number, got 'nan'
        >>> real_option("non-negative", high=1e30)("1e308")
        Traceback (most recent call last):
        argparse.ArgumentTypeError: must be a non-negative number at most 1e+30, got '1e308'
        >>> real_option("positive", low=1e-30, high=1e30)("1e-40")
        Traceback (most recent call last):
        argparse.ArgumentTypeError: must be a number from 1e-30 to 1e+30, got '1e-40'
    """
    kind = "number" if sign == "any" else f"{sign} number"
    if low is not None and high is not None:
        rule = f"must be a number from {low:g} to {high:g}"
    elif high is not None:
        rule = f"must be a {kind} at most {high:g}"
    elif low is not None:
        rule = f"must be a {kind} of at least {low:g}"
    else:
        rule = f"must be a finite {kind}"
    ok = {"positive": lambda v: v > 0, "non-negative": lambda v: v >= 0, "any": lambda v: True}[sign]

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{rule}, got {text!r}") from None
        if not (math.isfinite(value) and ok(value) and (low is None or value >= low)
                and (high is None or value <= high)):
            raise argparse.ArgumentTypeError(f"{rule}, got {text!r}")
        return value

    parse.__name__ = "number"
    return parse


def list_option(item: Callable[[str], Any], *, allow_empty: bool = False) -> Callable[[str], list[Any]]:
    """An argparse ``type``: comma-separated items, each parsed by ``item``; no empty item.

    Example:
        >>> list_option(integer_option())("5,25,100")
        [5, 25, 100]
        >>> list_option(integer_option())("5,,100")
        Traceback (most recent call last):
        argparse.ArgumentTypeError: item 2 of '5,,100' is empty (a comma-separated list)
    """

    def parse(text: str) -> list[Any]:
        if not text.strip():
            if allow_empty:
                return []
            raise argparse.ArgumentTypeError(f"must be a comma-separated list of at least one item, got {text!r}")
        values = []
        for i, part in enumerate(text.split(","), start=1):
            if not part.strip():
                raise argparse.ArgumentTypeError(f"item {i} of {text!r} is empty (a comma-separated list)")
            try:
                values.append(item(part))
            except argparse.ArgumentTypeError as err:
                raise argparse.ArgumentTypeError(f"item {i} of {text!r} {err}") from None
        return values

    parse.__name__ = "list"
    return parse
