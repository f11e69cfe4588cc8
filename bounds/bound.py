"""The :class:`Bound` type: a theorem (:class:`~bounds.statement.Theorem`) applied to a hierarchy.

A bound is fully described by its theorem and its *levels*: for each level ``l`` the period
``P_l``, the group counts ``K_{l-1}`` and ``K_l`` on either side of it, and the squared
divergence bound ``eps_l^2`` (or Lemma 2's share of a total ``eps^2``). The theorem's
:class:`~bounds.statement.Statement` for those levels gives the named terms and the
conditions; :class:`Bound` adds validated numerical evaluation, the exact condition check and
the choice of free parameters, for every theorem alike.
"""

from __future__ import annotations

from typing import Any, Callable, Literal, Mapping, Union

import numpy as np
import sympy as sp
from numpy.typing import NDArray

from bounds import symbols as s
from bounds.coefficients import Coefficients
from bounds.compiled import compiled
from bounds.free_parameters import FreeOptimum, optimise
from bounds.exact import decide
from bounds.statement import Condition, ConditionCheck, Level, Theorem
from bounds.validation import as_parameter_arrays, check_domain, largest_inputs

__all__ = ["Level", "Condition", "ConditionCheck", "Bound", "VectorizedBound"]

ParameterSpec = Union[sp.Symbol, tuple[sp.Symbol, ...]]

OutsideCondition = Literal["evaluate", "nan", "raise"]
"""What :meth:`Bound.lambdify` does at points where a step-size condition fails."""
OUTSIDE_CONDITION_MODES: tuple[str, ...] = ("evaluate", "nan", "raise")


