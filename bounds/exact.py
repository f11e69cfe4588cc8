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
from numpy.typing import NDArray
from sympy.printing.pycode import PythonCodePrinter

from bounds.statement import Condition

if TYPE_CHECKING:  # only for type hints: bounds.bound does not import this module
    from bounds.bound import Bound

__all__ = ["NEAR_RTOL", "decide", "ExactReal", "NotRational", "rational", "exact_function", "ExactCheck", "exact_conditions", "exact_terms", "exact_value", "compare"]


NEAR_RTOL = 1e-9
"""A condition evaluated in floats is decided by the floats only where its two sides are more
than this far apart (relative to the right side); nearer, it is decided exactly (:func:`decide`).
The float evaluation of a condition's polynomial sides errs by a few ulps (about 1e-15), so
the floats decide only where they cannot be wrong."""


def decide(condition: Condition, symbols: Sequence[sp.Symbol], inputs: Sequence[Any], lhs: Any, rhs: Any) -> NDArray[np.bool_]:
    """Whether ``condition`` holds at float ``inputs`` (one array or number per symbol of
    ``symbols``, broadcasting), given its two sides ``lhs``, ``rhs`` already evaluated in floats.

    The one decision of a condition: the float comparison where the sides are more than
    :data:`NEAR_RTOL` apart, and the exact comparison (each input at its exact rational value)
    nearer, so a step size one ulp above a limit fails and one at it holds, in every command.

    Example:
        >>> from bounds import local_sgd
        >>> cond = local_sgd().conditions[1]            # 4 gamma^2 L^2 P (P - 1) <= 1
        >>> syms = sorted(cond.lhs.free_symbols, key=lambda s: s.name)
        >>> gamma = np.array([0.5 / np.sqrt(2), np.nextafter(0.5 / np.sqrt(2), 1.0), 0.3])
        >>> lhs = 4 * gamma**2 * 2                      # L = 1, P = 2: the limit is 1/(2 sqrt 2)
        >>> decide(cond, syms, [1.0, 2.0, gamma], lhs, np.ones(3)).tolist()
        [True, False, True]
    """
    lhs, rhs = np.asarray(lhs, dtype=np.float64), np.asarray(rhs, dtype=np.float64)
    holds = np.array(condition.met(lhs, rhs), dtype=bool)
    with np.errstate(invalid="ignore"):
        near = np.abs(lhs - rhs) <= NEAR_RTOL * np.abs(rhs)
    near = np.broadcast_to(near, holds.shape)
    if not near.any():
        return holds
    exact = exact_function(symbols, sp.Tuple(condition.lhs, condition.rhs))
    for flat in np.flatnonzero(near):
        index = np.unravel_index(flat, holds.shape)
        sides = exact(*(rational(np.broadcast_to(np.asarray(x, dtype=np.float64), holds.shape)[index]) for x in inputs))
        try:
            holds[index] = ExactCheck(condition, _exact(sides[0], condition.label), _exact(sides[1], condition.label)).holds
        except NotRational:  # pragma: no cover - every condition of the project's theorems is rational
            pass             # the float comparison stands
    return holds


class ExactReal(float):
    """A float that remembers the exact real number it rounds: an input whose exact value is not
    the float's (e.g. Corollary 0's ``eps = sqrt(eps_l^2 + eps_g^2)``, docs/theory.md §6.2).

    Float arithmetic (``evaluate``, numpy, JSON) sees the rounded float; the exact decisions of
    this module (:func:`exact_conditions`, :func:`exact_value`) take :attr:`exact`, so a bound
    fed ``sqrt(a^2 + b^2)`` equals, exactly, one fed ``a`` and ``b`` where the statement says so,
    instead of differing by the rounding of the square root.

    Example:
        >>> r = ExactReal(sp.sqrt(2))
        >>> float(r), r.exact, float(r * r) == 2.0
        (1.4142135623730951, sqrt(2), False)
    """

    exact: sp.Expr

    def __new__(cls, exact: Any) -> "ExactReal":
        value = sp.nsimplify(exact) if isinstance(exact, Fraction) else sp.sympify(exact)
        if value.free_symbols or not value.is_real or not value.is_finite:
            raise ValueError(f"an ExactReal needs a finite real number without symbols, got {exact!r}")
        self = super().__new__(cls, float(value))
        self.exact = value
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return ExactReal, (self.exact,)

    @classmethod
    def root_sum_of_squares(cls, values: Sequence[Any]) -> "ExactReal":
        """``sqrt(sum_i v_i^2)`` of floats (or fractions) taken at their exact values.

        Example:
            >>> ExactReal.root_sum_of_squares([3.0, 4.0]).exact
            5
        """
        return cls(sp.sqrt(sum((_as_sympy(_exact_input(v)) ** 2 for v in values), sp.Integer(0))))


