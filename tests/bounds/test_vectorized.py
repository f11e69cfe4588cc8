"""Bound.lambdify (sympy.lambdify of bound.expr plus check_domain on the whole arrays)
agrees with Bound.evaluate and sympy.lambdify, and raises exactly the errors of check_domain."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import bounds
from bounds.bench import parameter_arrays
from bounds.theorems import THEOREM_S
from bounds.validation import check_domain

P1, P2, P3 = sp.symbols("P1 P2 P3", positive=True, integer=True)
K1, K2 = sp.symbols("K1 K2", positive=True, integer=True)

FAMILIES = {
    "two_level": bounds.two_level,
    "multi_level_symbolic": lambda: bounds.multi_level([P1, P2, P3], [K1, K2]),
    "multi_level_numeric": lambda: bounds.multi_level([2, 6, 24], [8, 2]),
    "local_sgd": bounds.local_sgd,
    "random_grouping": lambda: bounds.random_grouping(bounds.two_level()),
    "theorem_s": lambda: bounds.two_level().under(THEOREM_S),
}


def valid_arrays(bound, size, rng):
    """``size`` random points of the bound's domain (step size inside the condition)."""
    names = {sym.name for sym in bound.symbols}
    out = {}
    per = {}
    n = rng.integers(1, 6, size) * rng.integers(2, 5, size) * 4.0  # multiple of 8 and of 4
    if "P1" in names:
        per["P1"] = rng.integers(1, 4, size).astype(float)
        per["P2"] = per["P1"] * rng.integers(1, 4, size)
        per["P3"] = per["P2"] * rng.integers(1, 4, size)
        per["K1"] = np.minimum(n, rng.integers(1, 9, size)).astype(float)
        per["K2"] = np.minimum(per["K1"], rng.integers(1, 9, size)).astype(float)
    if "I" in names:
        per["I"] = rng.integers(1, 6, size).astype(float)
        per["G"] = per["I"] * rng.integers(1, 5, size)
        per["N"] = np.array([rng.choice([1, 2, 4]) for _ in range(size)], dtype=float)
    if "P" in names:
        per["P"] = rng.integers(1, 10, size).astype(float)
    for sym in bound.symbols:
        name = sym.name
        if name in per:
            out[name] = per[name]
        elif name == "n":
            out[name] = n
        elif name == "T":
            out[name] = rng.integers(1, 1000, size).astype(float)
        elif name == "gamma":
            out[name] = rng.uniform(1e-5, 1e-3, size)
        elif name.startswith(("alpha", "beta")):
            out[name] = rng.uniform(0.1, 10.0, size)
        else:
            out[name] = rng.uniform(0.0, 3.0, size)
    values = {}
    for key, spec in bound.parameters.items():
        if isinstance(spec, tuple):
            values[key] = [out[sym.name] for sym in spec]
        else:
            values[key] = out[spec.name]
    return values


STRUCTURAL = {"n", "N", "I", "G", "P", "P1", "P2", "P3", "K1", "K2"}


def reference(bound, values):
    arrays = bound.values_to_arrays(values)
    fn = sp.lambdify(bound.symbols, bound.expr, modules="numpy")
    shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    return np.broadcast_to(fn(*(arrays[sym] for sym in bound.symbols)), shape)


@pytest.mark.parametrize("family", list(FAMILIES))
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 400), scalar=st.integers(0, 8))
def test_lambdify_agrees_with_sympy_lambdify(family, seed, size, scalar):
    bound = FAMILIES[family]()
    values = valid_arrays(bound, size, np.random.default_rng(seed))
    keys = [k for k in values if k not in STRUCTURAL and not isinstance(values[k], list)]
    if scalar < len(keys):
        values[keys[scalar]] = float(values[keys[scalar]][0])  # one parameter as a scalar
    expected = reference(bound, values)
    for f in (bound.lambdify(), bound.lambdify(validate=False)):
        got = f(**values)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


def _point(values, i):
    return {k: [float(x[i]) for x in v] if isinstance(v, list) else float(v[i]) for k, v in values.items()}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_lambdify_equals_evaluate_at_every_point(family):
    """The array function and the scalar evaluate give the same number at each point."""
    bound = FAMILIES[family]()
    values = valid_arrays(bound, 40, np.random.default_rng(11))
    got = bound.lambdify()(**values)
    want = [bound.evaluate(strict=False, **_point(values, i)) for i in range(40)]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


