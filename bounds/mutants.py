"""Optimistic mutants of Theorem 2: wrong theorems a verification toolkit must be able to catch.

A mutant is Theorem 2 (docs/theory.md) with one deliberate error that makes the bound
*smaller* (or its step-size condition looser): a coefficient halved or divided by ten, a term
dropped, a factor ``(P_l - 1)`` halved, ``(2 P_l - 1)`` replaced by ``P_l``, the noise share
divided by ``n`` once more, a level's ``eps`` replaced by another level's, or the condition
loosened four times. :mod:`figures.power` runs them against measured runs: a mutant is
*killed* when some run inside the mutant's own condition measures more than the mutant's
bound (statistically, at 95%). The real theorem must never be killed.

Every mutant is evaluated from the same per-term decomposition of Theorem 2
(:mod:`bounds.instance`), whose unmutated sum equals :func:`bounds.multi_level` (a test
checks it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from bounds.coefficients import THEORY, Coefficients
from bounds.instance import Instance, _condition, _pieces, _Pieces, theorem_condition, theorem_terms

__all__ = ["Instance", "Mutant", "TermMutant", "theorem", "theorem_terms", "theorem_condition", "mutants",
           "term_mutants"]


@dataclass(frozen=True)
class Mutant:
    """A variant of Theorem 2: its name, what it changes, its value and its condition at an instance.

    Attributes:
        name: short name, e.g. ``"heterogeneity/10"`` or ``"drop level_1_noise"``.
        description: what was changed, in words.
        edit: how the pieces are changed (``None`` for the theorem itself).
        coefficients: the coefficients it uses.
        loosen: the right-hand sides of the conditions are multiplied by this.
        level: the level a level-specific mutant changes (1-based), else ``None``.
    """

    name: str
    description: str
    edit: Callable[[_Pieces, Instance], None] | None = field(default=None, repr=False, compare=False)
    coefficients: Coefficients = THEORY
    loosen: int = 1
    level: int | None = None

    def applies(self, x: Instance) -> bool:
        """Whether the mutant differs from the theorem's structure at ``x`` (a level mutant
        needs its level to exist)."""
        return self.level is None or self.level <= x.M

    def value(self, x: Instance) -> float:
        """The mutant's bound at ``x``."""
        pieces = _pieces(x, self.coefficients)
        if self.edit is not None and self.applies(x):
            self.edit(pieces, x)
        return pieces.total()

    def condition(self, x: Instance) -> bool:
        """Whether ``x`` is inside the mutant's own step-size condition (decided exactly)."""
        return _condition(x, self.coefficients, self.loosen)


@dataclass(frozen=True)
class TermMutant:
    """A mutant of any theorem given as named terms: one term scaled by ``factor`` (0 drops it),
    or the theorem's condition loosened ``loosen`` times.

    Attributes:
        name, description: as for :class:`Mutant`.
        terms: the theorem's named terms at an instance (e.g. :func:`bounds.sharp.sharp_terms`).
        condition_of: the theorem's condition at an instance, with a loosening factor.
        term: the term scaled (``None`` for a condition mutant).
        factor: what the term is multiplied by.
        loosen: as for :class:`Mutant`.
    """

    name: str
    description: str
    terms: Callable[[Instance], dict[str, float]] = field(repr=False, compare=False)
    condition_of: Callable[[Instance, int], bool] = field(repr=False, compare=False)
    term: str | None = None
    factor: float = 1.0
    loosen: int = 1

    @property
    def level(self) -> int | None:
        if self.term and self.term.startswith("level_"):
            return int(self.term.split("_")[1])
        return None

    def applies(self, x: Instance) -> bool:
        return self.level is None or self.level <= x.M

    def value(self, x: Instance) -> float:
        parts = self.terms(x)
        return sum(v * (self.factor if name == self.term else 1.0) for name, v in parts.items())

    def condition(self, x: Instance) -> bool:
        return self.condition_of(x, self.loosen)


