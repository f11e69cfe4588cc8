"""docs/theory.md §10.6: Theorem P under the authors' resampling (a fresh sample at every level-1
aggregation). The one new step of the derivation is that the noise part of a level-l divergence
adds up over a window of P_l steps although the sample changes inside it: each step contributes
its own sample's noise share, and its mean is the single-draw share of §10.3. On a problem
whose gradients are all zero that step is an equality,

    E Delta_l(t) = gamma^2 k_l sigma^2 lambda_l,   E ||u^t - x0||^2 = gamma^2 t sigma^2 omega,

with k_l the steps since level l's last reset and (omega, lambda_l) the exact sampled-system
constants of ``bounds.federated.participation_shares``. Checked here on the engine's recorded
divergences with many seeds, to within 4.5 standard errors, in both modes (in expectation the
two agree, which is why one theorem covers both); the same data reject the full-participation
shares and the full system's omega by more than 8 standard errors."""

import numpy as np
import pytest

import empirical as E
from bounds.federated import participation_shares
from empirical.problems.function import from_gradient_fn

SEEDS, SIGMA, LR = 4000, 1.0, 0.1
WEIGHTS = np.array([3.0, 1.0, 2.0, 5.0, 1.0, 4.0, 2.0, 2.0])
LEVELS = [np.array([0, 0, 0, 1, 1, 1, 2, 2]), np.array([0, 0, 0, 0, 0, 0, 1, 1])]
PERIODS = [2, 6, 12]


def _pure_noise(n: int = 8, d: int = 3):
    zeros = lambda x: np.zeros_like(x)  # noqa: E731: every gradient is 0, only the noise moves the models
    return from_gradient_fn(zeros, zeros, n, d, loss=lambda u: np.zeros(u.shape[:-1]), noise=SIGMA,
                            constants=dict(L=1.0, eps=0.0, eps_levels=(0.0, 0.0, 0.0), f_star=0.0,
                                           levels=LEVELS, kind="exact"))


def _run(S, mode, steps=PERIODS[-1]):
    h = E.Hierarchy.multi_level(8, PERIODS, [3, 2], grouping=LEVELS)
    return E.simulate(_pure_noise(), h, lr=LR, steps=steps, seeds=SEEDS, seed=11, weights=WEIGHTS,
                      participation=S, participation_mode=mode, record_every=1)


def _z(measured, expected, rounding=1e-20):
    """``(mean - expected) / standard error`` of the mean over seeds (per recorded step); a
    difference below ``rounding`` (a divergence that is 0 up to rounding, e.g. with one sampled
    worker per group, measures about 1e-34) counts as 0."""
    mean, se = measured.mean(axis=0), measured.std(axis=0, ddof=1) / np.sqrt(measured.shape[0])
    gap = mean - expected
    return np.where(np.abs(gap) < rounding, 0.0, gap / np.where(se > 0, se, np.inf))


@pytest.mark.parametrize("mode", ["local_round", "global_round"])
@pytest.mark.parametrize("S", [1, 2])
def test_each_step_adds_its_own_samples_noise_share(S, mode):
    r = _run(S, mode)
    shares = participation_shares(WEIGHTS, LEVELS, 8, S)
    assert shares.exact
    t = np.arange(PERIODS[-1])
    for l, P in enumerate(PERIODS):
        since_reset = t % P
        expected = LR ** 2 * since_reset * SIGMA ** 2 * float(shares.shares[l])
        z = _z(r.divergence[:, :, l], expected)
        assert np.all(np.abs(z[since_reset > 0]) < 4.5), (l, z)
        assert np.all(r.divergence[:, since_reset == 0, l] < 1e-25)  # one model per group at a reset (to rounding)
    full = participation_shares(WEIGHTS, LEVELS, 8, None)  # a wrong value: the full system's shares
    wrong = LR ** 2 * (t % PERIODS[1]) * SIGMA ** 2 * float(full.shares[1])
    assert np.max(np.abs(_z(r.divergence[:, :, 1], wrong))) > 8


def test_the_global_model_spreads_by_omega():
    """E ||u^t - x0||^2 = gamma^2 t sigma^2 omega across resampling aggregations (§5.1 with the
    sampled system's omega at every step); recorded via ``loss = ||u||^2``."""
    zeros = lambda x: np.zeros_like(x)  # noqa: E731
    p = from_gradient_fn(zeros, zeros, 8, 3, loss=lambda u: np.sum(u * u, axis=-1), noise=SIGMA,
                         constants=dict(L=1.0, eps=0.0, eps_levels=(0.0, 0.0, 0.0), f_star=0.0, levels=LEVELS,
                                        kind="exact"))
    h = E.Hierarchy.multi_level(8, PERIODS, [3, 2], grouping=LEVELS)
    r = E.simulate(p, h, lr=LR, steps=2 * PERIODS[-1], seeds=SEEDS, seed=12, weights=WEIGHTS, participation=1,
                   participation_mode="local_round", record_every=1)
    omega = float(participation_shares(WEIGHTS, LEVELS, 8, 1).omega)
    t = np.arange(2 * PERIODS[-1])
    assert np.all(np.abs(_z(r.loss, LR ** 2 * t * SIGMA ** 2 * omega)[1:]) < 4.5)
    full_omega = float(np.sum((WEIGHTS / WEIGHTS.sum()) ** 2))  # the wrong one: everyone's
    assert np.max(np.abs(_z(r.loss, LR ** 2 * t * SIGMA ** 2 * full_omega))) > 8
