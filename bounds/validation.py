"""Checks of parameter values against the domain of a bound, with errors that name the rule.

Two kinds of rules:

* per symbol, read off its sympy assumptions: ``gamma``, ``L`` positive; ``sigma``, ``F0``,
  every ``eps`` non-negative; ``n``, ``T``, periods and group counts positive integers;
* structural, read off the bound's levels (docs/theory.md §1.1 Workers, hierarchy,
  periods): each period divides the next, group counts do not increase from fine to coarse
  (``N <= n``), and where Lemma 2 needs equal groups each count divides the finer one and ``n >= 2``.

The horizon ``T`` is any positive integer: it need not be a multiple of the top period,
since the theorem also covers a final partial window (docs/theory.md §5.5 Any horizon).

All checks are vectorised: they take float arrays (scalars are 0-d arrays), so the same code
serves :meth:`bounds.Bound.evaluate` and :meth:`bounds.Bound.lambdify`.
"""

from __future__ import annotations

import math
import numbers
from fractions import Fraction
from typing import Any, Mapping, Protocol, Sequence

import numpy as np
import sympy as sp
from numpy.typing import NDArray

from bounds.compiled import compiled

__all__ = ["BoundStructure", "as_parameter_arrays", "check_domain", "check_structure_numbers", "largest_inputs"]


class BoundStructure(Protocol):
    """What the domain checks read of a bound: its keywords, its levels and whether it needs
    equal groups (:class:`bounds.Bound` has all three; this module does not import it)."""

    parameters: Mapping[str, Any]
    levels: Sequence[Any]
    equal_groups: bool



def _as_real_array(name: str, value: Any) -> NDArray[np.float64]:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"parameter {name} must be a real number, got the boolean {value!r}")
    if isinstance(value, sp.Basic):
        if not (value.is_number and value.is_real):
            raise ValueError(f"parameter {name} must be a real number, got {value}")
        value = float(value)
    elif isinstance(value, Fraction):  # an exact value (bounds.exact takes it as it is)
        value = float(value)
    try:
        arr = np.asarray(value)
    except Exception as err:  # pragma: no cover - numpy raises many kinds here
        raise ValueError(f"parameter {name} must be a real number or array, got {value!r}") from err
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"parameter {name} must be a real number or array of them, got {value!r}")
    return arr.astype(np.float64, copy=False)


def as_parameter_arrays(
    title: str, parameters: Mapping[str, sp.Symbol | tuple[sp.Symbol, ...]], values: Mapping[str, Any]
) -> dict[sp.Symbol, NDArray[np.float64]]:
    """Map keyword ``values`` onto symbols, as float arrays.

    Raises:
        ValueError: for an unknown or missing keyword, a per-level keyword that is not a
            sequence of the right length, or a value that is not a finite real number.
    """
    unknown = sorted(set(values) - set(parameters))
    if unknown:
        raise ValueError(
            f"unknown parameter {unknown[0]!r} for {title}; expected: {', '.join(parameters)}"
        )
    out: dict[sp.Symbol, NDArray[np.float64]] = {}
    for name, spec in parameters.items():
        if name not in values:
            raise ValueError(f"missing parameter {name!r} for {title}")
        value = values[name]
        if isinstance(spec, tuple):
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) and np.ndim(value) == 0:
                raise ValueError(
                    f"parameter {name} must be a sequence of {len(spec)} values, one per level "
                    f"(finest first), got {value!r}"
                )
            items = list(value)
            if len(items) != len(spec):
                raise ValueError(
                    f"parameter {name} must have {len(spec)} values, one per level (finest "
                    f"first), got {len(items)}"
                )
            for i, (sym, item) in enumerate(zip(spec, items)):
                out[sym] = _as_real_array(f"{name}[{i}]", item)
        else:
            out[spec] = _as_real_array(name, value)
    return out


def _first(arr: NDArray[Any], mask: NDArray[np.bool_]) -> str:
    """The first offending entry, for an error message."""
    if arr.ndim == 0:
        return f"{arr.item():g}"
    idx = tuple(int(i[0]) for i in np.nonzero(mask))
    return f"{arr[idx]:g} at index {idx if len(idx) > 1 else idx[0]}"


