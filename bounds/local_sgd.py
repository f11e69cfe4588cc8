"""Local SGD with period ``P``: docs/theory.md §4.3 Local SGD (Theorem 2 with ``M = 1``).

Structure from Wang, Wang, Chen, Ji, AAAI 2022, arXiv:2010.12998; the constants are those of
docs/theory.md §0 Provenance, derived for this project (see :mod:`bounds.coefficients`).
"""

from __future__ import annotations

import sympy as sp

from bounds import symbols as s
from bounds.bound import Bound, Level
from bounds.multi_level import BASE_PARAMETERS
from bounds.statement import Theorem
from bounds.theorems.theorem2 import THEOREM_2

__all__ = ["local_sgd"]


def local_sgd(*, theorem: Theorem = THEOREM_2) -> Bound:
    r"""Local SGD with period ``P`` (all ``n`` workers average every ``P`` steps).

    Under A1-A3 with ``eps`` the total divergence of the workers around the global
    objective,

    .. math::
        \frac{1}{T}\sum_{t<T}\mathbb{E}\|\nabla f(u^t)\|^2 \le \frac{2F_0}{\gamma T}
        + \frac{\gamma L\sigma^2}{n} + 2\gamma^2L^2(P-1)\Big[\frac{(n-1)\sigma^2}{n}
        + \frac{2}{3}(2P-1)\varepsilon^2\Big].

    Condition: :math:`\gamma \le 1/L` and :math:`4\gamma^2L^2P(P-1) \le 1`; any horizon
    ``T >= 1`` (docs/theory.md §5.5 Any horizon). Guarantee: upper bound. docs/theory.md §4.3
    Local SGD; structure from Wang et al. 2022 [1], constants derived for this project.

    References:
        [1] J. Wang, S. Wang, R.-R. Chen, M. Ji. Demystifying Why Local Aggregation Helps:
        Convergence Analysis of Hierarchical SGD. AAAI 2022. https://arxiv.org/abs/2010.12998

    Args:
        theorem: the theorem applied (default Theorem 2 with the constants of docs/theory.md §0
            Provenance).

    Returns:
        A :class:`~bounds.Bound` with terms ``init``, ``noise``, ``divergence`` and keywords
        ``gamma, L, sigma, n, T, F0, P, eps``.

    Example:
        >>> b = local_sgd()
        >>> b.terms['divergence']
        2*L**2*gamma**2*(P - 1)*(2*eps**2*(2*P - 1)/3 + sigma**2*(n - 1)/n)
        >>> b.evaluate(gamma=1, L=1, sigma=0, n=1, T=10, F0=5, P=1, eps=0)  # 2 F0 / (gamma T)
        1.0
    """
    level = Level(period=s.P, finer_count=s.n, count=sp.Integer(1), eps_sq=s.eps**2,
                  term="divergence", period_label="P", count_label="1")
    return Bound(theorem=theorem, setting="local SGD, M = 1", levels=(level,),
                 parameters={**BASE_PARAMETERS, "P": s.P, "eps": s.eps})
