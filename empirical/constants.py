"""A problem's constants (docs/theory.md §1.3 Assumptions A1-A3) and how each is known.

Every constant a check rests on declares its *kind*, one of :data:`KINDS`: ``exact``, a
``certified upper bound`` (``certified lower bound`` for ``f*``), ``given`` by the user (the
toolkit cannot tell how it was obtained), or ``estimated`` (sampled); and optionally a note
saying how (``"Hessian power iteration, 30 iterations, ..."``). The kind is declared, never
read from the wording of a note. A verdict that rests on an estimated constant is not a check
of the theorem (:meth:`Constants.estimated`); one that rests on a user-given constant is a
check of the theorem only as far as the constant is true, and says so (:meth:`Constants.given`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Constant", "Constants", "EXACT", "UPPER", "LOWER", "GIVEN", "ESTIMATED", "KINDS"]

EXACT, UPPER, LOWER, GIVEN, ESTIMATED = ("exact", "certified upper bound", "certified lower bound", "given",
                                         "estimated")

KINDS = (EXACT, UPPER, LOWER, GIVEN, ESTIMATED)
"""The declared kinds of a :class:`Constant`: how its value is known."""


@dataclass(frozen=True)
class Constant:
    """A number, how it is known (``kind``, one of :data:`KINDS`) and an optional note on how.

    Example:
        >>> Constant(2.0, ESTIMATED, "Hessian power iteration").label
        'estimated (Hessian power iteration)'
        >>> Constant(1.0, "rough estimate")
        Traceback (most recent call last):
        ...
        ValueError: a constant's kind must be one of 'exact', 'certified upper bound', 'certified lower bound', 'given', 'estimated'; got 'rough estimate' (say how it was obtained in note=...)
    """

    value: float
    kind: str
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a constant's kind must be one of {', '.join(map(repr, KINDS))}; got {self.kind!r} "
                             "(say how it was obtained in note=...)")
        if not isinstance(self.note, str):
            raise ValueError(f"a constant's note must be a string, got {type(self.note).__name__}")

    @property
    def label(self) -> str:
        """The kind, with the note in parentheses when there is one (for text, JSON and figures)."""
        return f"{self.kind} ({self.note})" if self.note else self.kind


@dataclass(frozen=True)
class Constants:
    """The constants of docs/theory.md §1.3 Assumptions A1-A3 for a problem under one grouping.

    Attributes:
        L: smoothness of every ``F_j`` (A1).
        sigma: noise level, ``E||xi||^2 <= sigma^2`` (A2).
        eps: total divergence, ``sup_x (1/n) sum_j ||grad F_j - grad f||^2 <= eps^2``.
        eps_levels: per level, finest first, A3's ``eps_l`` for the grouping given.
        f_star: ``f*`` or a lower bound of it.
    """

    L: Constant
    sigma: Constant
    eps: Constant
    eps_levels: tuple[Constant, ...]
    f_star: Constant

    def as_dict(self) -> dict[str, Any]:
        """The constants as nested dicts (``{"L": {"value": ..., "kind": ..., "label": ...}, ...}``)."""
        return {name: ([_as_dict(e) for e in c] if isinstance(c, tuple) else _as_dict(c))
                for name, c in (("L", self.L), ("sigma", self.sigma), ("eps", self.eps),
                                ("eps_levels", self.eps_levels), ("f_star", self.f_star))}

    def named(self) -> tuple[tuple[str, Constant], ...]:
        """Every constant with its name: ``"L"``, ``"sigma"``, ``"eps"``, ``"eps_levels[0]"``, ...
        (finest level first) and ``"f_star"``."""
        return (("L", self.L), ("sigma", self.sigma), ("eps", self.eps),
                *((f"eps_levels[{i}]", e) for i, e in enumerate(self.eps_levels)), ("f_star", self.f_star))

    def of_kind(self, kind: str) -> tuple[str, ...]:
        """Names (as :meth:`named`) of the constants of declared ``kind``."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}; got {kind!r}")
        return tuple(name for name, c in self.named() if c.kind == kind)

    def estimated(self) -> tuple[str, ...]:
        """Names of the constants of kind :data:`ESTIMATED`.

        A verdict that rests on one of them is not a check of the theorem (the value is
        sampled, not certified).

        Example:
            >>> c = Constants(L=Constant(2.0, ESTIMATED, "Hessian power iteration"), sigma=Constant(0.0, EXACT),
            ...               eps=Constant(1.0, UPPER), eps_levels=(Constant(0.5, ESTIMATED), Constant(0.9, GIVEN)),
            ...               f_star=Constant(0.0, LOWER))
            >>> c.estimated(), c.given()
            (('L', 'eps_levels[0]'), ('eps_levels[1]',))
        """
        return self.of_kind(ESTIMATED)

    def given(self) -> tuple[str, ...]:
        """Names of the constants of kind :data:`GIVEN` (by the user): a verdict resting on them
        holds as far as they are true, and says so."""
        return self.of_kind(GIVEN)


def _as_dict(c: Constant) -> dict[str, Any]:
    return {"value": c.value, "kind": c.kind, "note": c.note, "label": c.label}
