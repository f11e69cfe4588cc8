"""The optional numba path of Bound.lambdify (bounds.compiled.accelerated) agrees with the
numpy path to 1e-12 relative and raises the same errors; without numba the numpy path runs.

Every test runs with or without numba installed: the generated scalar kernel is also run as
plain Python (it is ordinary Python source), and where numba is importable the compiled
kernel is compared with the numpy path, the tests asserting which path ran.
"""

import importlib.util
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bounds
from bounds import compiled
from bounds.bound import VectorizedBound
from bounds.compiled import accelerated, fused, kernel_source, numba_available, use_engine
from bounds.validation import BlockDomainCheck, check_domain
from tests.bounds.test_vectorized import BAD, FAMILIES, GOOD, STRUCTURAL, valid_arrays

NUMBA = importlib.util.find_spec("numba") is not None and os.environ.get("HSGD_NUMBA", "1") != "0"
NUMBA_FAMILIES = ["two_level", "multi_level_symbolic", "random_grouping"]  # each compiles once


@pytest.fixture
def small(monkeypatch, tmp_path_factory):
    """No small-array shortcut (so a few hundred points reach the block and numba paths), and
    numba's generated kernels in a temporary cache directory."""
    monkeypatch.setattr(VectorizedBound, "SMALL", 8)
    monkeypatch.setattr(VectorizedBound, "BLOCK", 64)
    monkeypatch.setenv("HSGD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "hsgd-cache"))


def _outcome(fn):
    """The values, or the error message."""
    try:
        return fn()
    except ValueError as err:
        return str(err)


def _python_kernel(bound, scalar):
    """The generated kernel of the numba path, run by the Python interpreter."""
    ev = fused(bound.symbols, bound.expr)
    conditions = BlockDomainCheck(bound, bound.expr).point_conditions([f"x{i}" for i in range(len(bound.symbols))])
    namespace = {}
    exec(kernel_source(ev, scalar, conditions), namespace)
    return namespace["_kernel"]


def test_numba_is_used_exactly_when_importable():
    assert numba_available() is NUMBA
    bound = bounds.two_level()
    scalar = [False] * len(bound.symbols)
    with use_engine("numpy"):
        assert accelerated(bound, bound.expr, scalar, 10**8) is None
    assert accelerated(bound, bound.expr, scalar, compiled.ACCELERATE_MIN_POINTS - 1) is None  # auto, small
    for engine in ("auto", "numba"):
        with use_engine(engine):
            kernel = accelerated(bound, bound.expr, scalar, 10**8)
            assert (kernel is not None) is NUMBA
    with pytest.raises(ValueError, match="engine must be one of auto, numpy, numba"):
        with use_engine("cuda"):
            pass
    assert compiled.current_engine() == "auto"


@pytest.mark.parametrize("family", list(FAMILIES))
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 50), scalar=st.integers(0, 8))
def test_generated_kernel_as_python_agrees_with_numpy(family, seed, size, scalar):
    """The scalar source numba compiles, interpreted: same values as the fused numpy
    evaluator, and its domain flag true on valid points."""
    bound = FAMILIES[family]()
    values = valid_arrays(bound, size, np.random.default_rng(seed))
    keys = [k for k in values if k not in STRUCTURAL and not isinstance(values[k], list)]
    if scalar < len(keys):
        values[keys[scalar]] = float(values[keys[scalar]][0])
    arrays = bound.values_to_arrays(values)
    args = [arrays[sym] for sym in bound.symbols]
    flags = [a.ndim == 0 for a in args]
    out = np.empty(size)
    good, finite = _python_kernel(bound, flags)(*[float(a) if f else a for a, f in zip(args, flags)], out, True)
    assert good and finite
    np.testing.assert_allclose(out, bound.lambdify()(**values), rtol=1e-12, atol=0)


