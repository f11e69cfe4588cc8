"""The confidence intervals use scipy.special.stdtrit (to keep scipy.stats out of `hsgd check`'s
imports): the quantile must be scipy.stats' own, bit for bit."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from empirical.statistics import confidence_band, confidence_interval


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=300), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_the_interval_is_the_student_t_one(samples, level):
    x = np.asarray(samples)
    mean, lo, hi = confidence_interval(x, level)
    half = stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    assert (lo, hi) == (mean - half, mean + half)
    band_mean, band_lo, band_hi = confidence_band(x[:, None], level)
    assert band_lo[0] == lo and band_hi[0] == hi


def test_a_wrong_quantile_would_be_caught():
    x = np.array([1.0, 2.0, 4.0])
    _, lo, _ = confidence_interval(x)
    normal_half = stats.norm.ppf(0.975) * x.std(ddof=1) / np.sqrt(3)
    assert lo != x.mean() - normal_half  # the t quantile, not the normal one
