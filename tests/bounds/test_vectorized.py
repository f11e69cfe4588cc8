"""The block evaluator of Bound.lambdify (fused out= evaluator plus block domain checks)
agrees with sympy.lambdify of bound.expr and raises exactly the errors of check_domain."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bounds
from bounds.bound import VectorizedBound
from bounds.compiled import fused
from bounds.theorems import THEOREM_S
from bounds.validation import BlockDomainCheck, check_domain

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


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 64 points (and no small-array shortcut) so a few hundred points cross
    several blocks and end on a partial one."""
    monkeypatch.setattr(VectorizedBound, "BLOCK", 64)
    monkeypatch.setattr(VectorizedBound, "SMALL", 8)


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
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 400), scalar=st.integers(0, 8))
def test_block_evaluator_agrees_with_sympy_lambdify(small_blocks, family, seed, size, scalar):
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


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_family_is_fused_not_the_fallback(family):
    bound = FAMILIES[family]()
    assert fused(bound.symbols, bound.expr) is not None


def test_fused_evaluator_nodes_agree_with_lambdify():
    x, y = sp.symbols("x y", positive=True)
    rng = np.random.default_rng(1)
    xs, ys = rng.uniform(0.1, 3, 100), rng.uniform(0.1, 3, 100)
    for expr in (-x - y, 1 - x * y, 3 * (x - 1), x ** 3 / y ** 2, sp.sqrt(x) + 1 / sp.sqrt(y),
                 sp.Max(0, x - 2) * sp.Min(x, y), sp.exp(-x) * sp.log(y), x ** sp.Rational(3, 2),
                 2 * x ** 2 * y ** 2 / 3, x, sp.Integer(4)):
        ev = fused((x, y), expr)
        out = np.empty(100)
        ev.fn([xs, ys], [np.empty(100) for _ in range(ev.buffers)], out)
        want = np.broadcast_to(sp.lambdify((x, y), expr)(xs, ys), (100,))
        np.testing.assert_allclose(out, want, rtol=1e-14, err_msg=str(expr))


def test_an_untranslated_node_falls_back_to_sympy(small_blocks):
    x = sp.Symbol("x")
    assert fused((x,), sp.erf(x)) is None  # erf is not translated
    bound = bounds.local_sgd()
    vb = VectorizedBound(bound)
    vb._fused = None  # the per-block sympy function instead
    values = valid_arrays(bound, 300, np.random.default_rng(3))
    np.testing.assert_allclose(vb(**values), reference(bound, values), rtol=1e-12)


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
@pytest.mark.parametrize("where", [0, VectorizedBound.BLOCK - 1, VectorizedBound.BLOCK, 19_999])
def test_domain_errors_are_those_of_check_domain(name, bad, where):
    values = {k: np.full(20_000, v) for k, v in GOOD.items()}
    values[name][where] = bad
    bound = bounds.two_level()
    expected = _message(lambda: check_domain(bound, bound.values_to_arrays(values)))
    assert f"at index {where}" in expected
    assert _message(lambda: bound.lambdify()(**values)) == expected
    assert _message(lambda: bound.lambdify(outside_condition="nan")(**values)) == expected
    assert _message(lambda: bound.condition_mask(**values)) == expected


def test_random_grouping_rules_in_blocks():
    bound = bounds.random_grouping(bounds.two_level())
    good = {k: v for k, v in GOOD.items() if not k.startswith("eps")} | {"eps": 1.0}
    for name, bad, pattern in (("N", 5.0, "n must be a multiple of N"), ("n", 1.0, "groups cannot grow")):
        values = {k: np.full(3000, v) for k, v in good.items()}
        values[name][2500] = bad
        if name == "n":
            values["N"][2500] = 1.0
            values["n"][2500] = 1.0
            pattern = "n must be at least 2"
        with pytest.raises(ValueError, match=pattern):
            bound.lambdify()(**values)


SPECIAL = st.sampled_from([3.0, 7.0, 0.5, 2.5, 0.0, -1.0, -2.0, np.inf, -np.inf, np.nan, 1e300])


