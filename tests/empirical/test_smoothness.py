"""Estimated smoothness (empirical.smoothness): Hessian power iteration against known Hessians."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import empirical as E
from empirical.smoothness import PilotTrajectory, estimate_smoothness, hessian_norms, pilot_trajectory

RNG = np.random.default_rng(7)


def quadratic_problem(eigenvalues):
    """F_j(x) = x^T A_j x / 2 with A_j = Q_j diag(eigenvalues[j]) Q_j^T: ||A_j|| is known."""
    n, d = eigenvalues.shape
    Q = np.linalg.qr(RNG.normal(size=(n, d, d)))[0]
    A = np.einsum("jab,jb,jcb->jac", Q, eigenvalues, Q)
    return E.from_gradient_fn(lambda x: np.einsum("jab,...jb->...ja", A, x),
                              lambda u: np.einsum("ab,...b->...a", A.mean(axis=0), u), n=n, d=d)


def test_power_iteration_finds_each_workers_largest_absolute_eigenvalue():
    """Every worker has its own Hessian (one with a negative dominant eigenvalue): each is found."""
    eig = RNG.uniform(-3, 3, size=(5, 6))
    eig[:, 0] = [5.0, -7.0, 4.0, 6.5, -4.5]         # dominant, gap ratio at most 0.75
    norms = hessian_norms(quadratic_problem(eig), RNG.normal(size=(3, 6)), iters=80)
    assert norms.shape == (3, 5)
    np.testing.assert_allclose(norms, np.broadcast_to(np.abs(eig[:, 0]), (3, 5)), rtol=1e-6)


def test_estimate_brackets_the_exact_L_near_the_phi_second_maximum():
    """HeterogeneousNonconvex: L = a + 2 lam exactly, attained where x = c_j. Near c_0 the
    estimate is within [0.9 L, margin L]."""
    p = E.HeterogeneousNonconvex(n=8, d=5, a=1.0, lam=4.0)
    L = p.constants().L
    assert L.label == "exact" and L.value == 9.0
    near = p.c[0] + RNG.normal(scale=0.05, size=(3, 5))
    est = estimate_smoothness(p, near, margin=1.1, source="near-c_0")
    assert 0.9 * L.value <= est.value <= 1.1 * L.value
    assert est.label == "estimated (Hessian power iteration, 30 iterations, at 3 near-c_0 points, x1.1 margin)"


@settings(max_examples=25, deadline=None)
@given(a=st.floats(0.0, 3.0), lam=st.floats(0.1, 5.0), seed=st.integers(0, 10_000), scale=st.floats(0.01, 4.0))
def test_hessian_norms_are_the_exact_diagonal_norms(a, lam, seed, scale):
    """The Hessian of F_j is diag(a + lam phi''(x_k - c_jk)): its norm is known in closed form.
    The estimate never exceeds it (up to finite-difference error), and is within 10% of it."""
    p = E.HeterogeneousNonconvex(n=4, d=3, a=a, lam=lam, seed=seed % 100)
    x = p.c[seed % 4] + np.random.default_rng(seed).normal(scale=scale, size=(4, 3))
    u = x[:, None, :] - p.c[None]
    second = 2 * (1 - 3 * u * u) / (1 + u * u) ** 3
    exact = np.abs(a + lam * second).max(axis=-1)                   # (points, workers)
    norms = hessian_norms(p, x, seed=seed)
    assert np.all(norms <= exact * (1 + 1e-5) + 1e-7)
    assert np.all(norms >= 0.9 * exact)


def test_points_may_place_every_worker_at_its_own_model():
    """(P, n, d) points: worker j's Hessian at points[:, j]; the same as the (P, d) answer worker by worker."""
    p = E.HeterogeneousNonconvex(n=4, d=3)
    x = RNG.normal(size=(2, 4, 3))
    own = hessian_norms(p, x, iters=60)
    for j in range(4):
        np.testing.assert_allclose(own[:, j], hessian_norms(p, x[:, j], iters=60)[:, j], rtol=1e-6)


def test_digits_estimate_is_far_above_the_old_secant_estimate():
    """The secants of random nearby points (the old estimate) see the Hessian along random
    directions and understate L several times over; power iteration does not."""
    from empirical.problems.digits import DigitsMLP

    p = DigitsMLP(n=10, hidden=8)
    rng = np.random.default_rng(1)
    points = p.default_x0() + rng.normal(scale=0.1, size=(32, p.d))
    near = points + rng.normal(scale=1e-3, size=points.shape)
    wide = lambda z: np.broadcast_to(z[:, None, :], (z.shape[0], p.n, p.d))  # noqa: E731
    secant = np.max(np.linalg.norm(p.worker_grads(wide(near)) - p.worker_grads(wide(points)), axis=-1)
                    / np.linalg.norm(near - points, axis=-1)[:, None])
    at_x0 = hessian_norms(p, p.default_x0()).max()
    assert at_x0 > 5 * secant
    L = p.constants().L
    assert L.value >= 1.1 * at_x0 and L.label.startswith("estimated (Hessian power iteration")
    assert "13 pilot-trajectory points" in L.label


def test_pilot_trajectory_descends_and_is_reused_by_the_estimate():
    p = E.HeterogeneousNonconvex(n=6, d=4, sigma=0.5)
    pilot = pilot_trajectory(p, steps=30, keep=6, noisy_steps=10, snapshots=2, seed=3)
    assert isinstance(pilot, PilotTrajectory) and pilot.size == 9 and pilot.norms.shape == (9, 6)
    assert p.loss(pilot.shared[-1]) < p.loss(pilot.x0)                # gradient descent went down
    assert pilot.points().shape == (1 + 6 + 2 + 2 * 6, 4)
    est = estimate_smoothness(p, pilot)                               # the norms computed along the way
    again = estimate_smoothness(p, pilot.all_points(), source="pilot-trajectory", seed=5)
    assert est.value == pytest.approx(again.value, rel=2e-2)           # other start vectors: close, not equal
    assert est.label == again.label and "9 pilot-trajectory points" in est.label
    assert pilot.lr == pytest.approx(1 / est.value, rel=1e-12)      # it ended at 1 / (the same margin x max)
    same = pilot_trajectory(p, steps=30, keep=6, noisy_steps=10, snapshots=2, seed=3)
    assert np.array_equal(same.workers, pilot.workers)                # reproducible


@pytest.mark.parametrize("call, message", [
    (lambda p: hessian_norms(p, np.zeros((2, 5))), "points must have shape"),
    (lambda p: hessian_norms(p, np.full(3, np.nan)), "points must be finite"),
    (lambda p: hessian_norms(p, np.zeros(3), iters=0), "iters must be a positive integer"),
    (lambda p: hessian_norms(p, np.zeros(3), step=-1.0), "step must be a positive finite number"),
    (lambda p: estimate_smoothness(p, np.zeros(3), margin=0.9), "margin must be a finite number >= 1"),
    (lambda p: pilot_trajectory(p, steps=3, keep=4), "keep must be at most steps"),
    (lambda p: pilot_trajectory(p, noisy_steps=2, snapshots=3), "snapshots must be at most noisy_steps"),
])
def test_bad_input_names_the_parameter(call, message):
    with pytest.raises(ValueError, match=message):
        call(E.HeterogeneousNonconvex(n=4, d=3))
