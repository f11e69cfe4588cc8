"""Certified suprema (empirical.certify) and HeterogeneousNonconvex's certified eps against dense sampling."""

import numpy as np
import pytest

import empirical as E
from bounds import group_means
from empirical.certify import certified_sup


def test_certified_sup_brackets_a_known_maximum():
    """|sin t| + cos(3t)/4 on [0, 6]: its maximum is known to high accuracy by dense sampling."""
    def f(k, t, w):
        v = (np.abs(np.sin(t)) + np.cos(3 * t) / 4)[:, None]
        return v, v + 1.75 * w[:, None]  # Lipschitz constant 1 + 3/4
    edges = np.linspace(0, 6, 13)
    upper, lower = certified_sup(f, np.zeros(12, dtype=np.intp), (edges[1:] + edges[:-1]) / 2,
                                 np.diff(edges) / 2, 1, np.full((1, 1), -np.inf), lambda lb: 1e-5 + 0 * lb)
    t = np.linspace(0, 6, 2_000_001)
    true = float(np.max(np.abs(np.sin(t)) + np.cos(3 * t) / 4))
    assert lower[0, 0] <= true + 1e-12
    assert true <= upper[0, 0] <= true + 2e-5


CASES = [
    ("two-level unequal", dict(n=10, clusters=3), lambda p: E.Hierarchy.two_level(10, 3, 1, 2, grouping="contiguous")),
    ("three-level random", dict(n=12, clusters=3), lambda p: E.Hierarchy.multi_level(12, [1, 2, 4], [6, 2], grouping="random", seed=3)),
    ("local SGD, weak phi", dict(n=6, lam=0.5), lambda p: E.Hierarchy.local_sgd(6, 2)),
    ("no quadratic", dict(n=8, a=0.0, lam=2.0), lambda p: E.Hierarchy.two_level(8, 2, 1, 2, grouping="heterogeneous", problem=p)),
    ("identical inside clusters", dict(n=8, clusters=4, within=0.0), lambda p: E.Hierarchy.two_level(8, 4, 1, 2, grouping="contiguous")),
    ("singletons", dict(n=6), lambda p: E.Hierarchy.two_level(6, 6, 1, 2, grouping="random")),
]


@pytest.mark.parametrize("name, kw, build", CASES, ids=[c[0] for c in CASES])
def test_certified_eps_bounds_a_dense_scan_and_is_tight(name, kw, build):
    """In one dimension the suprema can be scanned densely: the certified values are above
    the scan and within 0.3% of it (they are tight, not just valid)."""
    p = E.HeterogeneousNonconvex(d=1, **kw)
    h = build(p)
    c = p.constants(h.levels)
    t = np.linspace(p.c.min() - 12, p.c.max() + 12, 200_001)
    grads = p.worker_grads(np.broadcast_to(t[:, None, None], (t.size, p.n, 1)))
    total = (grads - grads.mean(axis=1, keepdims=True))[..., 0] ** 2
    scanned = float(total.mean(axis=1).max())
    assert scanned <= c.eps.value ** 2 <= scanned * 1.003 + 1e-12
    # A3 per level: sum over groups of (n_p/n) sup div_p, each group scanned on its own
    chain = [np.arange(p.n), *h.levels, np.zeros(p.n, dtype=int)]
    for l, bound in enumerate(c.eps_levels, start=1):
        scan = 0.0
        for g in np.unique(chain[l]):
            members = chain[l] == g
            means, sizes = group_means(grads[:, members], np.unique(chain[l - 1][members], return_inverse=True)[1])
            centre = grads[:, members].mean(axis=1, keepdims=True)
            div_p = np.einsum("skd,skd,k->s", means - centre, means - centre, sizes / members.sum())
            scan += members.sum() / p.n * float(div_p.max())
        assert scan <= bound.value ** 2 <= scan * 1.003 + 1e-12, (l, scan, bound.value ** 2)
    if "identical" in name or "singletons" in name:
        assert c.eps_levels[0].value == 0.0