VALID_POINTS = [
    (bounds.two_level, GOOD),
    (lambda: bounds.random_grouping(bounds.two_level()),
     {k: v for k, v in GOOD.items() if not k.startswith("eps")} | {"eps": 1.0}),
    (lambda: bounds.multi_level([P1, P2], [K1]),
     dict(gamma=1e-3, L=1.0, sigma=1.0, n=16.0, T=100.0, F0=1.0, P1=2.0, P2=6.0, K1=4.0, eps_1=1.0, eps_2=0.5)),
]


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_block_check_passes_only_where_check_domain_does(data):
    """Soundness of the fast test: when it passes and the block's values are finite,
    check_domain passes too (the output's finiteness stands in for some maxima)."""
    build, point = data.draw(st.sampled_from(VALID_POINTS))
    bound = build()
    check = BlockDomainCheck(bound, bound.expr)
    size = 3
    scalar = [data.draw(st.booleans()) for _ in bound.symbols]
    columns = [np.full(size, point[sym.name]) for sym in bound.symbols]
    for _ in range(data.draw(st.integers(1, 2))):
        i = data.draw(st.integers(0, len(columns) - 1))
        columns[i][data.draw(st.integers(0, size - 1))] = data.draw(SPECIAL)
    block = [np.asarray(c[0]) if is_scalar else c for c, is_scalar in zip(columns, scalar)]
    ok = check.compile_for(scalar)
    with np.errstate(all="ignore"):
        passed = ok(block, np.empty(size), np.empty(size), np.empty(size, dtype=bool))
        value = sp.lambdify(bound.symbols, bound.expr)(*block)
    arrays = {sym: np.asarray(b) for sym, b in zip(bound.symbols, block)}
    if passed and np.all(np.isfinite(value)):
        check_domain(bound, arrays)  # must not raise


SPECIAL_VALUES = [3.0, 7.0, 0.5, 2.5, 0.0, -1.0, -2.0, np.inf, -np.inf, np.nan, 1e300]


@pytest.mark.parametrize("case", range(len(VALID_POINTS)))
def test_block_check_with_one_bad_entry_passes_only_where_check_domain_does(case):
    """Every parameter, every special value, as an array or a scalar (exhaustive)."""
    build, point = VALID_POINTS[case]
    bound = build()
    check = BlockDomainCheck(bound, bound.expr)
    fn = sp.lambdify(bound.symbols, bound.expr)
    scratch = (np.empty(3), np.empty(3), np.empty(3, dtype=bool))
    rejected = 0
    for i in range(len(bound.symbols)):
        for bad in SPECIAL_VALUES:
            for as_scalar in (False, True):
                scalar = [j == i and as_scalar for j in range(len(bound.symbols))]
                block = [np.full(3, point[sym.name]) for sym in bound.symbols]
                block[i][1 if not as_scalar else 0] = bad
                block = [np.asarray(b[0]) if flag else b for b, flag in zip(block, scalar)]
                with np.errstate(all="ignore"):
                    passed = check.compile_for(scalar)(block, *scratch)
                    value = fn(*block)
                arrays = {sym: np.asarray(b) for sym, b in zip(bound.symbols, block)}
                if passed and np.all(np.isfinite(value)):
                    check_domain(bound, arrays)  # must not raise
                else:
                    rejected += 1
    assert rejected > 3 * len(bound.symbols)  # the non-finite values at least


def test_block_check_rejects_what_it_must():
    bound = bounds.two_level()
    ok = BlockDomainCheck(bound, bound.expr).compile_for([False] * 11)
    block = [np.full(4, GOOD[sym.name]) for sym in bound.symbols]
    scratch = (np.empty(4), np.empty(4), np.empty(4, dtype=bool))
    assert ok(block, *scratch)
    for i, sym in enumerate(bound.symbols):
        for bad in (np.nan, -1.0):
            broken = [b.copy() for b in block]
            broken[i][2] = bad
            assert not ok(broken, *scratch), (sym, bad)


