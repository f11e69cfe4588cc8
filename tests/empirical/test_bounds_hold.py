"""Theorems 1 and 2, evaluated with a problem's own constants, bound what the simulator measures."""

import numpy as np
import pytest

import bounds
import empirical as E
from bounds.optimal import largest_step_size

P = E.HeterogeneousNonconvex(n=16, d=4, clusters=4, between=2.0, within=1.0, lam=4.0, sigma=1.0)

BATTERY = [
    ("local SGD P=4", lambda: E.local_sgd(16, 4)),
    ("two-level random", lambda: E.two_level(16, 4, 2, 8, grouping="random", seed=2)),
    ("two-level homogeneous", lambda: E.two_level(16, 4, 2, 8, grouping="homogeneous", problem=P)),
    ("two-level heterogeneous", lambda: E.two_level(16, 4, 2, 8, grouping="heterogeneous", problem=P)),
    ("two-level unequal", lambda: E.two_level(16, 3, 4, 8, grouping="contiguous")),
    ("three-level", lambda: E.multi_level(16, [8, 2], [1, 2, 8], grouping="random", seed=5)),
]


@pytest.mark.parametrize("name, build", BATTERY, ids=[b[0] for b in BATTERY])
def test_bound_holds_with_the_groupings_own_constants(name, build):
    h = build()
    c = P.constants(h.levels)
    b = bounds.multi_level(list(h.periods), list(h.group_counts[1:-1]))
    gamma = largest_step_size(b, L=c.L.value)[0]
    T = 8 * 40
    r = E.simulate(P, h, lr=gamma, steps=T, seeds=8, seed=1)
    F0 = float(P.loss(P.default_x0())) - c.f_star.value  # f* lower bound: F0 is an upper bound
    measured = r.average_grad_norm_sq()
    upper = measured.mean() + 3 * measured.std(ddof=1) / np.sqrt(measured.size)
    bound = b.evaluate(gamma=gamma, L=c.L.value, sigma=c.sigma.value, n=h.n, T=T, F0=F0,
                       eps=[e.value for e in c.eps_levels])
    print(f"{name}: measured {measured.mean():.4g} (+3 SE {upper:.4g}) <= bound {bound:.4g}, "
          f"ratio {measured.mean() / bound:.3f}")
    assert upper <= bound
