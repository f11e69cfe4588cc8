"""The named numbers in front of each term of the bounds.

docs/theory.md keeps the paper's *structure* (which terms appear, the ``(K_{l-1} - K_l)/n`` noise
weights, the ``(P_l - 1)`` and ``(2 P_l - 1)`` factors) but its *constants* were derived for
this project (docs/theory.md §5 Derivation of Theorem 2; provenance in docs/theory.md
§0 Provenance); they are not the numbers printed in Wang et al. (2022).
Every such number is a field here, so a reader can swap in another set and every bound,
identity and proof in :mod:`bounds` follows.

Example:
    >>> THEORY
    Coefficients(init=2, noise=1, divergence=2, heterogeneity=2/3, condition=4)
    >>> Coefficients(divergence=4).divergence
    4
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import sympy as sp

__all__ = ["Coefficients", "THEORY"]


@dataclass(frozen=True)
class Coefficients:
    r"""The constants of docs/theory.md §4.2 Theorem 2, by the term they multiply.

    .. math::
        \frac{c_{init} F_0}{\gamma T} + c_{noise}\frac{\gamma L \sigma^2}{n}
        + \sum_l c_{div}\,\gamma^2 L^2 (P_l - 1)\Big[\frac{(K_{l-1}-K_l)\sigma^2}{n}
        + c_{het} (2P_l - 1)\varepsilon_l^2\Big],
        \qquad c_{cond}\,\gamma^2 L^2 \sum_l P_l(P_l - 1) \le 1.

    Attributes:
        init: ``c_init`` (docs/theory.md §0 Provenance: 2), from summing the descent step
            (docs/theory.md §5.1 Step 1: descent).
        noise: ``c_noise`` (docs/theory.md §0 Provenance: 1), the mini-batch noise term
            (docs/theory.md §5.1 Step 1: descent).
        divergence: ``c_div`` (docs/theory.md §0 Provenance: 2), from the coupling being at
            most 1/2 (docs/theory.md §5.3 Step 3: windows and the coupling).
        heterogeneity: ``c_het`` (docs/theory.md §0 Provenance: 2/3), from ``sum_{k<P} k^2``
            and the ``||a+b||^2 <= 2||a||^2 + 2||b||^2`` split (docs/theory.md §5.2 Step 2: one
            level inside a window, and §5.3 Step 3: windows and the coupling).
        condition: ``c_cond`` (docs/theory.md §0 Provenance: 4), the step-size condition,
            which caps the coupling at 1/2 (docs/theory.md §5.3 Step 3: windows and the coupling).
    """

    init: sp.Expr = sp.Integer(2)
    noise: sp.Expr = sp.Integer(1)
    divergence: sp.Expr = sp.Integer(2)
    heterogeneity: sp.Expr = sp.Rational(2, 3)
    condition: sp.Expr = sp.Integer(4)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = sp.nsimplify(sp.sympify(getattr(self, f.name)))
            if not (value.is_number and value.is_real and value >= 0):
                raise ValueError(f"coefficient {f.name} must be a non-negative real number, got {value}")
            object.__setattr__(self, f.name, value)

    def __repr__(self) -> str:
        parts = ", ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))
        return f"Coefficients({parts})"


THEORY = Coefficients()
"""The default coefficients: the constants of docs/theory.md §0 Provenance (derived for this
project, not the paper's). The name ``THEORY`` is this constant's, not a document's."""