def test_outside_condition_modes_in_blocks(small_blocks):
    bound = bounds.local_sgd()
    gamma = np.linspace(0.01, 0.6, 500)
    values = dict(gamma=gamma, L=1, sigma=1, n=8, T=100, F0=1, P=3, eps=0.5)
    mask = bound.condition_mask(**values)
    assert mask.any() and not mask.all()
    plain = bound.lambdify()(**values)
    masked = bound.lambdify(outside_condition="nan")(**values)
    np.testing.assert_array_equal(np.isnan(masked), ~mask)
    np.testing.assert_allclose(masked[mask], plain[mask], rtol=0)
    with pytest.raises(ValueError, match="step-size condition violated at flat index"):
        bound.lambdify(outside_condition="raise")(**values)


def test_overflow_is_still_reported_in_blocks(small_blocks):
    sigma = np.ones(300)
    sigma[250] = 1e200
    with pytest.raises(ValueError, match="not finite .* at flat index 250"):
        bounds.local_sgd().lambdify()(gamma=1e-3, L=1, sigma=sigma, n=8, T=10, F0=1, P=2, eps=1)
    out = bounds.local_sgd().lambdify(validate=False)(gamma=1e-3, L=1, sigma=sigma, n=8, T=10, F0=1, P=2, eps=1)
    assert np.isinf(out[250]) and np.isfinite(np.delete(out, 250)).all()


def test_broadcast_shapes_in_blocks(small_blocks):
    bound = bounds.two_level()
    gamma = np.linspace(1e-4, 1e-3, 30)[:, None]
    G = np.array([5.0, 10.0, 50.0, 100.0])[None, :]
    values = {**GOOD, "gamma": gamma, "G": G}
    got = bound.lambdify()(**values)
    assert got.shape == (30, 4)
    np.testing.assert_allclose(got, reference(bound, values), rtol=1e-12)


def test_blocks_with_own_scratch_match_one_pass_with_callers_scratch():
    """The blocked numpy path (the evaluator's per-thread staggered scratch, the last block
    shorter) gives bit for bit the values of the same operations run once over the whole
    arrays with scratch the caller passes, and the checked path passes valid points."""
    from bounds.bench import parameter_arrays
    from bounds.compiled import block_scratch, use_engine

    bound = bounds.two_level()
    size = 3 * VectorizedBound.BLOCK + 17
    values = parameter_arrays(size, seed=5)
    arrays = bound.values_to_arrays(values)
    ev = fused(bound.symbols, bound.expr)
    assert ev.buffers == 0 and ev.scratch_buffers > 0
    reference = np.empty(size)
    with np.errstate(all="ignore"):
        ev.fn([arrays[s] for s in bound.symbols], [np.empty(size) for _ in range(ev.scratch_buffers)], reference)
    with use_engine("numpy"):
        assert np.array_equal(bound.lambdify()(**values), reference)
        assert np.array_equal(bound.lambdify(validate=False)(**values), reference)
    starts = {a.ctypes.data % 4096 for a in block_scratch(ev.scratch_buffers, VectorizedBound.BLOCK)}
    assert len(starts) == ev.scratch_buffers


@pytest.mark.parametrize("name, bad, message", [
    ("G", 4.0, "G must be a multiple of I"), ("I", 0.0, "I must be positive"), ("T", np.inf, "T must be finite"),
    ("N", 9.0, "N must be at most n"), ("sigma", -0.5, "sigma must be non-negative"), ("n", 8.5, "n must be an integer"),
])
def test_bad_point_in_the_last_block_of_a_large_array(name, bad, message):
    """One bad point in the shorter last block of a large array is still caught, with
    check_domain's message and index."""
    from bounds.bench import parameter_arrays
    from bounds.compiled import use_engine

    bound = bounds.two_level()
    size = 5 * VectorizedBound.BLOCK + 100
    values = parameter_arrays(size, seed=7)
    where = size - 3
    values["I"][where], values["G"][where], values["N"][where], values["n"][where] = 3.0, 6.0, 2.0, 8.0
    values[name][where] = bad
    expected = _message(lambda: check_domain(bound, bound.values_to_arrays(values)))
    assert message in expected and f"index {where}" in expected
    with use_engine("numpy"):
        assert _message(lambda: bound.lambdify()(**values)) == expected
