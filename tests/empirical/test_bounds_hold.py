"""Theorems 1 and 2, evaluated with a problem's own constants, bound what the simulator measures.

Each check uses the grouping's own constants (docs/theory.md §7.1 Scope of the corollaries),
the largest step size the theorem allows, a horizon ``T`` that ends inside a window of the
top period (the theorem holds for every ``T >= 1``, docs/theory.md §5.5 Any horizon), and
``F0 = f(x0) - f*`` with ``f*`` a certified lower bound (so ``F0`` is an upper bound). The
measured side is a Monte-Carlo mean over seeds: mean + 3 standard errors must not exceed
the bound.
"""

import numpy as np
import pytest

import bounds
import empirical as E
from bounds.optimal import largest_step_size

P = E.HeterogeneousNonconvex(n=16, d=4, clusters=4, between=2.0, within=1.0, lam=4.0, sigma=1.0)
P_QUIET = E.HeterogeneousNonconvex(n=16, d=4, clusters=4, between=3.0, within=0.5, lam=6.0, sigma=0.1, seed=3)

BATTERY = [
    ("local SGD P=4", P, lambda: E.Hierarchy.local_sgd(16, 4)),
    ("two-level random", P, lambda: E.Hierarchy.two_level(16, 4, 2, 8, grouping="random", seed=2)),
    ("two-level homogeneous", P, lambda: E.Hierarchy.two_level(16, 4, 2, 8, grouping="homogeneous", problem=P)),
    ("two-level heterogeneous", P, lambda: E.Hierarchy.two_level(16, 4, 2, 8, grouping="heterogeneous", problem=P)),
    ("two-level unequal", P, lambda: E.Hierarchy.two_level(16, 3, 4, 8, grouping="contiguous")),
    ("two-level, little noise", P_QUIET, lambda: E.Hierarchy.two_level(16, 4, 2, 8, grouping="homogeneous", problem=P_QUIET)),
    ("three-level", P, lambda: E.Hierarchy.multi_level(16, [1, 2, 8], [8, 2], grouping="random", seed=5)),
]


def theorem(h, c):
    """The theorem for this hierarchy and its keyword values: Theorem 1 for two levels,
    local SGD for one, Theorem 2 otherwise."""
    eps = [e.value for e in c.eps_levels]
    if h.M == 1:
        return bounds.local_sgd(), dict(P=h.periods[0], eps=eps[0])
    if h.M == 2:
        return bounds.two_level(), dict(N=h.group_counts[1], I=h.periods[0], G=h.periods[1], eps_l=eps[0], eps_g=eps[1])
    return h.shape.bound(), dict(eps=eps)


@pytest.mark.parametrize("name, problem, build", BATTERY, ids=[b[0] for b in BATTERY])
def test_bound_holds_with_the_groupings_own_constants(name, problem, build):
    h = build()
    c = problem.constants(h.levels)
    b, extra = theorem(h, c)
    periods = {k: v for k, v in extra.items() if k in ("P", "I", "G")}  # the condition's own keywords
    gamma = largest_step_size(b, L=c.L.value, **periods)[0]
    T = h.periods[-1] * 40 + h.periods[-1] // 2 + 1  # ends inside a top-level window (§5.5)
    assert T % h.periods[-1] != 0
    r = E.simulate(problem, h, lr=gamma, steps=T, seeds=8, seed=1, record_every=1)  # the average over every t < T
    F0 = float(problem.loss(problem.default_x0())) - c.f_star.value
    measured = r.average_grad_norm_sq()
    upper = measured.mean() + 3 * measured.std(ddof=1) / np.sqrt(measured.size)
    bound = b.evaluate(gamma=gamma, L=c.L.value, sigma=c.sigma.value, n=h.n, T=T, F0=F0, **extra)
    # Theorem 1 is Theorem 2 with M = 2: the two encodings agree
    general = h.shape.bound()
    assert general.evaluate(gamma=gamma, L=c.L.value, sigma=c.sigma.value, n=h.n, T=T, F0=F0,
                            eps=[e.value for e in c.eps_levels]) == pytest.approx(bound, rel=1e-12)
    print(f"{name}: gamma {gamma:.4g}, measured {measured.mean():.4g} (+3 SE {upper:.4g}) <= bound {bound:.4g}, "
          f"ratio {measured.mean() / bound:.3f}")
    assert upper <= bound


def test_the_tight_case_meets_the_bound():
    """docs/theory.md §7.2 Remark: tightness. Every P_l = 1, gamma = 1/L, sigma = 0 and
    f = (L/2)||x||^2 give equality."""
    L, n, T = 3.0, 4, 6
    p = E.from_gradient_fn(lambda x: L * x, lambda u: L * u, n=n, d=2, loss=lambda u: 0.5 * L * np.sum(u * u, -1),
                           constants={"L": L, "eps": 0.0, "eps_levels": [0.0, 0.0], "kind": "exact"})
    h = E.Hierarchy.two_level(n, 2, 1, 1, grouping="contiguous")
    r = E.simulate(p, h, lr=1 / L, steps=T, x0=[1.0, -2.0])
    bound = bounds.two_level().evaluate(gamma=1 / L, L=L, sigma=0.0, n=n, T=T, F0=float(p.loss(np.array([1.0, -2.0]))),
                                        N=2, I=1, G=1, eps_g=0.0, eps_l=0.0)
    assert r.average_grad_norm_sq()[0] == pytest.approx(bound, rel=1e-12)
