"""The adversarial search against Theorem S: no orbit breaks it, and the search can tell a wrong
(too small) bound from the right one."""

import pytest

from empirical.studies.sharp_search import orbit_ratios, sharp_edge


def test_sharp_edge_is_below_both_limits():
    assert sharp_edge((1, 2)) == 1.0                      # kappa = 0: only gamma L <= 1
    g = sharp_edge((5, 10))                               # kappa(10) = 44
    assert g * g * 44 < 1 and sharp_edge((5, 10), L=2.0) == pytest.approx(g / 2)


@pytest.mark.parametrize("level,P,frac,cmul", [(1, 2, 0.9, 1.2), (1, 5, 0.5, 1.0), (2, 3, 0.3, 1.2),
                                               (2, 10, 0.95, 0.9), (1, 10, 0.25, 1.05)])
def test_no_orbit_breaks_theorem_s_or_s_prime(level, P, frac, cmul):
    orbits = orbit_ratios(level, P, frac, cmul)
    assert orbits, "the construction always has a periodic orbit here"
    for o in orbits:
        assert 0 < o["ratio_sharp"] <= o["ratio_recursion"] <= 1.0   # S' <= S, so its ratio is larger


def test_the_search_sees_a_wrong_theorem():
    """S' is the sharpest this proof chain gives; a quarter of it is below some orbit."""
    worst = max(o["ratio_recursion"] for o in orbit_ratios(1, 10, 0.25, 1.05))
    assert worst > 0.25  # so a bound 4x too small (a wrong theorem) would be caught here