def _exact_input(value: Any) -> Fraction | sp.Expr:
    """An input at its exact value: a :class:`ExactReal`'s own (a ``Fraction`` when rational),
    anything else by :func:`rational`."""
    if isinstance(value, ExactReal):
        exact = value.exact
        return Fraction(int(exact.p), int(exact.q)) if exact.is_Rational else exact
    return rational(value)


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


def _substitution(bound: "Bound", values: Mapping[str, Any], names: set[str] | None = None
                  ) -> dict[sp.Symbol, Fraction | sp.Expr]:
    """Each keyword value at its exact value (:func:`_exact_input`), by symbol (only keywords in ``names``)."""
    out: dict[sp.Symbol, Fraction | sp.Expr] = {}
    for key, spec in bound.parameters.items():
        if key not in values or (names is not None and key not in names):
            continue
        syms = spec if isinstance(spec, tuple) else (spec,)
        items = list(values[key]) if isinstance(spec, tuple) else [values[key]]
        if len(items) != len(syms):
            raise ValueError(f"parameter {key} must have {len(syms)} values, one per level (finest first), got {len(items)}")
        out.update({sym: _exact_input(v) for sym, v in zip(syms, items)})
    return out


@dataclass(frozen=True)
class ExactCheck:
    """A condition decided exactly: its two sides as fractions and whether it holds.

    ``free_limit`` is true where the theorem's free parameters (Young's ``alpha``, ``beta``)
    were not given and the condition was decided in their limit (free -> infinity, where such
    conditions are loosest): it then says whether *some* choice of them meets it."""

    condition: Condition
    lhs: Fraction | sp.Expr
    rhs: Fraction | sp.Expr
    free_limit: bool = False

    @property
    def holds(self) -> bool:
        sign = compare(self.lhs, self.rhs)
        if sign is None:  # pragma: no cover - sympy decides the sign of every surd the project feeds it
            raise ValueError(f"the condition {self.condition.label} could not be decided exactly")
        return sign < 0 if self.condition.strict else sign <= 0


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
    for cond, keys, syms, fn, in_limit, exprs in _condition_plan(bound, given):
        missing = [key for key in keys if key not in values]
        if missing:
            raise ValueError(f"missing parameter {missing[0]!r} for the condition {cond.label}")
        subs = _substitution(bound, values, keys)
        args = [subs[sym] for sym in syms]
        if all(isinstance(a, Fraction) for a in args):
            sides = fn(*args)
            lhs, rhs = _exact(sides[0], cond.label), _exact(sides[1], cond.label) * factor
        else:  # an ExactReal input that is not rational: the sides as exact algebraic numbers
            at = dict(zip(syms, map(_as_sympy, args)))
            lhs, rhs = exprs[0].xreplace(at), exprs[1].xreplace(at) * _as_sympy(factor)
        out.append(ExactCheck(cond, lhs, rhs, in_limit))
    return out


@lru_cache(maxsize=256)
def _condition_plan(bound: "Bound", given: frozenset[str]
                    ) -> list[tuple[Condition, set[str], list[sp.Symbol], Callable[..., Any], bool, tuple[sp.Expr, sp.Expr]]]:
    """For each condition: the keywords it needs, its symbols, its exact function, whether it is
    taken in the limit of free parameters not ``given``, and its two sides as taken."""
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
        plan.append((cond, {keyword[sym] for sym in syms}, syms, exact_function(syms, sp.Tuple(lhs, rhs)), in_limit,
                     (lhs, rhs)))
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
    irrational = [s.name for s in symbols if not isinstance(subs[s], Fraction)]
    if irrational:
        raise NotRational(f"the input {irrational[0]} of {bound.title} is not rational: its terms cannot be evaluated "
                          "in fractions")
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
    subs = {sym: _as_sympy(v) for sym, v in _substitution(bound, values).items()}
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
