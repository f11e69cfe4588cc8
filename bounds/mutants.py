"""Optimistic mutants: wrong theorems a verification toolkit must be able to catch.

A mutant is a theorem with one deliberate error that makes the bound *smaller* (or its
condition looser). Every mutant is an edit of the theorem's named parts at an instance
(:func:`bounds.instance.theorem_terms`, read off the one sympy statement) or of its named
constants, so the generic ones (:func:`term_mutants`: each part halved, divided by ten or
dropped, the condition loosened four times) apply to any theorem, a user's included.
Theorem 2's own list (:func:`mutants`) adds edits of its named coefficients and factors: a
coefficient halved or divided by ten, a factor ``(P_l - 1)`` halved, ``(2 P_l - 1)`` replaced by
``P_l``, the noise share divided by ``n`` once more, a level's ``eps`` replaced by another
level's. :mod:`figures.power` runs them against measured runs: a mutant is *killed* when some
run inside the mutant's own condition measures more than the mutant's bound (statistically,
at 95%). The real theorem must never be killed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable, Sequence

from bounds.coefficients import THEORY, Coefficients
from bounds.instance import Instance, instance_bound, theorem_condition, theorem_terms
from bounds.statement import Theorem
from bounds.theorems.theorem2 import theorem2

__all__ = ["Instance", "Mutant", "theorem", "mutants", "term_mutants", "identity", "candidates"]

Parts = Callable[[Instance], dict[str, float]]
"""A theorem's named parts at an instance."""
ConditionOf = Callable[[Instance, int], bool]
"""A theorem's conditions at an instance, right-hand sides times a loosening factor."""
Edit = Callable[[dict[str, float], Instance, Parts], None]
"""Changes the parts at an instance in place (it may read the theorem's parts elsewhere)."""


@dataclass(frozen=True)
class Mutant:
    """A variant of a theorem: its name, what it changes, its value and its condition at an instance.

    Attributes:
        name: short name, e.g. ``"heterogeneity/10"`` or ``"drop level_1_noise"``.
        description: what was changed, in words.
        parts: the (possibly varied) theorem's parts at an instance.
        condition_of: its conditions at an instance, with a loosening factor.
        edit: how the parts are changed (``None``: not at all).
        loosen: the right-hand sides of the conditions are multiplied by this.
        level: the level a level-specific mutant changes (1-based), else ``None``.
    """

    name: str
    description: str
    parts: Parts = field(repr=False, compare=False)
    condition_of: ConditionOf = field(repr=False, compare=False)
    edit: Edit | None = field(default=None, repr=False, compare=False)
    loosen: int = 1
    level: int | None = None

    def applies(self, x: Instance) -> bool:
        """Whether the mutant differs from the theorem's structure at ``x`` (a level mutant
        needs its level to exist)."""
        return self.level is None or self.level <= x.M

    def value(self, x: Instance) -> float:
        """The mutant's bound at ``x``."""
        parts = dict(self.parts(x))
        if self.edit is not None and self.applies(x):
            self.edit(parts, x, self.parts)
        return sum(parts.values())

    def condition(self, x: Instance) -> bool:
        """Whether ``x`` is inside the mutant's own condition (decided exactly)."""
        return self.condition_of(x, self.loosen)


def _parts_of(theorem_: Theorem) -> Parts:
    return partial(theorem_terms, theorem=theorem_)


def _condition_of(theorem_: Theorem) -> ConditionOf:
    return lambda x, loosen=1: theorem_condition(x, loosen, theorem_)


def identity(name: str, description: str, parts: Parts, condition_of: ConditionOf) -> Mutant:
    """The theorem itself, as the mutant that changes nothing."""
    return Mutant(name, description, parts, condition_of)


def _scale(part: str, factor: float) -> Edit:
    def edit(p: dict[str, float], x: Instance, parts: Parts) -> None:
        p[part] *= factor
    return edit


def _level(part: str) -> int | None:
    return int(part.split("_")[1]) if part.startswith("level_") else None


def term_mutants(parts: Parts, condition_of: ConditionOf, names: Sequence[str]) -> list[Mutant]:
    """Mutants of any theorem from its parts: each part named in ``names`` (its
    :attr:`bounds.Bound.part_exprs` on a hierarchy deep enough) x1/2, x1/10 and dropped, and the
    conditions loosened 4 times. A part ``level_<l>_...`` applies from ``l`` levels on."""
    out = []
    for name in names:
        for factor, label in ((0.5, "/2"), (0.1, "/10"), (0.0, " dropped")):
            out.append(Mutant(f"{name}{label}" if factor else f"drop {name}",
                              f"the {name} term {'multiplied by ' + str(factor) if factor else 'dropped'}",
                              parts, condition_of, _scale(name, factor), level=_level(name)))
    out.append(Mutant("condition x4", "the step-size conditions loosened 4 times", parts, condition_of, loosen=4))
    return out


def theorem(coefficients: Coefficients = THEORY) -> Mutant:
    """Theorem 2 itself, as the identity mutant."""
    t = theorem2(coefficients)
    return identity("theorem", "Theorem 2 as stated in docs/theory.md", _parts_of(t), _condition_of(t))


