"""Verdicts: what a check may claim about a theorem, and on what basis it was decided.

A verdict is never a bare boolean. It names the claim that was tested, says how it was
decided, and is *not applicable* (``holds = None``, JSON ``null``) whenever the theorem's
hypotheses are not met, so it can never say more than the theorem does:

* **exact** verdicts compare formulas at known inputs. The inputs are floats, and every float
  is a rational number, so :func:`bounds_ordered` substitutes them as exact rationals into
  the sympy expressions and compares exactly: equal bounds (``N = n``, ``N = 1``, ``I = G``)
  are equal, not one ulp apart.
* **statistical** verdicts compare a measured mean over seeds with a number. They use a
  Student-t confidence interval of the mean (:func:`empirical.statistics.confidence_interval`)
  and report one of three states: the whole interval on the claimed side, the interval
  straddling, or the whole interval on the other side. Only the first and last decide
  (``True`` / ``False``); a straddling interval is *undecided* (``None``).
* **floating point**: a noise-free run (``sigma = 0``) is deterministic, so it is compared with
  the bound directly, up to the stated tolerance :data:`RTOL`, :data:`ATOL` (``measured <=
  bound (1 + RTOL) + ATOL``). This is what makes the tightness case of docs/theory.md §7.2 Remark: tightness, where
  the bound holds with equality, read as holding.

Not applicable, with the reason stated:

* a step-size condition of the theorem fails (the statement then says nothing); conditions
  are decided exactly (:func:`condition_holds`), with no tolerance;
* a constant the bound rests on is estimated, not exact or certified;
* one seed of a noisy run: no confidence interval can be formed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

from bounds.bound import Bound
from bounds.exact import compare, exact_conditions, exact_value
from empirical.statistics import confidence_interval

__all__ = [
    "Verdict",
    "EXACT",
    "STATISTICAL",
    "FLOATING_POINT",
    "NOT_APPLICABLE",
    "RTOL",
    "ATOL",
    "LEVEL",
    "condition_holds",
    "bound_holds",
    "all_hold",
    "bounds_ordered",
    "paired_order",
    "sandwich_order",
]

EXACT, STATISTICAL, FLOATING_POINT, NOT_APPLICABLE = "exact", "statistical", "floating point", "not applicable"

RTOL = 1e-9
"""Relative floating-point tolerance when a measured value is compared with a bound."""

ATOL = 1e-20
"""Absolute floating-point tolerance, for bounds at (or near) 0, e.g. a run started at the minimiser."""

LEVEL = 0.95
"""Confidence level of every statistical verdict."""


@dataclass(frozen=True)
class Verdict:
    """A claim about a theorem, whether it holds, and how that was decided.

    Attributes:
        claim: what was tested, in words (e.g. "every bound >= the upper 95% CI of its run").
        holds: ``True``, ``False``, or ``None`` when not applicable or undecided.
        basis: :data:`EXACT`, :data:`STATISTICAL`, :data:`FLOATING_POINT` or :data:`NOT_APPLICABLE`.
        detail: the numbers behind the verdict, or why it is not applicable.
        state: for statistical comparisons, where the interval sits (e.g. ``"in order"``,
            ``"indistinguishable"``, ``"reversed"``; ``"below"``, ``"straddles"``, ``"above"``).
        parts: the verdicts this one combines, by name.
    """

    claim: str
    holds: bool | None
    basis: str
    detail: str = ""
    state: str | None = None
    parts: tuple[tuple[str, "Verdict"], ...] = ()

    @property
    def applicable(self) -> bool:
        return self.basis != NOT_APPLICABLE

    @property
    def word(self) -> str:
        """``"yes"``, ``"no"``, ``"not applicable"`` or ``"undecided"``, for text and figures."""
        if not self.applicable:
            return "not applicable"
        return "undecided" if self.holds is None else ("yes" if self.holds else "no")

    def line(self) -> str:
        """One line: the claim, the answer with its basis, and the detail."""
        basis = "" if not self.applicable else f" ({self.basis})"
        tail = f": {self.detail}" if self.detail else ""
        return f"{self.claim}: {self.word}{basis}{tail}"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"holds": self.holds, "basis": self.basis, "claim": self.claim, "detail": self.detail}
        if self.state is not None:
            out["state"] = self.state
        if self.parts:
            out["parts"] = {name: part.to_json() for name, part in self.parts}
        return out


def condition_holds(bound: Bound, values: Mapping[str, Any], *, name: str = "", estimated: Sequence[str] = (),
                    given: Sequence[str] = ()) -> Verdict:
    """Decide every step-size condition of ``bound`` exactly at ``values`` (floats taken at
    their exact rational values: no tolerance, so a step size one ulp too large fails).
    ``values`` needs only the parameters the conditions use (e.g. ``gamma``, ``L`` and the
    periods). When ``estimated`` names ``L`` (an estimate, not the true constant) the verdict is
    not applicable: whether the true ``L`` meets the condition is not known; the comparison at
    the estimate is kept in the detail. Constants named in ``given`` (given by the user) are
    named in the detail.

    Example:
        >>> from bounds import local_sgd
        >>> v = condition_holds(local_sgd(), dict(gamma=0.25, L=1, sigma=0, n=4, T=10, F0=1, P=2, eps=1))
        >>> v.holds, v.basis
        (True, 'exact')
        >>> condition_holds(local_sgd(), dict(gamma=0.6, L=1, sigma=0, n=4, T=10, F0=1, P=2, eps=1)).detail
        'step-size condition 4*gamma^2*L^2*(P*(P-1)) <= 1 fails: 2.88 > 1 (by 1.88, 2.88x the limit)'
    """
    failures, parts = [], []
    for check in exact_conditions(bound, values):
        cond, lhs, rhs = check.condition, check.lhs, check.rhs
        if check.holds:
            parts.append(f"{cond.label}: {float(lhs):.6g} {'<' if cond.strict else '<='} {float(rhs):.6g}")
        else:
            ratio = float(lhs / rhs) if rhs else math.inf
            hint = ("; the step size is a float a rounding step above the limit: the default step size is "
                    "rounded down to meet it exactly") if float(lhs - rhs) <= 1e-12 * float(rhs) else ""
            failures.append(f"step-size condition {cond.label} fails: {float(lhs):.6g} > {float(rhs):.6g} "
                            f"(by {float(lhs - rhs):.6g}, {ratio:.3g}x the limit{hint})")
    claim = f"step-size conditions of {name or bound.title}"
    if "L" in estimated:
        return _not_applicable(claim, ["L is estimated, not certified: the condition at the true L is not known"],
                               "at the estimate: " + "; ".join(failures or parts))
    if failures:
        return Verdict(claim, False, EXACT, _at_given("; ".join(failures), given))
    return Verdict(claim, True, EXACT, _at_given("; ".join(parts), given))


def _at_given(detail: str, given: Sequence[str]) -> str:
    """``detail`` with a note that the verdict rests on constants the user gave (kind ``given``):
    it is a check of the theorem as far as they are true."""
    if not given:
        return detail
    return (detail + "; " if detail else "") + ("at constants given by the user (" + ", ".join(given)
                                               + "): as true as they are")


def _not_applicable(claim: str, reasons: Sequence[str], detail: str = "") -> Verdict:
    why = "; ".join(reasons)
    return Verdict(claim, None, NOT_APPLICABLE, why + (f" ({detail})" if detail else ""))


def bound_holds(samples: ArrayLike, bound: float, *, condition: Verdict | None = None,
                estimated: Sequence[str] = (), given: Sequence[str] = (), deterministic: bool = False,
                level: float = LEVEL, name: str = "the run") -> Verdict:
    """Does the measured mean of ``samples`` (one value per seed) sit below ``bound``?

    Args:
        samples: the measured left-hand side of the theorem, one value per seed.
        bound: the theorem's right-hand side at the run's constants.
        condition: the theorem's step-size conditions at the run's values
            (:func:`condition_holds`); if they fail the verdict is not applicable.
        estimated: names of estimated constants the bound rests on; any makes it not applicable.
        given: names of constants the user gave; the detail says the verdict rests on them.
        deterministic: the run has no noise (every seed is the same run): compare the value
            itself, up to the floating-point tolerance, instead of a confidence interval.
        level: confidence level of the interval.
        name: what the run is called in the detail.

    Returns:
        A :class:`Verdict`. Statistical states: ``"below"`` (upper end of the interval at most
        the bound: holds), ``"straddles"`` (undecided), ``"above"`` (lower end above the bound:
        the bound is violated at this confidence).

    Example:
        >>> bound_holds([1.0, 1.1, 0.9, 1.0], 2.0).line()
        'bound >= measured (the run): yes (statistical): upper 95% CI 1.13 <= bound 2'
        >>> bound_holds([1.0], 2.0).word
        'not applicable'
        >>> bound_holds([1.0 + 4e-16], 1.0, deterministic=True).word
        'yes'
    """
    claim = f"bound >= measured ({name})"
    x = np.asarray(samples, dtype=float).reshape(-1)
    reasons = [] if condition is None or condition.holds else [condition.detail]
    if estimated:
        reasons.append("the bound rests on estimated constants (" + ", ".join(estimated) + "), not certified ones")
    allowance = abs(bound) * RTOL + ATOL
    if deterministic:
        value = float(x[0])
        if reasons:
            return _not_applicable(claim, reasons, f"measured {value:.6g}, formula {bound:.6g}")
        if not np.all(x == x[0]):
            raise ValueError("deterministic=True but the seeds differ: the run is noisy")
        holds = value <= bound + allowance
        rel = "<=" if holds else ">"
        return Verdict(claim, holds, FLOATING_POINT,
                       _at_given(f"measured {value:.10g} {rel} bound {bound:.10g} (noise-free run; tolerance "
                                 f"{RTOL:g} relative + {ATOL:g} absolute)", given), state="below" if holds else "above")
    if x.size < 2:
        reasons.append(f"{x.size} seed: no confidence interval can be formed (run at least 2 seeds)")
    if reasons:
        return _not_applicable(claim, reasons, f"measured mean {float(x.mean()):.6g}, formula {bound:.6g}")
    mean, lo, hi = confidence_interval(x, level)
    pct = f"{100 * level:g}%"
    if hi <= bound + allowance:
        return Verdict(claim, True, STATISTICAL, _at_given(f"upper {pct} CI {hi:.6g} <= bound {bound:.6g}", given),
                       state="below")
    if lo > bound + allowance:
        return Verdict(claim, False, STATISTICAL,
                       _at_given(f"lower {pct} CI {lo:.6g} > bound {bound:.6g}: violated", given), state="above")
    return Verdict(claim, None, STATISTICAL,
                   _at_given(f"bound {bound:.6g} inside the {pct} CI {lo:.6g} .. {hi:.6g} (mean {mean:.6g}): undecided",
                             given), state="straddles")


def all_hold(claim: str, verdicts: Mapping[str, Verdict]) -> Verdict:
    """Combine verdicts: not applicable if any is, ``False`` if any fails, ``None`` if any is
    undecided, else ``True``; the basis is the weakest of the parts."""
    parts = tuple(verdicts.items())
    if any(not v.applicable for _, v in parts):
        reasons = sorted({v.detail.split(" (")[0] for _, v in parts if not v.applicable})
        return Verdict(claim, None, NOT_APPLICABLE, "; ".join(reasons), parts=parts)
    values = [v.holds for _, v in parts]
    holds = False if False in values else None if None in values else True
    bases = {v.basis for _, v in parts}
    basis = STATISTICAL if STATISTICAL in bases else FLOATING_POINT if FLOATING_POINT in bases else EXACT
    failing = [name for name, v in parts if v.holds is not True]
    each = "; ".join(f"{name}: {v.detail}" for name, v in parts)
    detail = each if holds else ("fails: " if holds is False else "undecided: ") + ", ".join(failing) + f" ({each})"
    return Verdict(claim, holds, basis, detail, parts=parts)


def bounds_ordered(claim: str, chain: Sequence[tuple[str, Bound, Mapping[str, Any]]], *,
                   estimated: Sequence[str] = (), given: Sequence[str] = ()) -> Verdict:
    """Decide ``B_1 <= B_2 <= ...`` exactly, for bounds given as ``(name, bound, values)``.

    Not applicable when a step-size condition of any bound fails at its values, or when the
    bounds rest on estimated constants (the formulas are then not known to be bounds); the
    exact comparison is kept in the detail. Inputs that are
    :class:`~bounds.exact.ExactReal` (Corollary 0's ``sqrt(sum_l eps_l^2)``) are taken at their
    exact value. The detail names the side that fails and by how much, and the constants given
    by the user (``given``) the verdict rests on.

    Example:
        >>> from bounds import local_sgd, two_level
        >>> common = dict(gamma=0.01, L=1, sigma=1, n=8, T=100, F0=1)
        >>> v = bounds_ordered("sandwich", [
        ...     ("local I", local_sgd(), dict(common, P=5, eps=1)),
        ...     ("H-SGD", two_level(), dict(common, N=8, I=5, G=50, eps_g=1, eps_l=0)),
        ...     ("local G", local_sgd(), dict(common, P=50, eps=1))])
        >>> v.holds, v.basis, v.detail.split(";")[1].strip()
        (True, 'exact', 'H-SGD = local G')
    """
    reasons = []
    for name, bound, values in chain:
        condition = condition_holds(bound, values, name=name)
        if not condition.holds:
            reasons.append(f"{name}: {condition.detail}")
    if reasons:
        return _not_applicable(claim, reasons)
    exact = [(name, exact_value(bound, values)) for name, bound, values in chain]
    relations = []
    holds: bool | None = True
    for (a, va), (b, vb) in zip(exact, exact[1:]):
        sign = compare(va, vb)
        if sign == -1:
            relations.append(f"{a} < {b} (by {float(vb - va):.3g})")
        elif sign == 0:
            relations.append(f"{a} = {b}")
        elif sign == 1:
            holds = False
            relations.append(f"{a} > {b} (by {float(va - vb):.3g})")
        else:
            holds = None if holds else holds
            relations.append(f"{a} vs {b}: not decided exactly (difference {float(va - vb):.3g})")
    detail = "; ".join(relations)
    if estimated:
        return _not_applicable(claim, ["the bounds rest on estimated constants (" + ", ".join(estimated)
                                       + "): they are not known to be bounds"], "at the estimates: " + detail)
    return Verdict(claim, holds, EXACT, _at_given(detail, given))


def paired_order(lower: ArrayLike, upper: ArrayLike, *, lower_name: str, upper_name: str,
                 level: float = LEVEL, deterministic: bool = False) -> Verdict:
    """Is ``lower <= upper`` in the measured means, judged on per-seed paired differences?

    The runs share their noise seed by seed, so ``upper - lower`` per seed has a much smaller
    spread than either run. States: ``"in order"`` (the CI of the mean difference is above 0:
    holds), ``"indistinguishable"`` (the CI contains 0: undecided), ``"reversed"`` (the CI is
    below 0: fails). With fewer than 2 seeds the verdict is not applicable. When every
    seed's difference is exactly 0 the runs coincide seed by seed (nothing separated them by
    the last step): nothing about the order of their expectations was measured, so the
    verdict is not applicable.

    ``deterministic`` (a noise-free run: every seed is the same run, one seed is enough): the
    difference itself decides, in floating point, with states ``"in order"`` (above 0),
    ``"equal"`` (0: ``lower <= upper`` holds with equality) and ``"reversed"``.

    Example:
        >>> paired_order([1.0, 2.0, 3.0], [1.5, 2.4, 3.6], lower_name="a", upper_name="b").state
        'in order'
        >>> paired_order([1.0, 2.0, 3.0], [0.5, 1.6, 2.4], lower_name="a", upper_name="b").holds
        False
    """
    claim = f"measured {lower_name} <= {upper_name} (paired per-seed differences)"
    diff = np.asarray(upper, dtype=float).reshape(-1) - np.asarray(lower, dtype=float).reshape(-1)
    if deterministic:
        if not np.all(diff == diff[0]):
            raise ValueError("deterministic=True but the seeds differ: the run is noisy")
        d = float(diff[0])
        state = "in order" if d > 0 else "equal" if d == 0 else "reversed"
        return Verdict(claim, d >= 0, FLOATING_POINT,
                       f"{upper_name} - {lower_name} = {d:.6g} (noise-free run: every seed is the same run)", state=state)
    if diff.size < 2:
        return _not_applicable(claim, [f"{diff.size} seed: no confidence interval can be formed"])
    if np.all(diff == 0):
        return _not_applicable(claim, ["the two runs coincide seed by seed (every paired difference is exactly 0: no "
                                       "aggregation separated them by the last step), so nothing about the order of "
                                       "their expectations was measured"])
    mean, lo, hi = confidence_interval(diff, level)
    pct = f"{100 * level:g}%"
    text = f"{upper_name} - {lower_name} = {mean:.4g}, {pct} CI {lo:.4g} .. {hi:.4g}"
    if lo > 0:
        return Verdict(claim, True, STATISTICAL, text, state="in order")
    if hi < 0:
        return Verdict(claim, False, STATISTICAL, text, state="reversed")
    return Verdict(claim, None, STATISTICAL, text, state="indistinguishable")


def sandwich_order(low: ArrayLike, middle: ArrayLike, high: ArrayLike, *, names: Sequence[str],
                   level: float = LEVEL, deterministic: bool = False) -> Verdict:
    """The measured sandwich ``low <= middle <= high``: both sides by :func:`paired_order`
    (``deterministic`` for a noise-free run).

    Holds when both sides are in order (significantly; or equal, noise-free), fails when either
    is reversed, and is undecided otherwise; each side's state is kept in ``parts``.
    """
    a, b, c = names
    sides = {"lower side": paired_order(low, middle, lower_name=a, upper_name=b, level=level,
                                        deterministic=deterministic),
             "upper side": paired_order(middle, high, lower_name=b, upper_name=c, level=level,
                                        deterministic=deterministic)}
    claim = f"measured {a} <= {b} <= {c} (paired per-seed differences, {100 * level:g}% CIs)"
    combined = all_hold(claim, sides)
    detail = "; ".join(f"{side}: {v.state or v.word} ({v.detail})" for side, v in sides.items())
    return Verdict(claim, combined.holds, combined.basis, detail, parts=combined.parts)
