"""The :class:`Bound` type: a convergence bound as named sympy terms plus its conditions.

A bound of docs/theory.md §4.2 Theorem 2 (and its cases: Theorem 1, local SGD) is fully
described by its *levels*: for each level ``l`` the period ``P_l``, the group counts ``K_{l-1}`` and
``K_l`` on either side of it, and the squared divergence bound ``eps_l^2`` (or Lemma 2's
share of a total ``eps^2``). :class:`Bound` turns that description into the terms, the
step-size condition, and fast, validated numerical evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping, Union

import numpy as np
import sympy as sp
from numpy.typing import NDArray

from bounds import symbols as s
from bounds.coefficients import THEORY, Coefficients
from bounds.compiled import compiled
from bounds.validation import as_parameter_arrays, check_domain

__all__ = ["Level", "Condition", "ConditionCheck", "Bound", "VectorizedBound"]

ParameterSpec = Union[sp.Symbol, tuple[sp.Symbol, ...]]

# Slack when comparing a condition's two sides, so a step size computed as exactly the
# largest admissible one (e.g. 1/(2 L sqrt(S))) is not rejected for a rounding error.
CONDITION_RTOL = 1e-12

OutsideCondition = Literal["evaluate", "nan", "raise"]
"""What :meth:`Bound.lambdify` does at points where a step-size condition fails."""
OUTSIDE_CONDITION_MODES: tuple[str, ...] = ("evaluate", "nan", "raise")


@dataclass(frozen=True)
class Level:
    """One level of a hierarchy, as the bound sees it.

    Attributes:
        period: ``P_l``, number or sympy expression.
        finer_count: ``K_{l-1}``, the number of groups one level down (``n`` at level 1).
        count: ``K_l``, the number of groups at this level (``1`` at the top).
        eps_sq: ``eps_l^2``, the squared divergence bound of this level (A3).
        term: the name of this level's term in :attr:`Bound.terms`.
        period_label: how error messages name the period (``"G"``, ``"periods[1]"``).
        count_label: how error messages name ``K_l``.
    """

    period: sp.Expr
    finer_count: sp.Expr
    count: sp.Expr
    eps_sq: sp.Expr
    term: str
    period_label: str
    count_label: str


@dataclass(frozen=True)
class Condition:
    """A condition ``lhs <= rhs`` (``lhs < rhs`` when ``strict``) under which a bound holds."""

    label: str
    lhs: sp.Expr
    rhs: sp.Expr
    strict: bool = False

    @property
    def relational(self) -> sp.Expr:
        """The condition as a sympy relational ``lhs <= rhs`` (or ``lhs < rhs``)."""
        return (sp.Lt if self.strict else sp.Le)(self.lhs, self.rhs, evaluate=False)

    def met(self, lhs: Any, rhs: Any) -> Any:
        """Whether numbers (or arrays) ``lhs``, ``rhs`` meet it: ``lhs < rhs`` when strict, else
        ``lhs <= rhs`` up to :data:`CONDITION_RTOL` (a step size computed as exactly the largest
        admissible one is not rejected for a rounding error)."""
        return lhs < rhs if self.strict else lhs <= rhs * (1 + CONDITION_RTOL)


@dataclass(frozen=True)
class ConditionCheck:
    """A condition evaluated at numbers: both sides and whether it holds."""

    condition: Condition
    lhs: float
    rhs: float

    @property
    def holds(self) -> bool:
        return bool(self.condition.met(self.lhs, self.rhs))

    @property
    def excess(self) -> float:
        """``lhs - rhs``: by how much the condition fails (negative when it holds)."""
        return self.lhs - self.rhs

    def describe(self) -> str:
        verdict = "holds" if self.holds else f"FAILS by {self.excess:.6g}"
        return f"{self.condition.label}: {self.lhs:.6g} {'<' if self.condition.strict else '<='} {self.rhs:.6g} {verdict}"


class Bound:
    r"""A convergence bound of docs/theory.md §4.2 Theorem 2 (or a case of it), in named parts.

    .. math::
        \frac{1}{T}\sum_{t<T}\mathbb{E}\|\nabla f(u^t)\|^2 \le
        \frac{2F_0}{\gamma T} + \frac{\gamma L\sigma^2}{n}
        + \sum_{l=1}^{M} 2\gamma^2L^2(P_l-1)\Big[\frac{(K_{l-1}-K_l)\sigma^2}{n}
        + \frac{2}{3}(2P_l-1)\varepsilon_l^2\Big]

    under :math:`\gamma L \le 1` and :math:`4\gamma^2L^2\sum_l P_l(P_l-1) \le 1` (the numbers
    are :class:`~bounds.coefficients.Coefficients`, by default those of docs/theory.md §0
    Provenance). Build one with :func:`bounds.two_level`, :func:`bounds.local_sgd` or
    :func:`bounds.multi_level`.

    Attributes:
        title: what the bound is, e.g. ``"Theorem 1 (two-level H-SGD)"``.
        source: where the statement comes from.
        levels: the :class:`Level` descriptions, finest first.
        parameters: keyword name -> symbol, or tuple of symbols for a per-level sequence.
        coefficients: the numbers in front of the terms.
        equal_groups: whether the bound needs equal group sizes (Lemma 2's random grouping).
        terms: named parts (``init``, ``noise``, then one per level); they sum to :attr:`expr`.
        conditions: the step-size conditions, as :class:`Condition` objects.
    """

    def __init__(
        self,
        *,
        title: str,
        source: str,
        levels: tuple[Level, ...],
        parameters: Mapping[str, ParameterSpec],
        coefficients: Coefficients = THEORY,
        equal_groups: bool = False,
        term_order: tuple[str, ...] | None = None,
    ) -> None:
        self.title = title
        self.source = source
        self.levels = tuple(levels)
        self.parameters = dict(parameters)
        self.coefficients = coefficients
        self.equal_groups = equal_groups
        c = coefficients
        gamma, L, sigma, n = s.gamma, s.L, s.sigma, s.n
        terms = {
            "init": c.init * s.F0 / (gamma * s.T),
            "noise": c.noise * gamma * L * sigma**2 / n,
        }
        for level in self.levels:
            P = level.period
            terms[level.term] = (
                c.divergence * gamma**2 * L**2 * (P - 1)
                * ((level.finer_count - level.count) * sigma**2 / n
                   + c.heterogeneity * (level.eps_sq * (2 * P - 1)))
            )
        if term_order is not None:
            terms = {name: terms[name] for name in term_order}
        self.terms: dict[str, sp.Expr] = terms
        period_sum = sum((lev.period * (lev.period - 1) for lev in self.levels), sp.Integer(0))
        self.conditions: tuple[Condition, ...] = (
            Condition("gamma*L <= 1", gamma * L, sp.Integer(1)),
            Condition(
                f"{c.condition}*gamma^2*L^2*({_period_sum_label(self.levels)}) <= 1",
                c.condition * gamma**2 * L**2 * period_sum,
                sp.Integer(1),
            ),
        )
        self._vectorized: VectorizedBound | None = None

    # ----------------------------------------------------------------- symbolic views
    @property
    def expr(self) -> sp.Expr:
        """The whole bound as one sympy expression (the sum of :attr:`terms`)."""
        return sp.Add(*self.terms.values())

    @property
    def condition(self) -> sp.Expr:
        """The step-size condition (docs/theory.md §4.2 Theorem 2) as a sympy boolean."""
        return sp.And(*(cond.relational for cond in self.conditions))

    @property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        """Every symbol a value must be given for, in parameter order."""
        out: list[sp.Symbol] = []
        for spec in self.parameters.values():
            out.extend(spec if isinstance(spec, tuple) else (spec,))
        return tuple(out)

    @property
    def periods(self) -> tuple[sp.Expr, ...]:
        """``(P_1, ..., P_M)``."""
        return tuple(level.period for level in self.levels)

    @property
    def group_counts(self) -> tuple[sp.Expr, ...]:
        """``(K_0 = n, K_1, ..., K_M = 1)``."""
        return (self.levels[0].finer_count, *(level.count for level in self.levels))

    def latex(self) -> str:
        """The bound in LaTeX, term by term in the order of :attr:`terms`.

        Example:
            >>> from bounds import local_sgd
            >>> print(local_sgd().latex())
            \\frac{2 F_0}{T \\gamma} + \\frac{L \\gamma \\sigma^{2}}{n} + ...
        """
        names = {sym: s.latex_name(sym) for sym in self.expr.free_symbols}
        return " + ".join(sp.latex(term, symbol_names=names) for term in self.terms.values())

    def __repr__(self) -> str:
        return f"<Bound {self.title}: {self.expr}>"

    # ---------------------------------------------------------------- numerical views
    def values_to_arrays(self, values: Mapping[str, Any]) -> dict[sp.Symbol, NDArray[np.float64]]:
        """Map keyword values onto this bound's symbols as float arrays, checking names and types."""
        return as_parameter_arrays(self.title, self.parameters, values)

    def check_condition(self, **values: Any) -> tuple[ConditionCheck, ...]:
        """Evaluate both sides of every step-size condition at scalar ``values``.

        Example:
            >>> from bounds import local_sgd
            >>> [c.holds for c in local_sgd().check_condition(gamma=0.2, L=1, P=3)]
            [True, True]
        """
        checks = []
        for cond in self.conditions:
            syms = sorted(cond.lhs.free_symbols | cond.rhs.free_symbols, key=lambda sym: sym.name)
            missing = [sym.name for sym in syms if sym.name not in values]
            if missing:
                raise ValueError(f"missing parameter {missing[0]!r} for the condition {cond.label}")
            with np.errstate(over="ignore", invalid="ignore"):  # numpy floats overflow to inf, not an exception
                lhs, rhs = compiled(syms, sp.Tuple(cond.lhs, cond.rhs))(*(np.float64(values[sym.name]) for sym in syms))
            checks.append(ConditionCheck(cond, float(lhs), float(rhs)))
        return tuple(checks)

    def condition_mask(self, **values: Any) -> NDArray[np.bool_]:
        """Where every step-size condition holds, vectorised: a boolean array.

        Takes the same keywords as :meth:`lambdify`'s function (arrays broadcast against
        each other, and the domain rules are checked), and returns an array of the shape
        that function returns, ``True`` where every condition holds with the slack of
        :attr:`ConditionCheck.holds` (``lhs <= rhs * (1 + CONDITION_RTOL)``). Where it is
        ``False`` the theorem says nothing (docs/theory.md §4.2 Theorem 2).

        Example:
            >>> import numpy as np
            >>> from bounds import local_sgd
            >>> local_sgd().condition_mask(gamma=np.array([0.1, 0.2, 0.3]), L=1, sigma=1,
            ...                            n=8, T=100, F0=1, P=3, eps=0.5)
            array([ True,  True, False])
        """
        arrays = self.values_to_arrays(values)
        check_domain(self, arrays)
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
        return self._condition_sides(arrays, shape)[0]

    def _condition_sides(
        self, arrays: Mapping[sp.Symbol, NDArray[np.float64]], shape: tuple[int, ...]
    ) -> tuple[NDArray[np.bool_], list[tuple[Condition, NDArray[np.float64], NDArray[np.float64]]]]:
        """The mask of :meth:`condition_mask` at checked ``arrays``, and each condition's sides."""
        mask = np.ones(shape, dtype=bool)
        sides = []
        for cond in self.conditions:
            syms = sorted(cond.lhs.free_symbols | cond.rhs.free_symbols, key=lambda sym: sym.name)
            with np.errstate(over="ignore", invalid="ignore"):
                lhs, rhs = compiled(syms, sp.Tuple(cond.lhs, cond.rhs))(*(arrays[sym] for sym in syms))
                lhs = np.broadcast_to(np.asarray(lhs, dtype=np.float64), shape)
                rhs = np.broadcast_to(np.asarray(rhs, dtype=np.float64), shape)
                mask &= cond.met(lhs, rhs)
            sides.append((cond, lhs, rhs))
        return mask, sides

    def evaluate(self, *, strict: bool = True, **values: Any) -> float:
        """The bound's value at scalar parameter values, after checking them.

        Args:
            strict: raise when a step-size condition fails (the default); with ``False``
                the formula is evaluated anyway (it is then not a valid bound).
            **values: one number per keyword in :attr:`parameters` (a sequence for a
                per-level keyword such as ``eps`` of :func:`bounds.multi_level`).

        Raises:
            ValueError: naming the parameter that is missing, unknown, not a finite real
                number, or outside its domain (e.g. ``G`` not a multiple of ``I``), or, when
                ``strict``, the step-size condition that fails and by how much.

        Example:
            >>> from bounds import two_level
            >>> b = two_level()
            >>> round(b.evaluate(gamma=0.01, L=1, sigma=1, n=32, T=10000, F0=10,
            ...                  N=4, I=5, G=50, eps_g=0.5, eps_l=1), 6)
            0.368431
        """
        arrays = self.values_to_arrays(values)
        for sym, arr in arrays.items():
            if arr.ndim != 0:
                raise ValueError(
                    f"evaluate takes one number per parameter, but {sym.name} has shape "
                    f"{arr.shape}; use lambdify() for arrays"
                )
        check_domain(self, arrays)
        if strict:
            scalars = {sym.name: float(arr) for sym, arr in arrays.items()}
            for check in self.check_condition(**scalars):
                if not check.holds:
                    raise ValueError(
                        f"step-size condition violated: {check.condition.label} fails, the "
                        f"left side is {check.lhs:.6g}, above {check.rhs:.6g} by "
                        f"{check.excess:.6g} (pass strict=False to evaluate anyway)"
                    )
        value = float(self.lambdify(validate=False).evaluate_arrays(arrays))
        if not np.isfinite(value):
            raise ValueError(f"the bound is not finite ({value}) at these values: float64 overflows; rescale the problem")
        return value

    def evaluate_terms(self, **values: Any) -> dict[str, float]:
        """The value of each named term at scalar ``values`` (checked as in :meth:`evaluate`,
        step-size condition not enforced).

        Example:
            >>> from bounds import local_sgd
            >>> local_sgd().evaluate_terms(gamma=0.5, L=1, sigma=0, n=4, T=10, F0=1, P=2, eps=1)
            {'init': 0.4, 'noise': 0.0, 'divergence': 1.0}
        """
        arrays = self.values_to_arrays(values)
        check_domain(self, arrays)
        fn = compiled(self.symbols, sp.Tuple(*self.terms.values()))
        with np.errstate(over="ignore", invalid="ignore"):
            parts = fn(*(np.float64(arrays[sym]) for sym in self.symbols))
        return {name: float(part) for name, part in zip(self.terms, parts)}

    def lambdify(self, *, validate: bool = True, outside_condition: OutsideCondition = "evaluate") -> "VectorizedBound":
        """A fast numpy function of this bound, vectorised over arrays of parameters.

        The returned callable takes the same keywords as :meth:`evaluate`; arrays broadcast
        against each other. With ``validate`` (default) the domain rules are checked on the
        arrays (one pass each).

        Args:
            validate: check the domain rules (and that the result is finite).
            outside_condition: what to do where a step-size condition fails (there the
                formula is not a valid bound): ``"evaluate"`` (default, the fastest)
                evaluates the formula anyway, ``"nan"`` returns NaN there, ``"raise"``
                raises ``ValueError`` naming the first such point and the condition.
                :meth:`condition_mask` gives the mask itself.

        Example:
            >>> import numpy as np
            >>> from bounds import local_sgd
            >>> f = local_sgd().lambdify()
            >>> f(gamma=np.array([0.01, 0.02]), L=1, sigma=1, n=8, T=100, F0=1, P=4, eps=0.5).round(5)
            array([2.00248, 1.0074 ])
            >>> f = local_sgd().lambdify(outside_condition="nan")
            >>> f(gamma=np.array([0.1, 0.3]), L=1, sigma=1, n=8, T=100, F0=1, P=3, eps=0.5).round(5)
            array([0.28083,     nan])
        """
        if outside_condition not in OUTSIDE_CONDITION_MODES:
            raise ValueError(f"outside_condition must be one of {', '.join(OUTSIDE_CONDITION_MODES)}, "
                             f"got {outside_condition!r}")
        if self._vectorized is None:
            self._vectorized = VectorizedBound(self)
        base = self._vectorized
        if outside_condition == "evaluate":
            return base if validate else base.unchecked
        return VectorizedBound(self, validate=validate, _fn=base._fn, outside_condition=outside_condition)


def _raise_not_finite(out: NDArray[np.float64], bad: NDArray[np.bool_]) -> None:
    index = int(np.flatnonzero(bad.reshape(-1))[0])
    raise ValueError(f"the bound is not finite ({out.reshape(-1)[index]}) at flat index {index}: float64 overflows")


def _raise_condition_fails(
    mask: NDArray[np.bool_], sides: list[tuple[Condition, NDArray[np.float64], NDArray[np.float64]]]
) -> None:
    index = int(np.flatnonzero(~mask.reshape(-1))[0])
    for cond, lhs, rhs in sides:
        check = ConditionCheck(cond, float(lhs.reshape(-1)[index]), float(rhs.reshape(-1)[index]))
        if not check.holds:
            raise ValueError(
                f"step-size condition violated at flat index {index}: {cond.label} fails, the left side "
                f"is {check.lhs:.6g}, above {check.rhs:.6g} by {check.excess:.6g} ({int((~mask).sum())} "
                f"of {mask.size} points fail; outside_condition='nan' masks them instead)"
            )


def _period_sum_label(levels: tuple[Level, ...]) -> str:
    parts = []
    for level in levels:
        p = level.period
        parts.append(f"{p}*({p}-1)" if isinstance(p, sp.Symbol) else f"{p}*{p - 1}" if p.is_number
                     else f"({p})*({p} - 1)")
    return " + ".join(parts)


class VectorizedBound:
    """A :class:`Bound` as a numpy function of arrays of its parameters.

    The formula is ``sympy.lambdify`` of :attr:`Bound.expr` with common subexpressions
    shared, compiled once per expression (:func:`bounds.compiled.compiled`). With
    :attr:`validate` the domain rules are checked on the whole arrays before the formula
    runs (:func:`bounds.validation.check_domain`, one pass per rule, errors naming the
    parameter and the index) and the values are checked to be finite afterwards.
    ``hsgd bench bounds`` measures it.
    """

    def __init__(self, bound: Bound, validate: bool = True, _fn: Callable[..., Any] | None = None,
                 outside_condition: OutsideCondition = "evaluate") -> None:
        if outside_condition not in OUTSIDE_CONDITION_MODES:
            raise ValueError(f"outside_condition must be one of {', '.join(OUTSIDE_CONDITION_MODES)}, "
                             f"got {outside_condition!r}")
        self.bound = bound
        self.validate = validate
        self.outside_condition = outside_condition
        self.symbols = bound.symbols
        self._fn = _fn or compiled(self.symbols, bound.expr)

    @property
    def unchecked(self) -> "VectorizedBound":
        """The same function without the domain checks."""
        return VectorizedBound(self.bound, validate=False, _fn=self._fn, outside_condition=self.outside_condition)

    def __call__(self, **values: Any) -> NDArray[np.float64]:
        arrays = self.bound.values_to_arrays(values)
        if self.validate:
            check_domain(self.bound, arrays)
        out = self.evaluate_arrays(arrays)
        if self.outside_condition == "evaluate":
            if self.validate and not _all_finite(out):
                _raise_not_finite(out, ~np.isfinite(out))
            return out
        mask, sides = self.bound._condition_sides(arrays, out.shape)
        if self.outside_condition == "raise" and not mask.all():
            _raise_condition_fails(mask, sides)
        if self.validate and not _all_finite(out):
            bad = ~np.isfinite(out) & mask  # overflow where the condition fails is masked anyway
            if bad.any():
                _raise_not_finite(out, bad)
        np.copyto(out, np.nan, where=~mask)
        return out

    def evaluate_arrays(self, arrays: Mapping[sp.Symbol, NDArray[np.float64]]) -> NDArray[np.float64]:
        """Evaluate at already-checked arrays keyed by symbol: a new array of their broadcast
        shape (overflow shows as inf or NaN, reported by the callers)."""
        args = [arrays[sym] for sym in self.symbols]
        shape = np.broadcast_shapes(*(a.shape for a in args))
        with np.errstate(over="ignore", invalid="ignore"):
            out = np.asarray(self._fn(*args), dtype=np.float64)
        if out.shape != shape or out.base is not None or not out.flags.writeable or any(out is a for a in args):
            out = np.broadcast_to(out, shape).copy()  # a scalar, or an input itself: the caller may write to it
        return out


def _all_finite(out: NDArray[np.float64]) -> bool:
    """Whether every value is finite: one sum (NaN and inf reach it) and, only when the sum
    is not finite (it may overflow), the elementwise test."""
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(np.add.reduce(out, axis=None)) or np.isfinite(out).all())
