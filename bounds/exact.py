"""Exact (rational) evaluation of a bound's terms and conditions, derived from its sympy statement.

Every float is a rational number; taking each input at its exact value and evaluating the
statement in :class:`fractions.Fraction` arithmetic decides a comparison with no tolerance (a
step size one ulp above a limit fails). The statement is printed once to plain Python with
its constants as ``Fraction`` (:func:`exact_function`), so an exact evaluation costs tens of
microseconds, not sympy's substitution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np
import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from bounds.statement import Condition

if TYPE_CHECKING:  # only for type hints: bounds.bound does not import this module
    from bounds.bound import Bound

__all__ = ["NotRational", "rational", "exact_function", "ExactCheck", "exact_conditions", "exact_terms", "exact_value", "compare"]


def rational(value: Any) -> Fraction:
    """The exact rational value of an integer, a ``Fraction``, a sympy rational or a finite float.

    Example:
        >>> rational(0.1)
        Fraction(3602879701896397, 36028797018963968)
    """
    if isinstance(value, Fraction):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return Fraction(int(value))
    if isinstance(value, sp.Rational):
        return Fraction(int(value.p), int(value.q))
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"cannot decide exactly at a non-finite value {value!r}")
    return Fraction(number)


class _FractionPrinter(PythonCodePrinter):
    """Python code in which every sympy rational is a ``Fraction`` (so arithmetic stays exact)."""

    def _print_Rational(self, expr: sp.Rational) -> str:
        return f"Fraction({expr.p}, {expr.q})"

    def _print_Half(self, expr: sp.Rational) -> str:
        return "Fraction(1, 2)"

    def _print_Integer(self, expr: sp.Integer) -> str:
        return str(expr.p)

    def _print_Max(self, expr: sp.Max) -> str:
        return "max(" + ", ".join(self._print(arg) for arg in expr.args) + ")"

    def _print_Min(self, expr: sp.Min) -> str:
        return "min(" + ", ".join(self._print(arg) for arg in expr.args) + ")"


_CACHE: dict[tuple[tuple[sp.Symbol, ...], sp.Expr], Callable[..., Any]] = {}


def exact_function(symbols: Sequence[sp.Symbol], expr: sp.Expr) -> Callable[..., Any]:
    """``expr`` as a Python function of ``symbols`` that is exact on ``Fraction`` inputs (cached).

    Example:
        >>> x = sp.Symbol("x")
        >>> exact_function((x,), sp.Rational(2, 3) * x + sp.Max(0, x - 1))(Fraction(3))
        Fraction(4, 1)
    """
    key = (tuple(symbols), sp.sympify(expr))
    fn = _CACHE.get(key)
    if fn is None:
        printer = _FractionPrinter({"fully_qualified_modules": False, "inline": True,
                                    "allow_unknown_functions": True})  # a theorem's implemented functions (S')
        fn = _CACHE[key] = sp.lambdify(key[0], key[1], modules=[{"Fraction": Fraction, "math": math}], printer=printer)
    return fn


class NotRational(ValueError):
    """A value that is not a rational function of the parameters (e.g. Theorem P's square root),
    so it cannot be evaluated in fractions."""


def _exact(value: Any, what: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, Fraction)):
        raise NotRational(f"{what} is not a rational function of the parameters (got {value!r}): it cannot be "
                         "decided exactly")
    return Fraction(value)


def _substitution(bound: "Bound", values: Mapping[str, Any], names: set[str] | None = None) -> dict[sp.Symbol, Fraction]:
    """Each keyword value at its exact rational value, by symbol (only keywords in ``names``)."""
    out: dict[sp.Symbol, Fraction] = {}
    for key, spec in bound.parameters.items():
        if key not in values or (names is not None and key not in names):
            continue
        syms = spec if isinstance(spec, tuple) else (spec,)
        items = list(values[key]) if isinstance(spec, tuple) else [values[key]]
        if len(items) != len(syms):
            raise ValueError(f"parameter {key} must have {len(syms)} values, one per level (finest first), got {len(items)}")
        out.update({sym: rational(v) for sym, v in zip(syms, items)})
    return out


@dataclass(frozen=True)
class ExactCheck:
    """A condition decided exactly: its two sides as fractions and whether it holds.

    ``free_limit`` is true where the theorem's free parameters (Young's ``alpha``, ``beta``)
    were not given and the condition was decided in their limit (free -> infinity, where such
    conditions are loosest): it then says whether *some* choice of them meets it."""

    condition: Condition
    lhs: Fraction
    rhs: Fraction
    free_limit: bool = False

    @property
    def holds(self) -> bool:
        return self.lhs < self.rhs if self.condition.strict else self.lhs <= self.rhs


def exact_conditions(bound: "Bound", values: Mapping[str, Any], loosen: Any = 1) -> list[ExactCheck]:
    """Every condition of ``bound`` at ``values``, decided exactly, right-hand sides times ``loosen``.

    ``values`` needs only the keywords the conditions use. Where the bound's free parameters are
    not given, a condition that involves them is decided in their limit (they are taken to
    infinity, where Theorem S's conditions are loosest): whether *some* choice meets it.

    Raises:
        ValueError: naming a missing parameter, or a condition that is not rational in them.

    Example:
        >>> from bounds import local_sgd
        >>> [c.holds for c in exact_conditions(local_sgd(), dict(gamma=0.25, L=1, P=2))]
        [True, True]
    """
    given = frozenset(key for key in bound.free if key in values)
    factor = rational(loosen)
    out = []
    for cond, keys, syms, fn, in_limit in _condition_plan(bound, given):
        missing = [key for key in keys if key not in values]
        if missing:
            raise ValueError(f"missing parameter {missing[0]!r} for the condition {cond.label}")
        subs = _substitution(bound, values, keys)
        sides = fn(*(subs[sym] for sym in syms))
        out.append(ExactCheck(cond, _exact(sides[0], cond.label), _exact(sides[1], cond.label) * factor, in_limit))
    return out


@lru_cache(maxsize=256)
def _condition_plan(bound: "Bound", given: frozenset[str]) -> list[tuple[Condition, set[str], list[sp.Symbol],
                                                                         Callable[..., Any], bool]]:
    """For each condition: the keywords it needs, its symbols, its exact function, and whether it
    is taken in the limit of free parameters not ``given``."""
    limit = {sym: sp.oo for key, syms in bound.free.items() if key not in given for sym in syms}
    keyword = {sym: key for key, spec in bound.parameters.items()
               for sym in (spec if isinstance(spec, tuple) else (spec,))}
    plan = []
    for cond in bound.conditions:
        lhs, rhs = cond.lhs, cond.rhs
        in_limit = bool((lhs.free_symbols | rhs.free_symbols) & set(limit))
        if in_limit:
            lhs, rhs = lhs.subs(limit), rhs.subs(limit)
        syms = sorted(lhs.free_symbols | rhs.free_symbols, key=lambda sym: sym.name)
        plan.append((cond, {keyword[sym] for sym in syms}, syms, exact_function(syms, sp.Tuple(lhs, rhs)), in_limit))
    return plan


def exact_terms(bound: "Bound", values: Mapping[str, Any], exprs: Mapping[str, sp.Expr] | None = None
                ) -> dict[str, Fraction]:
    """``bound``'s terms (or the named expressions ``exprs`` of it) at ``values``, exactly."""
    exprs = bound.terms if exprs is None else exprs
    subs = _substitution(bound, values)
    symbols = bound.symbols
    missing = [s.name for s in symbols if s not in subs]
    if missing:
        raise ValueError(f"missing parameter {missing[0]!r} for {bound.title}")
    numbers = exact_function(symbols, sp.Tuple(*exprs.values()))(*(subs[s] for s in symbols))
    return {name: _exact(v, f"{bound.title}'s {name}") for name, v in zip(exprs, numbers)}


def exact_value(bound: "Bound", values: Mapping[str, Any]) -> Fraction | sp.Expr:
    """``bound`` at ``values``, exactly: each float input is taken at its exact value. A
    ``Fraction`` where the statement is rational in its parameters; else (Theorem P's square root)
    the exact algebraic number as a sympy expression, which :func:`compare` orders exactly.

    Example:
        >>> from bounds import local_sgd
        >>> exact_value(local_sgd(), dict(gamma=0.5, L=1, sigma=0, n=4, T=10, F0=1, P=2, eps=1))
        Fraction(7, 5)
    """
    try:
        return sum(exact_terms(bound, values).values(), Fraction(0))
    except NotRational:
        pass
    subs = {sym: sp.Rational(v.numerator, v.denominator) for sym, v in _substitution(bound, values).items()}
    return sp.Add(*(term.xreplace(subs) for term in bound.terms.values()))


def _as_sympy(value: Fraction | sp.Expr) -> sp.Expr:
    return sp.Rational(value.numerator, value.denominator) if isinstance(value, Fraction) else value


def compare(a: Fraction | sp.Expr, b: Fraction | sp.Expr) -> int | None:
    """The sign of ``a - b`` (-1, 0 or 1) for exact values of :func:`exact_value`; ``None`` where
    sympy cannot decide it (never for two fractions).

    Example:
        >>> compare(sp.sqrt(2) + 1, Fraction(12, 5)), compare(Fraction(1, 3), Fraction(1, 3))
        (1, 0)
    """
    if isinstance(a, Fraction) and isinstance(b, Fraction):
        return (a > b) - (a < b)
    difference = sp.radsimp(_as_sympy(a) - _as_sympy(b))
    if difference == 0:
        return 0
    if difference.is_positive:
        return 1
    if difference.is_negative:
        return -1
    return None
