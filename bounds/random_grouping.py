"""Lemma 2 applied to a bound: each level's divergence is its expected share of a total.

docs/theory.md §3.1 Lemma 2, §3.2 Nested random grouping, §6.3 Corollary 1 and §6.4
Corollary 2; structure from Wang et al. 2022, arXiv:2010.12998.
"""

from __future__ import annotations

import dataclasses

import sympy as sp

from bounds import symbols as s
from bounds.bound import Bound

__all__ = ["random_grouping", "shares"]


def shares(bound: Bound) -> tuple[sp.Expr, ...]:
    """Lemma 2's expected shares ``(K_{l-1} - K_l)/(n - 1)`` of the levels of ``bound``.

    Example:
        >>> from bounds import two_level
        >>> shares(two_level())
        ((-N + n)/(n - 1), (N - 1)/(n - 1))
    """
    return tuple((lev.finer_count - lev.count) / (s.n - 1) for lev in bound.levels)


def random_grouping(bound: Bound) -> Bound:
    r"""The bound with Lemma 2's random-grouping values of the per-level divergences.

    If the ``n`` workers are split uniformly at random into equal nested groups, level ``l``
    receives in expectation the share ``(K_{l-1} - K_l)/(n-1)`` of the total divergence
    ``eps^2`` (docs/theory.md §3.2 Nested random grouping, from §3.1 Lemma 2), so

    .. math:: \varepsilon_l^2 = \frac{K_{l-1} - K_l}{n - 1}\,\varepsilon^2,

    in two-level notation ``eps_g^2 = (N-1)/(n-1) eps^2`` and ``eps_l^2 = (n-N)/(n-1) eps^2``.
    The result needs equal groups (each count divides the finer one) and ``n >= 2``, which
    its ``evaluate`` checks. These values compare bounds (Corollaries 1-2); for a particular
    run the grouping's own constants are the valid ones (docs/theory.md §7.1 Scope of the
    corollaries).

    Args:
        bound: a bound from :func:`~bounds.two_level`, :func:`~bounds.multi_level` or
            :func:`~bounds.local_sgd` (for which it changes nothing: its one share is 1).

    Returns:
        A :class:`~bounds.Bound` whose per-level divergence keywords are replaced by one
        total ``eps``.

    Example:
        >>> from bounds import two_level
        >>> b = random_grouping(two_level())
        >>> list(b.parameters)
        ['gamma', 'L', 'sigma', 'n', 'T', 'F0', 'N', 'I', 'G', 'eps']
        >>> b.terms['upward']
        2*L**2*gamma**2*(G - 1)*(2*eps**2*(2*G - 1)*(N - 1)/(3*(n - 1)) + sigma**2*(N - 1)/n)
    """
    if bound.equal_groups:
        raise ValueError("this bound already has random grouping (Lemma 2's shares); apply it once")
    level_eps = set().union(*(lev.eps_sq.free_symbols for lev in bound.levels))
    levels = tuple(
        dataclasses.replace(lev, eps_sq=share * s.eps**2) for lev, share in zip(bound.levels, shares(bound))
    )
    parameters = {}
    for key, spec in bound.parameters.items():
        syms = set(spec) if isinstance(spec, tuple) else {spec}
        if not syms <= level_eps:
            parameters[key] = spec
    parameters["eps"] = s.eps
    return Bound(theorem=bound.theorem, setting=f"{bound.setting}, random grouping", levels=levels,
                 parameters=parameters, equal_groups=True, term_order=tuple(bound.terms),
                 note="; ".join(filter(None, (bound.note, "Lemma 2 (random grouping)"))))