def _numeric(expr: sp.Expr, arrays: Mapping[sp.Symbol, NDArray[np.float64]]) -> NDArray[np.float64]:
    if expr.is_number:
        return np.asarray(float(expr))
    if isinstance(expr, sp.Symbol):
        return arrays[expr]
    syms = sorted(expr.free_symbols, key=lambda sym: sym.name)
    fn = compiled(syms, expr)
    return np.asarray(fn(*(arrays[sym] for sym in syms)), dtype=np.float64)


def _is_integer(arr: NDArray[np.float64]) -> NDArray[np.bool_]:
    return np.equal(np.floor(arr), arr)


def _all_integer(arr: NDArray[np.float64]) -> bool:
    return bool((np.floor(arr) == arr).all())


def _symbol_rules(sym: sp.Symbol, name: str, arr: NDArray[np.float64], integer: bool = True) -> None:
    # Two reductions and no boolean temporaries: NaN reaches both, inf one of them.
    low, high = (arr.min(), arr.max()) if arr.size else (0.0, 0.0)
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"parameter {name} must be finite, got {_first(arr, ~np.isfinite(arr))}")
    if sym.is_positive and not low > 0:
        raise ValueError(f"{name} must be positive, got {_first(arr, ~(arr > 0))}")
    if sym.is_nonnegative and not low >= 0:
        raise ValueError(f"{name} must be non-negative, got {_first(arr, ~(arr >= 0))}")
    if integer and sym.is_integer and not _all_integer(arr):
        raise ValueError(f"{name} must be an integer, got {_first(arr, ~_is_integer(arr))}")


def _multiple_rule(big: NDArray, small: NDArray, big_name: str, small_name: str, why: str) -> None:
    # Both are positive integers here (checked before), far below 2**52, so big/small is
    # an exact integer exactly when small divides big: no slow floating-point modulo.
    if _all_integer(np.divide(big, small)):
        return
    if not _all_integer(big):
        raise ValueError(f"{big_name} must be an integer, got {_first(big, ~_is_integer(big))}")
    bad = np.mod(big, small) != 0
    if np.any(bad):
        b, sm = np.broadcast_arrays(big, small)
        raise ValueError(
            f"{big_name} must be a multiple of {small_name}{why} (got {big_name} = "
            f"{_first(b, bad)}, {small_name} = {_first(sm, bad)})"
        )


def check_domain(bound: BoundStructure, arrays: Mapping[sp.Symbol, NDArray[np.float64]]) -> None:
    """Raise ``ValueError`` naming the first rule of the bound's domain that ``arrays`` break."""
    names = {}
    for key, spec in bound.parameters.items():
        for i, sym in enumerate(spec if isinstance(spec, tuple) else (spec,)):
            names[sym] = f"{key}[{i}]" if isinstance(spec, tuple) else key
    # A later period is an integer multiple of an integer period, so its integrality follows
    # from the nesting rule below: skip the extra pass. T is checked on its own (any T >= 1).
    if any(arr.size == 0 for arr in arrays.values()):
        return  # the broadcast result is empty: nothing to check
    implied = {lev.period for lev in bound.levels[1:] if lev.period.is_Symbol}
    implied.discard(bound.levels[0].period)  # a symbol repeated from P_1 must be checked itself
    for sym, arr in arrays.items():
        _symbol_rules(sym, names[sym], arr, integer=sym not in implied)

    periods = [_numeric(level.period, arrays) for level in bound.levels]
    labels = [level.period_label for level in bound.levels]
    for level, p in zip(bound.levels, periods):
        if level.period.is_Symbol and level.period.is_positive and level.period.is_integer:
            continue  # checked by the symbol's own rules above
        bad = ~((p >= 1) & _is_integer(p))
        if np.any(bad):
            raise ValueError(f"{level.period_label} must be a positive integer, got {_first(p, bad)}")
    for l in range(1, len(periods)):
        _multiple_rule(periods[l], periods[l - 1], labels[l], labels[l - 1], " (periods must nest)")

    counts = [_numeric(bound.levels[0].finer_count, arrays)] + [_numeric(lev.count, arrays) for lev in bound.levels]
    count_labels = ["n"] + [lev.count_label for lev in bound.levels]
    for l in range(1, len(counts)):
        fine, coarse = counts[l - 1], counts[l]
        level = bound.levels[l - 1]
        checked = level.count.is_Symbol and level.count.is_positive and level.count.is_integer
        if not checked and not (coarse.min() >= 1 and _all_integer(coarse)):
            bad = ~((coarse >= 1) & _is_integer(coarse))
            raise ValueError(f"{count_labels[l]} must be a positive integer, got {_first(coarse, bad)}")
        if not np.all(np.less_equal(coarse, fine)):
            bad = coarse > fine
            c, f = np.broadcast_arrays(coarse, fine)
            raise ValueError(
                f"{count_labels[l]} must be at most {count_labels[l - 1]} (group counts cannot "
                f"grow from fine to coarse; got {count_labels[l]} = {_first(c, bad)}, "
                f"{count_labels[l - 1]} = {_first(f, bad)})"
            )
        if bound.equal_groups:
            _multiple_rule(fine, coarse, count_labels[l - 1], count_labels[l],
                           " (Lemma 2's random grouping needs equal nested groups)")
    if bound.equal_groups and not np.all(counts[0] >= 2):
        raise ValueError(
            f"n must be at least 2 for Lemma 2's random grouping (its shares divide by n - 1), "
            f"got {_first(counts[0], ~(counts[0] >= 2))}"
        )