def _each_level(kind: str, level: int | None, change: Callable[[float, Instance, int], float]) -> Edit:
    """Change the ``kind`` part (``noise`` or ``heterogeneity``) of one level, or of every level."""
    def edit(p: dict[str, float], x: Instance, parts: Parts) -> None:
        for l in range(1, x.M + 1):
            if level is None or l == level:
                key = f"level_{l}_{kind}"
                p[key] = change(p[key], x, l - 1)
    return edit


def _both(level: int, change: Callable[[float, Instance, int], float]) -> Edit:
    noise, heterogeneity = _each_level("noise", level, change), _each_level("heterogeneity", level, change)

    def edit(p: dict[str, float], x: Instance, parts: Parts) -> None:
        noise(p, x, parts)
        heterogeneity(p, x, parts)
    return edit


def _swap_eps(level: int, other: int) -> Edit:
    """Level ``level``'s heterogeneity part as the theorem gives it with ``eps_level = eps_other``."""
    def edit(p: dict[str, float], x: Instance, parts: Parts) -> None:
        eps = list(x.eps)
        eps[level - 1] = x.eps[other - 1]
        key = f"level_{level}_heterogeneity"
        p[key] = parts(replace(x, eps=tuple(eps)))[key]
    return edit


def mutants(max_levels: int = 2, coefficients: Coefficients = THEORY) -> list[Mutant]:
    """The optimistic mutants of Theorem 2 for hierarchies of up to ``max_levels`` levels.

    Example:
        >>> names = [m.name for m in mutants(2)]
        >>> len(names), names[:3]
        (24, ['init/2', 'init/10', 'noise/2'])
    """
    real = theorem2(coefficients)
    parts, condition_of = _parts_of(real), _condition_of(real)
    c = coefficients
    out: list[Mutant] = []
    for name in ("init", "noise", "divergence", "heterogeneity", "condition"):
        for k in (2, 10):
            changed = theorem2(replace(c, **{name: getattr(c, name) / k}))
            out.append(Mutant(f"{name}/{k}", f"coefficient c_{name} divided by {k}", _parts_of(changed),
                              _condition_of(changed)))
    out.append(Mutant("drop init", "the init term 2 F0/(gamma T) dropped", parts, condition_of, _scale("init", 0.0)))
    out.append(Mutant("drop noise", "the noise term gamma L sigma^2/n dropped", parts, condition_of,
                      _scale("noise", 0.0)))
    for l in range(1, max_levels + 1):
        out.append(Mutant(f"drop level_{l}_noise", f"level {l}'s noise share (K_{l - 1} - K_{l}) sigma^2/n dropped",
                          parts, condition_of, _scale(f"level_{l}_noise", 0.0), level=l))
        out.append(Mutant(f"drop level_{l}_heterogeneity",
                          f"level {l}'s heterogeneity (2/3)(2P_{l} - 1) eps_{l}^2 dropped",
                          parts, condition_of, _scale(f"level_{l}_heterogeneity", 0.0), level=l))
        out.append(Mutant(f"(P_{l}-1)/2", f"(P_{l} - 1) -> (P_{l} - 1)/2 in level {l}'s term", parts, condition_of,
                          _both(l, lambda v, x, i: v / 2), level=l))
        out.append(Mutant(f"(2P_{l}-1)->P_{l}", f"(2P_{l} - 1) -> P_{l} in level {l}'s heterogeneity", parts,
                          condition_of,
                          _each_level("heterogeneity", l, lambda v, x, i: v * x.periods[i] / (2 * x.periods[i] - 1)),
                          level=l))
    out.append(Mutant("noise share /n^2", "every level's noise share divided by n once more", parts, condition_of,
                      _each_level("noise", None, lambda v, x, i: v / x.n)))
    for l in range(1, max_levels + 1):
        for other in range(1, max_levels + 1):
            if other != l:
                out.append(Mutant(f"eps_{l}->eps_{other}",
                                  f"level {l}'s heterogeneity uses eps_{other} instead of eps_{l}", parts,
                                  condition_of, _swap_eps(l, other), level=max(l, other)))
    out.append(Mutant("condition x4", "both step-size conditions loosened 4 times (right-hand sides 4)", parts,
                      condition_of, loosen=4))
    return out


def candidates(theorem_: Theorem, levels: int = 2, parts: Parts | None = None) -> list[Mutant]:
    """The theorem itself (the identity mutant), then its mutants for hierarchies of up to
    ``levels`` levels: Theorem 2's named ones (:func:`mutants`) for a theorem of Theorem 2's form,
    else the generic part mutants (:func:`term_mutants`). ``parts`` replaces the theorem's parts at
    an instance for the generic ones (a cached copy, or a cheaper valid bound); default
    :func:`bounds.instance.theorem_terms`. What ``hsgd power`` and ``hsgd falsify`` test.

    Example:
        >>> from bounds.theorems import THEOREM_S
        >>> found = candidates(THEOREM_S)
        >>> found[0].name, len(found)
        ('theorem', 20)
    """
    if theorem_.coefficients is not None and theorem2(theorem_.coefficients) is theorem_:
        return [theorem(theorem_.coefficients), *mutants(max_levels=levels, coefficients=theorem_.coefficients)]
    parts = parts or _parts_of(theorem_)
    condition_of = _condition_of(theorem_)
    real = identity("theorem", f"{theorem_.title} ({theorem_.source})", parts, condition_of)
    return [real, *term_mutants(parts, condition_of, list(instance_bound(theorem_, levels).part_exprs))]