GOOD = dict(gamma=1e-3, L=1.0, sigma=1.0, n=32.0, T=1000.0, F0=10.0, N=4.0, I=5.0, G=50.0, eps_g=0.5, eps_l=1.0)
BAD = [
    ("G", 47.0), ("G", 47.5), ("I", 2.5), ("I", 0.0), ("N", 40.0), ("N", 0.0), ("N", 1.5), ("n", 3.5),
    ("n", np.inf), ("n", np.nan), ("T", 0.0), ("T", 7.5), ("T", np.inf), ("gamma", 0.0), ("gamma", np.inf),
    ("gamma", -np.inf), ("L", np.nan), ("sigma", -0.1), ("sigma", np.inf), ("F0", np.inf), ("F0", -1.0),
    ("eps_g", np.nan), ("eps_l", np.inf), ("eps_l", -np.inf), ("G", np.inf), ("I", np.inf),
]


def _message(fn):
    with pytest.raises(ValueError) as err:
        fn()
    return str(err.value)


@pytest.mark.parametrize("name, bad", BAD)
@pytest.mark.parametrize("where", [0, 1, 9_999, 19_999])
def test_domain_errors_are_those_of_check_domain(name, bad, where):
    values = {k: np.full(20_000, v) for k, v in GOOD.items()}
    values[name][where] = bad
    bound = bounds.two_level()
    expected = _message(lambda: check_domain(bound, bound.values_to_arrays(values)))
    assert f"at index {where}" in expected and name in expected
    assert _message(lambda: bound.lambdify()(**values)) == expected
    assert _message(lambda: bound.lambdify(outside_condition="nan")(**values)) == expected
    assert _message(lambda: bound.lambdify(outside_condition="raise")(**values)) == expected
    assert _message(lambda: bound.condition_mask(**values)) == expected


@pytest.mark.parametrize("name, bad", BAD)
def test_scalar_domain_errors_are_those_of_check_domain(name, bad):
    values = dict(GOOD, **{name: bad})
    bound = bounds.two_level()
    expected = _message(lambda: check_domain(bound, bound.values_to_arrays(values)))
    assert name in expected and "index" not in expected
    assert _message(lambda: bound.lambdify()(**values)) == expected
    assert _message(lambda: bound.evaluate(**values)) == expected


def test_random_grouping_rules():
    bound = bounds.random_grouping(bounds.two_level())
    good = {k: v for k, v in GOOD.items() if not k.startswith("eps")} | {"eps": 1.0}
    for name, bad, pattern in (("N", 5.0, "n must be a multiple of N"), ("n", 1.0, "groups cannot grow")):
        values = {k: np.full(3000, v) for k, v in good.items()}
        values[name][2500] = bad
        if name == "n":
            values["N"][2500] = 1.0
            values["n"][2500] = 1.0
            pattern = "n must be at least 2"
        with pytest.raises(ValueError, match=pattern + ".*index 2500"):
            bound.lambdify()(**values)


VALID_POINTS = [
    (bounds.two_level, GOOD),
    (lambda: bounds.random_grouping(bounds.two_level()),
     {k: v for k, v in GOOD.items() if not k.startswith("eps")} | {"eps": 1.0}),
    (lambda: bounds.multi_level([P1, P2], [K1]),
     dict(gamma=1e-3, L=1.0, sigma=1.0, n=16.0, T=100.0, F0=1.0, P1=2.0, P2=6.0, K1=4.0, eps_1=1.0, eps_2=0.5)),
]
SPECIAL_VALUES = [3.0, 7.0, 0.5, 2.5, 0.0, -1.0, -2.0, np.inf, -np.inf, np.nan, 1e300]


@pytest.mark.parametrize("case", range(len(VALID_POINTS)))
def test_one_special_entry_is_refused_exactly_where_check_domain_refuses_it(case):
    """Every parameter, every special value, as an array entry or a scalar (exhaustive):
    lambdify raises check_domain's error where it refuses the point, else returns
    check_domain-valid values, finite or refused as not finite."""
    build, point = VALID_POINTS[case]
    bound = build()
    f = bound.lambdify()
    rejected = 0
    for i, sym in enumerate(bound.symbols):
        for bad in SPECIAL_VALUES:
            for as_scalar in (False, True):
                values = {s.name: np.full(3, point[s.name]) for s in bound.symbols}
                if as_scalar:
                    values[sym.name] = bad
                else:
                    values[sym.name][1] = bad
                values = {k: (list(values[s.name] for s in spec) if isinstance(spec, tuple) else values[spec.name])
                          for k, spec in bound.parameters.items()}
                try:
                    check_domain(bound, bound.values_to_arrays(values))
                except ValueError as err:
                    rejected += 1
                    assert _message(lambda: f(**values)) == str(err)
                    continue
                try:
                    out = f(**values)
                except ValueError as err:
                    assert "not finite" in str(err)
                    continue
                assert np.isfinite(out).all()
    assert rejected > 3 * len(bound.symbols)  # the non-finite values at least