class Bound:
    r"""A theorem applied to a hierarchy: named sympy terms, conditions, and their evaluation.

    For Theorem 2 (docs/theory.md §4.2, :data:`bounds.theorems.THEOREM_2`):

    .. math::
        \frac{1}{T}\sum_{t<T}\mathbb{E}\|\nabla f(u^t)\|^2 \le
        \frac{2F_0}{\gamma T} + \frac{\gamma L\sigma^2}{n}
        + \sum_{l=1}^{M} 2\gamma^2L^2(P_l-1)\Big[\frac{(K_{l-1}-K_l)\sigma^2}{n}
        + \frac{2}{3}(2P_l-1)\varepsilon_l^2\Big]

    under :math:`\gamma L \le 1` and :math:`4\gamma^2L^2\sum_l P_l(P_l-1) \le 1`. Build one
    with :func:`bounds.two_level`, :func:`bounds.local_sgd` or :func:`bounds.multi_level`, each
    of which takes ``theorem=`` (any registered or user-written theorem, :mod:`bounds.theorems`).

    Attributes:
        theorem: the :class:`~bounds.statement.Theorem` applied.
        setting: the hierarchy it is applied to, in words (``"two-level H-SGD"``).
        title: ``"<theorem title> (<setting>)"``.
        note: what the setting adds to the theorem's source (``"Lemma 2 (random grouping)"``).
        source: where the statement comes from: the theorem's source and the note.
        levels: the :class:`Level` descriptions, finest first.
        parameters: keyword name -> symbol, or tuple of symbols for a per-level sequence;
            the theorem's free parameters (``alpha``, ``beta`` of Theorem S) last.
        equal_groups: whether the bound needs equal group sizes (Lemma 2's random grouping).
        terms: named parts (``init``, ``noise``, then one per level); they sum to :attr:`expr`.
        parts: for some terms, named parts that sum to the term (:meth:`part_values`).
        free: keyword -> symbols of the free parameters (:meth:`optimise`).
        extra: keyword -> symbols of the numbers the theorem adds (Theorem P's ``omega``, ...).
        conditions: the conditions, as :class:`Condition` objects.
    """

    def __init__(
        self,
        *,
        theorem: Theorem,
        setting: str,
        levels: tuple[Level, ...],
        parameters: Mapping[str, ParameterSpec],
        equal_groups: bool = False,
        term_order: tuple[str, ...] | None = None,
        note: str = "",
    ) -> None:
        statement = theorem.state(tuple(levels))
        self.theorem = theorem
        self.setting = setting
        self.title = f"{theorem.title} ({setting})"
        self.note = note
        self.source = f"{theorem.source}; {note}" if note else theorem.source
        self.levels = tuple(levels)
        self.parameters: dict[str, ParameterSpec] = dict(parameters)
        for key, spec in statement.extra.items():
            self.parameters.setdefault(key, spec)
        self.extra: dict[str, ParameterSpec] = dict(statement.extra)
        for key, syms in statement.free.items():
            self.parameters.setdefault(key, tuple(syms))
        self.equal_groups = equal_groups
        terms = dict(statement.terms)
        if term_order is not None:  # the order the setting prints its terms in; a theorem's other terms follow
            terms = {**{name: terms[name] for name in term_order if name in terms}, **terms}
        self.terms: dict[str, sp.Expr] = terms
        self.parts: dict[str, dict[str, sp.Expr]] = {k: dict(v) for k, v in statement.parts.items()}
        self.free: dict[str, tuple[sp.Symbol, ...]] = {k: tuple(v) for k, v in statement.free.items()}
        self.conditions: tuple[Condition, ...] = tuple(statement.conditions)
        self._vectorized: VectorizedBound | None = None

    @property
    def coefficients(self) -> Coefficients | None:
        """The theorem's named constants (:class:`~bounds.coefficients.Coefficients`), if it has them."""
        return self.theorem.coefficients

    def under(self, theorem: Theorem) -> "Bound":
        """The same hierarchy and keywords under another theorem (e.g. Theorem S for a Theorem 2 bound).

        Example:
            >>> from bounds import local_sgd
            >>> from bounds.theorems import THEOREM_S
            >>> local_sgd().under(THEOREM_S).title
            'Theorem S (local SGD, M = 1)'
        """
        base = {k: v for k, v in self.parameters.items() if k not in self.free and k not in self.extra}
        return Bound(theorem=theorem, setting=self.setting, levels=self.levels, parameters=base,
                     equal_groups=self.equal_groups, term_order=tuple(self.terms), note=self.note)

    def taken(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The entries of ``values`` that are keywords of this bound (a caller holding the numbers of
        several theorems passes each bound its own).

        Example:
            >>> from bounds import local_sgd
            >>> local_sgd().taken(dict(gamma=0.1, P=2, omega=0.5))
            {'gamma': 0.1, 'P': 2}
        """
        return {k: v for k, v in values.items() if k in self.parameters}

    def optimise(self, *, require_conditions: bool = True, **values: Any) -> FreeOptimum:
        """Choose the free parameters (:attr:`free`) to minimise the bound at ``values``
        (:func:`bounds.free_parameters.optimise`): any admissible choice gives a valid bound.

        Example:
            >>> from bounds import local_sgd
            >>> from bounds.theorems import THEOREM_S
            >>> opt = local_sgd().under(THEOREM_S).optimise(gamma=0.01, L=1, sigma=1, n=8, T=1000, F0=1, P=5, eps=1)
            >>> sorted(opt.values), bool(opt.value < local_sgd().evaluate(gamma=0.01, L=1, sigma=1, n=8, T=1000,
            ...                                                             F0=1, P=5, eps=1))
            (['alpha', 'beta'], True)
        """
        return optimise(self, values, require_conditions=require_conditions)

    def optimised_values(self, **values: Any) -> dict[str, Any]:
        """``values`` with the free parameters :meth:`optimise` chooses, ready for
        :meth:`evaluate`, :meth:`evaluate_terms` and :meth:`part_values`."""
        return dict(values, **self.optimise(**values).values)

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
        """Evaluate both sides of every step-size condition at scalar ``values`` (by symbol
        name), and decide each: exactly where the floats are too close to tell
        (:func:`bounds.exact.decide`), so a step size one ulp above a limit fails.

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
            inputs = [np.float64(values[sym.name]) for sym in syms]
            with np.errstate(over="ignore", invalid="ignore"):  # numpy floats overflow to inf, not an exception
                lhs, rhs = compiled(syms, sp.Tuple(cond.lhs, cond.rhs))(*inputs)
            checks.append(ConditionCheck(cond, float(lhs), float(rhs), bool(decide(cond, syms, inputs, lhs, rhs))))
        return tuple(checks)

    def condition_mask(self, **values: Any) -> NDArray[np.bool_]:
        """Where every step-size condition holds, vectorised: a boolean array.

        Takes the same keywords as :meth:`lambdify`'s function (arrays broadcast against
        each other, and the domain rules are checked), and returns an array of the shape
        that function returns, ``True`` where every condition holds, decided as
        :meth:`check_condition` does (exactly where the floats are too close to tell). Where it
        is ``False`` the theorem says nothing (docs/theory.md §4.2 Theorem 2).

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
    ) -> tuple[NDArray[np.bool_], list[tuple[Condition, NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]]]:
        """The mask of :meth:`condition_mask` at checked ``arrays``, and each condition's sides and where it holds."""
        mask = np.ones(shape, dtype=bool)
        sides = []
        for cond in self.conditions:
            syms = sorted(cond.lhs.free_symbols | cond.rhs.free_symbols, key=lambda sym: sym.name)
            inputs = [arrays[sym] for sym in syms]
            with np.errstate(over="ignore", invalid="ignore"):
                lhs, rhs = compiled(syms, sp.Tuple(cond.lhs, cond.rhs))(*inputs)
                lhs = np.broadcast_to(np.asarray(lhs, dtype=np.float64), shape)
                rhs = np.broadcast_to(np.asarray(rhs, dtype=np.float64), shape)
            holds = np.broadcast_to(decide(cond, syms, inputs, lhs, rhs), shape)
            mask &= holds
            sides.append((cond, lhs, rhs, holds))
        return mask, sides

    def evaluate(self, *, strict: bool = True, **values: Any) -> float:
        """The bound's value at scalar parameter values, after checking them.

        Args:
            strict: raise when a step-size condition fails (the default); with ``False``
                the formula is evaluated anyway (it is then not a valid bound).
            **values: one number per keyword in :attr:`parameters` (a sequence for a
                per-level keyword such as ``eps`` of :func:`bounds.multi_level`). Without
                the free parameters (:attr:`free`) they are chosen by :meth:`optimise`.

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
        if self.free and not set(self.free) & set(values):
            return self.optimise(**values).value  # the free parameters chosen first
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
            raise ValueError(f"the bound is not finite ({value}) at these values: float64 overflows; rescale the problem "
                             f"({largest_inputs(arrays)})")
        return value

    def evaluate_terms(self, **values: Any) -> dict[str, float]:
        """The value of each named term at scalar ``values`` (checked as in :meth:`evaluate`,
        step-size condition not enforced).

        Example:
            >>> from bounds import local_sgd
            >>> local_sgd().evaluate_terms(gamma=0.5, L=1, sigma=0, n=4, T=10, F0=1, P=2, eps=1)
            {'init': 0.4, 'noise': 0.0, 'divergence': 1.0}
        """
        return self._values_of(self.terms, values)

    @property
    def part_exprs(self) -> dict[str, sp.Expr]:
        """Every term, or its parts where it has them (named ``<term>_<part>``), in order; they
        sum to :attr:`expr`. This is the grain at which mutants edit and witnesses measure."""
        out: dict[str, sp.Expr] = {}
        for name, term in self.terms.items():
            if name in self.parts:
                out.update({f"{name}_{part}": expr for part, expr in self.parts[name].items()})
            else:
                out[name] = term
        return out

    def part_values(self, **values: Any) -> dict[str, float]:
        """The value of each of :attr:`part_exprs` at scalar ``values`` (checked as in
        :meth:`evaluate`, conditions not enforced; the free parameters must be given).

        Example:
            >>> from bounds import local_sgd
            >>> local_sgd().part_values(gamma=0.5, L=1, sigma=1, n=4, T=10, F0=1, P=2, eps=1)
            {'init': 0.4, 'noise': 0.125, 'divergence_noise': 0.375, 'divergence_heterogeneity': 1.0}
        """
        return self._values_of(self.part_exprs, values)

    def _values_of(self, exprs: Mapping[str, sp.Expr], values: Mapping[str, Any]) -> dict[str, float]:
        """Named expressions of this bound at checked scalar ``values``."""
        arrays = self.values_to_arrays(values)
        check_domain(self, arrays)
        fn = compiled(self.symbols, sp.Tuple(*exprs.values()))
        with np.errstate(over="ignore", invalid="ignore"):
            numbers = fn(*(np.float64(arrays[sym]) for sym in self.symbols))
        return {name: float(number) for name, number in zip(exprs, numbers)}

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
    mask: NDArray[np.bool_],
    sides: list[tuple[Condition, NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]]
) -> None:
    index = int(np.flatnonzero(~mask.reshape(-1))[0])
    for cond, lhs, rhs, holds in sides:
        check = ConditionCheck(cond, float(lhs.reshape(-1)[index]), float(rhs.reshape(-1)[index]),
                               bool(holds.reshape(-1)[index]))
        if not check.holds:
            raise ValueError(
                f"step-size condition violated at flat index {index}: {cond.label} fails, the left side "
                f"is {check.lhs:.6g}, above {check.rhs:.6g} by {check.excess:.6g} ({int((~mask).sum())} "
                f"of {mask.size} points fail; outside_condition='nan' masks them instead)"
            )




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