@pytest.mark.parametrize("name, bad", BAD)
def test_generated_domain_test_fails_where_check_domain_does(name, bad):
    """Every bad value of tests/bounds/test_vectorized.py's list makes the point test (or
    the finiteness of the value) fail, and a good point passes."""
    bound = bounds.two_level()
    kernel = _python_kernel(bound, [False] * len(bound.symbols))
    values = {k: np.full(3, v) for k, v in GOOD.items()}
    out = np.empty(3)
    assert kernel(*(values[sym.name] for sym in bound.symbols), out, True) == (True, True)
    values[name][1] = bad
    with pytest.raises(ValueError):
        check_domain(bound, bound.values_to_arrays(values))
    with np.errstate(all="ignore"):
        good, finite = kernel(*(values[sym.name] for sym in bound.symbols), out, True)
        assert not (good and finite)
        assert kernel(*(values[sym.name] for sym in bound.symbols), out, False)[0]  # unchecked: no test


def _perturb(values, rng, kind):
    """Break one entry of one parameter (kind 0: keep the values valid)."""
    if kind == 0:
        return values
    names = [k for k, v in values.items() if not isinstance(v, list)]
    name = names[int(rng.integers(len(names)))]
    arr = np.atleast_1d(np.array(values[name], dtype=float))
    i = int(rng.integers(arr.size))
    arr[i] = [np.nan, np.inf, -np.inf, -1.0, 0.0, arr[i] + 0.5, arr[i] * 3 + 1, 1e300][kind - 1]
    return {**values, name: arr}


@pytest.mark.parametrize("family", NUMBA_FAMILIES)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(9, 300), kind=st.integers(0, 8), scalar=st.booleans())
def test_numba_path_agrees_with_numpy_path(small, family, seed, size, kind, scalar):
    """Forced onto the numba engine: with numba, the compiled kernel ran (its call count
    grew) and its values agree with numpy's to 1e-12 relative, and an invalid input gives
    the same message; without numba the same call ran the numpy path (no kernel)."""
    bound = FAMILIES[family]()
    rng = np.random.default_rng(seed)
    values = valid_arrays(bound, size, rng)
    if scalar:
        values["F0"] = float(values["F0"][0])
    values = _perturb(values, rng, kind)
    for validate in (True, False):
        f = bound.lambdify(validate=validate)
        with use_engine("numpy"), np.errstate(all="ignore"):  # unchecked: a 0 may divide
            want = _outcome(lambda: f(**values))
        arrays = bound.values_to_arrays(values)
        flags = [arrays[sym].size == 1 for sym in bound.symbols]
        with use_engine("numba"):
            kernel = accelerated(bound, bound.expr, flags, size)
            calls = kernel.calls if kernel is not None else 0
            with np.errstate(all="ignore"):
                got = _outcome(lambda: f(**values))
        assert (kernel is not None) is NUMBA
        if NUMBA:
            assert kernel.calls == calls + 1, "the numba kernel did not run"
        if isinstance(want, str) or isinstance(got, str):
            assert got == want
        else:
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, equal_nan=True)


def test_numba_path_error_index_is_global(small):
    """A bad entry deep in the arrays is reported with its index by either path."""
    bound = bounds.two_level()
    values = {k: np.full(5000, v) for k, v in GOOD.items()}
    values["G"][4321] = 47.0
    messages = []
    for engine in ("numpy", "numba"):
        with use_engine(engine):
            messages.append(_outcome(lambda: bound.lambdify()(**values)))
    assert messages[0] == messages[1] and "at index 4321" in messages[0]


def test_cache_dir_unwritable_falls_back_to_memory(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("HSGD_CACHE_DIR", str(blocker))
    assert compiled.cache_dir() is None
    module = compiled._load_source("def _kernel():\n    return 7\n")
    assert module._kernel() == 7 and not hasattr(module, "__file__")
    monkeypatch.setenv("HSGD_CACHE_DIR", str(tmp_path / "ok"))
    assert compiled.cache_dir() == str(tmp_path / "ok" / "numba")


def test_untranslatable_rule_has_no_kernel():
    """A period given as an expression (2*P) has no scalar rule: numpy runs."""
    import sympy as sp

    P = sp.Symbol("P", positive=True, integer=True)
    bound = bounds.multi_level([P, 2 * P], [sp.Symbol("K", positive=True, integer=True)])
    check = BlockDomainCheck(bound, bound.expr)
    assert check.point_conditions([f"x{i}" for i in range(len(check.symbols))]) is None
    with use_engine("numba"):
        assert accelerated(bound, bound.expr, [False] * len(bound.symbols), 10**6) is None
