"""A problem's constants (docs/theory.md §1.3 Assumptions A1-A3) and how each is known.

Every constant a check rests on carries a label saying how it is known: ``exact``, a
``certified upper bound`` (or ``certified lower bound`` for ``f*``), a value the user gave, or
``estimated (...)`` with how it was sampled. A verdict that rests on an estimated constant is
not a check of the theorem (:meth:`Constants.estimated`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Constant", "Constants", "EXACT", "UPPER", "LOWER", "ESTIMATED"]

EXACT, UPPER, LOWER, ESTIMATED = "exact", "certified upper bound", "certified lower bound", "estimated"


@dataclass(frozen=True)
class Constant:
    """A number and how it is known."""

    value: float
    label: str


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
        """The constants as nested dicts (``{"L": {"value": ..., "label": ...}, ...}``)."""
        return asdict(self)

    def estimated(self) -> tuple[str, ...]:
        """Names of the constants whose label starts with the word ``"estimated"``.

        A verdict that rests on one of them is not a check of the theorem (the value is
        sampled, not certified). Names are ``"L"``, ``"sigma"``, ``"eps"``,
        ``"eps_levels[0]"``, ... (finest level first) and ``"f_star"``.

        Example:
            >>> c = Constants(L=Constant(2.0, "estimated (Hessian power iteration)"), sigma=Constant(0.0, "exact"),
            ...               eps=Constant(1.0, "certified upper bound"),
            ...               eps_levels=(Constant(0.5, "estimated (sampled)"), Constant(0.9, "given")),
            ...               f_star=Constant(0.0, "certified lower bound"))
            >>> c.estimated()
            ('L', 'eps_levels[0]')
        """
        named = [("L", self.L), ("sigma", self.sigma), ("eps", self.eps),
                 *((f"eps_levels[{i}]", e) for i, e in enumerate(self.eps_levels)), ("f_star", self.f_star)]
        return tuple(name for name, c in named if _is_estimated(c.label))


def _is_estimated(label: str) -> bool:
    """Whether ``label``'s first word is ``estimated`` (any case)."""
    words = str(label).strip().split(maxsplit=1)
    return bool(words) and words[0].lower().rstrip(":,;(") == ESTIMATED