def test_outside_condition_modes():
    bound = bounds.local_sgd()
    gamma = np.linspace(0.01, 0.6, 500)
    values = dict(gamma=gamma, L=1, sigma=1, n=8, T=100, F0=1, P=3, eps=0.5)
    mask = bound.condition_mask(**values)
    assert mask.any() and not mask.all()
    plain = bound.lambdify()(**values)
    masked = bound.lambdify(outside_condition="nan")(**values)
    np.testing.assert_array_equal(np.isnan(masked), ~mask)
    np.testing.assert_array_equal(masked[mask], plain[mask])
    first = int(np.flatnonzero(~mask)[0])
    with pytest.raises(ValueError, match=f"step-size condition violated at flat index {first}: "
                                         f".* \\({int((~mask).sum())} of 500 points fail"):
        bound.lambdify(outside_condition="raise")(**values)
    with pytest.raises(ValueError, match="outside_condition must be one of evaluate, nan, raise, got 'drop'"):
        bound.lambdify(outside_condition="drop")


def test_overflow_is_reported_with_its_flat_index():
    sigma = np.ones(300)
    sigma[250] = 1e200
    with pytest.raises(ValueError, match=r"not finite \(inf\) at flat index 250: float64 overflows"):
        bounds.local_sgd().lambdify()(gamma=1e-3, L=1, sigma=sigma, n=8, T=10, F0=1, P=2, eps=1)
    out = bounds.local_sgd().lambdify(validate=False)(gamma=1e-3, L=1, sigma=sigma, n=8, T=10, F0=1, P=2, eps=1)
    assert np.isinf(out[250]) and np.isfinite(np.delete(out, 250)).all()


def test_overflow_where_the_condition_fails_is_masked_not_reported():
    gamma = np.array([1e-3, 0.9])  # the second breaks 4 gamma^2 L^2 P(P-1) <= 1
    sigma = np.array([1.0, 1e200])
    values = dict(gamma=gamma, L=1, sigma=sigma, n=8, T=10, F0=1, P=2, eps=1)
    out = bounds.local_sgd().lambdify(outside_condition="nan")(**values)
    assert np.isfinite(out[0]) and np.isnan(out[1])
    with pytest.raises(ValueError, match="not finite .* at flat index 1"):
        bounds.local_sgd().lambdify()(**values)


def test_broadcast_shapes():
    bound = bounds.two_level()
    gamma = np.linspace(1e-4, 1e-3, 30)[:, None]
    G = np.array([5.0, 10.0, 50.0, 100.0])[None, :]
    values = {**GOOD, "gamma": gamma, "G": G}
    got = bound.lambdify()(**values)
    assert got.shape == (30, 4)
    np.testing.assert_allclose(got, reference(bound, values), rtol=1e-12)


def test_the_result_is_a_new_array_the_caller_owns():
    """Scalars give a 0-d array; masking NaN in never writes to an input."""
    out = bounds.local_sgd().lambdify()(gamma=1e-3, L=1, sigma=1, n=8, T=10, F0=1, P=2, eps=1)
    assert out.shape == () and out.flags.writeable
    gamma = np.array([1e-3, 0.9])
    kept = gamma.copy()
    masked = bounds.local_sgd().lambdify(outside_condition="nan")(gamma=gamma, L=1, sigma=1, n=8, T=10, F0=1, P=2, eps=1)
    assert np.isnan(masked[1]) and np.array_equal(gamma, kept)


@pytest.mark.parametrize("name, bad, message", [
    ("G", 4.0, "G must be a multiple of I"), ("I", 0.0, "I must be positive"), ("T", np.inf, "T must be finite"),
    ("N", 9.0, "N must be at most n"), ("sigma", -0.5, "sigma must be non-negative"), ("n", 8.5, "n must be an integer"),
])
def test_bad_point_near_the_end_of_a_large_array(name, bad, message):
    """One bad point among 10^5 valid ones is caught, with check_domain's message and index."""
    bound = bounds.two_level()
    size = 100_000
    values = parameter_arrays(size, seed=7)
    where = size - 3
    values["I"][where], values["G"][where], values["N"][where], values["n"][where] = 3.0, 6.0, 2.0, 8.0
    values[name][where] = bad
    expected = _message(lambda: check_domain(bound, bound.values_to_arrays(values)))
    assert message in expected and f"index {where}" in expected
    assert _message(lambda: bound.lambdify()(**values)) == expected