def check_structure_numbers(periods: Sequence[Any], groups: Sequence[Any]) -> None:
    """Check the numeric entries of ``periods`` and ``groups`` when a bound is built.

    Symbolic entries are checked later, at evaluation. Numbers must be positive integers of an
    integer type (``int``, a numpy integer or a sympy ``Integer``; a float is refused even when
    integral, since it would make the bound's coefficients floats), consecutive numeric periods
    must nest, and numeric group counts must not increase.

    Example:
        >>> check_structure_numbers([5, 50, 200], [16, 4])
        >>> check_structure_numbers([5.0, 25.0], [4])
        Traceback (most recent call last):
        ...
        ValueError: periods[0] must be a positive integer (int, numpy integer or sympy Integer) or a sympy symbol, got 5.0
        >>> check_structure_numbers([5, 12], [4])
        Traceback (most recent call last):
        ...
        ValueError: periods[1] = 12 must be a multiple of periods[0] = 5 (periods must nest)
    """
    for kind, seq in (("periods", periods), ("groups", groups)):
        for i, value in enumerate(seq):
            if isinstance(value, sp.Basic) and not value.is_number:
                continue
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, sp.Integer)):
                raise ValueError(f"{kind}[{i}] must be a positive integer (int, numpy integer or sympy Integer) or a "
                                 f"sympy symbol, got {value!r}")
            number = float(value) if abs(value) < 2**53 else float("inf")
            if not math.isfinite(number) or number != int(number) or number < 1:
                raise ValueError(f"{kind}[{i}] must be a positive integer below 2**53, got {value!r}")
    for i in range(1, len(periods)):
        a, b = periods[i - 1], periods[i]
        if _is_number(a) and _is_number(b) and int(b) % int(a):
            raise ValueError(f"periods[{i}] = {b} must be a multiple of periods[{i - 1}] = {a} (periods must nest)")
    for i in range(1, len(groups)):
        a, b = groups[i - 1], groups[i]
        if _is_number(a) and _is_number(b) and int(b) > int(a):
            raise ValueError(
                f"groups[{i}] = {b} must be at most groups[{i - 1}] = {a} (groups are listed finest "
                "first, and counts cannot grow from fine to coarse)"
            )


def _is_number(value: Any) -> bool:
    return not (isinstance(value, sp.Basic) and not value.is_number)


def largest_inputs(arrays: Mapping[sp.Symbol, Any]) -> str:
    """The inputs of largest magnitude, named, for an overflow message.

    Example:
        >>> import sympy as sp
        >>> largest_inputs({sp.Symbol("sigma"): np.array(1e308), sp.Symbol("L"): np.array([1.0, 2.0])})
        'largest: sigma = 1e+308'
    """
    sizes = {sym.name: float(np.max(np.abs(arr))) for sym, arr in arrays.items() if np.size(arr)}
    top = max(sizes.values(), default=0.0)
    named = [f"{name} = {value:.3g}" for name, value in sizes.items() if value == top]
    return "largest: " + ", ".join(named)