def term_mutants(terms: Callable[[Instance], dict[str, float]], condition_of: Callable[[Instance, int], bool],
                 max_levels: int = 2) -> list[TermMutant]:
    """Mutants of a theorem given by its terms: each term x1/2, x1/10 and dropped, and the
    condition loosened 4 times (for theorems, such as Theorem S, whose constants are not
    :class:`~bounds.coefficients.Coefficients`)."""
    names = ["init", "noise"] + [f"level_{l}_{kind}" for l in range(1, max_levels + 1)
                                 for kind in ("noise", "heterogeneity")]
    out = []
    for name in names:
        for factor, label in ((0.5, "/2"), (0.1, "/10"), (0.0, " dropped")):
            out.append(TermMutant(f"{name}{label}" if factor else f"drop {name}",
                                  f"the {name} term {'multiplied by ' + str(factor) if factor else 'dropped'}",
                                  terms, condition_of, name, factor))
    out.append(TermMutant("condition x4", "the step-size conditions loosened 4 times", terms, condition_of, loosen=4))
    return out


def theorem(coefficients: Coefficients = THEORY) -> Mutant:
    """Theorem 2 itself, as the identity mutant."""
    return Mutant("theorem", "Theorem 2 as stated in docs/theory.md", None, coefficients)


def _set(attr: str, level: int | None, fn: Callable[[float, Instance, int], float]) -> Callable[[_Pieces, Instance], None]:
    def edit(p: _Pieces, x: Instance) -> None:
        values = getattr(p, attr)
        if isinstance(values, list):
            for l in range(len(values)):
                if level is None or l == level - 1:
                    values[l] = fn(values[l], x, l)
        else:
            object.__setattr__(p, attr, fn(values, x, 0))
    return edit


def mutants(max_levels: int = 2, coefficients: Coefficients = THEORY) -> list[Mutant]:
    """The optimistic mutants of Theorem 2 for hierarchies of up to ``max_levels`` levels.

    Example:
        >>> names = [m.name for m in mutants(2)]
        >>> len(names), names[:3]
        (24, ['init/2', 'init/10', 'noise/2'])
    """
    out: list[Mutant] = []
    c = coefficients
    for name in ("init", "noise", "divergence", "heterogeneity", "condition"):
        for k in (2, 10):
            changed = replace(c, **{name: getattr(c, name) / k})
            out.append(Mutant(f"{name}/{k}", f"coefficient c_{name} divided by {k}", None, changed))
    out.append(Mutant("drop init", "the init term 2 F0/(gamma T) dropped", _set("init", None, lambda v, x, l: 0.0), c))
    out.append(Mutant("drop noise", "the noise term gamma L sigma^2/n dropped", _set("noise", None, lambda v, x, l: 0.0), c))
    for l in range(1, max_levels + 1):
        out.append(Mutant(f"drop level_{l}_noise", f"level {l}'s noise share (K_{l - 1} - K_{l}) sigma^2/n dropped",
                          _set("share", l, lambda v, x, i: 0.0), c, level=l))
        out.append(Mutant(f"drop level_{l}_heterogeneity", f"level {l}'s heterogeneity (2/3)(2P_{l} - 1) eps_{l}^2 dropped",
                          _set("heterogeneity", l, lambda v, x, i: 0.0), c, level=l))
        out.append(Mutant(f"(P_{l}-1)/2", f"(P_{l} - 1) -> (P_{l} - 1)/2 in level {l}'s term",
                          _set("factor", l, lambda v, x, i: v / 2), c, level=l))
        out.append(Mutant(f"(2P_{l}-1)->P_{l}", f"(2P_{l} - 1) -> P_{l} in level {l}'s heterogeneity",
                          _set("heterogeneity", l, lambda v, x, i: v * x.periods[i] / (2 * x.periods[i] - 1)),
                          c, level=l))
    out.append(Mutant("noise share /n^2", "every level's noise share divided by n once more",
                      _set("share", None, lambda v, x, l: v / x.n), c))
    for l in range(1, max_levels + 1):
        for other in range(1, max_levels + 1):
            if other != l:
                out.append(Mutant(f"eps_{l}->eps_{other}", f"level {l}'s heterogeneity uses eps_{other} instead of eps_{l}",
                                  _swap_eps(l, other), c, level=max(l, other)))
    out.append(Mutant("condition x4", "both step-size conditions loosened 4 times (right-hand sides 4)", None, c,
                      loosen=4))
    return out


def _swap_eps(level: int, other: int) -> Callable[[_Pieces, Instance], None]:
    def edit(p: _Pieces, x: Instance) -> None:
        i, j = level - 1, other - 1
        p.heterogeneity[i] = p.c_het * (2 * x.periods[i] - 1) * x.eps[j] ** 2
    return edit
