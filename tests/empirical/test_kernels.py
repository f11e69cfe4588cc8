"""The optional compiled step (empirical/kernels.py) gives the numpy step's numbers bit for bit.

With numba installed (the ``fast`` extra) the ``numba`` side runs the compiled loop and every
comparison below is kernel against numpy; without it the ``numba`` side falls back to numpy
and the tests assert that it did (no skipped tests either way).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import empirical as E
import empirical.kernels as K
import empirical.problems as P
from empirical.streams import SeedStreams
from tests.empirical.test_engine_speed_invariants import CASES, PINNED, digest, run

HAVE_NUMBA = K.numba_available()


def counts():
    return K.STATS["numba"], K.STATS["numpy"]


def ran(before, path):
    """Whether every call since ``before`` took ``path`` (and at least one call was made)."""
    numba, numpy = K.STATS["numba"] - before[0], K.STATS["numpy"] - before[1]
    return (numba > 0 and numpy == 0) if path == "numba" else (numpy > 0 and numba == 0)


def bits(a):
    return np.ascontiguousarray(a).view(np.int64)


@pytest.mark.parametrize("name", ["two_level_rec1", "three_level_rec7", "unequal_groups_rec1", "many_blocks_rec3"])
def test_simulation_with_and_without_the_kernel_is_bit_identical(name):
    before = counts()
    with K.use_kernel("numpy"):
        plain = run(CASES[name])
    assert ran(before, "numpy")
    before = counts()
    with K.use_kernel("numba"):
        compiled = run(CASES[name])
    assert ran(before, "numba" if HAVE_NUMBA else "numpy")
    for field in ("steps", "grad_norm_sq", "loss", "divergence"):
        assert np.array_equal(getattr(plain, field), getattr(compiled, field))
    assert digest(compiled) == digest(plain) == PINNED[name]["sha256"]


finite = st.floats(-1e6, 1e6, allow_nan=False)
special = st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 1e300, -1e300, np.inf, -np.inf, np.nan, 1e154, -1e154])


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 9), d=st.integers(1, 7), seeds=st.integers(1, 3), two_d=st.booleans(),
       sigma=st.sampled_from([0.0, 0.7]), lr=st.sampled_from([None, 0.03, 1.0, 7.5]),
       a=st.sampled_from([0.0, 1.0, 2.5]), lam=st.sampled_from([0.0, 3.3, 4.0, 1e300]),
       block=st.sampled_from([1, 7, 1 << 16]), plain_rng=st.booleans(), data=st.data())
def test_one_step_is_bit_identical_on_any_input(n, d, seeds, two_d, sigma, lr, a, lam, block, plain_rng, data):
    if a == 0 and lam == 0:
        lam = 4.0
    p = E.HeterogeneousNonconvex(n=n, d=d, clusters=min(2, n), a=a, lam=lam, sigma=sigma, seed=3)
    shape = (n, d) if two_d else (seeds, n, d)
    values = data.draw(st.lists(st.one_of(finite, special), min_size=n * d * seeds, max_size=n * d * seeds))
    x0 = np.array(values[:int(np.prod(shape))]).reshape(shape)
    results = {}
    old_block = P._BLOCK
    P._BLOCK = block  # several cache blocks on small arrays
    try:
        for mode in ("numpy", "numba"):
            rng = np.random.default_rng(5) if plain_rng or two_d else SeedStreams(5, seeds)
            x, out = x0.copy(), np.full(shape, 123.0)
            before = counts()
            with K.use_kernel(mode), np.errstate(all="ignore"):
                p.stochastic_grads(x, rng, out, lr=lr)
            assert ran(before, "numba" if mode == "numba" and HAVE_NUMBA else "numpy")
            results[mode] = (x, out)
    finally:
        P._BLOCK = old_block
    for a_, b_ in zip(results["numpy"], results["numba"]):
        assert np.array_equal(bits(a_), bits(b_))


def test_arrays_the_kernel_cannot_take_go_through_numpy():
    p = E.HeterogeneousNonconvex(n=6, d=4, seed=1)
    base = np.random.default_rng(0).normal(size=(2, 6, 8))
    x_strided = base[:, :, ::2]  # not C-contiguous
    assert not K.kernel_ready(x_strided, np.empty((2, 6, 4)))
    assert not K.kernel_ready(np.zeros((2, 6, 4), dtype=np.float32), np.empty((2, 6, 4)))
    assert K.kernel_ready(np.zeros((2, 6, 4)), np.empty((2, 6, 4)))
    before = counts()
    with K.use_kernel("numba"):
        out = p.stochastic_grads(x_strided, SeedStreams(1, 2), np.empty((2, 6, 4)))
    assert ran(before, "numpy")
    with K.use_kernel("numpy"):
        assert np.array_equal(out, p.stochastic_grads(np.ascontiguousarray(x_strided), SeedStreams(1, 2),
                                                      np.empty((2, 6, 4))))


def test_a_kernel_failing_midway_falls_back_to_numpy_with_the_same_numbers(monkeypatch):
    p = E.HeterogeneousNonconvex(n=12, d=3, seed=2)
    x0 = np.random.default_rng(1).normal(size=(2, 12, 3))
    with K.use_kernel("numpy"):
        x_ref, ref = x0.copy(), np.empty_like(x0)
        p.stochastic_grads(x_ref, SeedStreams(4, 2), ref, lr=0.1)
    calls = []

    def flaky(x, out, z, c, acb, lo, hi, a, two_lam, scale, lr, noisy, fused, store):
        calls.append(lo)
        if len(calls) > 1:
            raise RuntimeError("numba failed")
        for r in range(x.shape[0]):  # the kernel's operations, written out in numpy
            u = x[r, lo:hi] - c[lo:hi]
            s = two_lam / ((u * u + 1.0) * (u * u + 1.0)) + a
            g = (u * s + acb[lo:hi] + z[r] * scale) * lr
            x[r, lo:hi] -= g
            out[r, lo:hi] = g

    monkeypatch.setattr(P, "step_kernel", lambda: flaky)
    monkeypatch.setattr(K, "_STATE", dict(K._STATE))  # mark_broken stays inside this test
    monkeypatch.setattr(P, "_BLOCK", 2 * 4 * 3)  # blocks of 4 workers: three blocks
    x, out = x0.copy(), np.empty_like(x0)
    before = counts()
    p.stochastic_grads(x, SeedStreams(4, 2), out, lr=0.1)
    assert calls == [0, 12] and K._STATE["broken"] and ran(before, "numpy")
    assert np.array_equal(x, x_ref) and np.array_equal(out, ref)


def test_modes_and_switches(monkeypatch):
    with pytest.raises(ValueError, match="mode must be one of auto, numpy, numba, got 'fast'"):
        K.use_kernel("fast").__enter__()
    assert K.current_mode() == "auto"
    with K.use_kernel("numpy"):
        assert K.current_mode() == "numpy" and K.step_kernel() is None and K.record_kernels() is None
    monkeypatch.setattr(K, "_STATE", dict(K._STATE, numba=None))
    monkeypatch.setenv("HSGD_NUMBA", "0")
    assert not K.numba_available()
    with K.use_kernel("numba"):
        assert K.step_kernel() is None and K.record_kernels() is None  # HSGD_NUMBA=0 turns them off


def test_auto_waits_until_the_work_pays_for_numba(monkeypatch):
    monkeypatch.setattr(K, "STATS", dict(K.STATS, numpy_elements=0))
    assert K.current_mode() == "auto" and K.step_kernel() is None  # short runs never import numba
    assert K.record_kernels() is None
    monkeypatch.setitem(K.STATS, "numpy_elements", K.AUTO_MIN_ELEMENTS)
    assert (K.step_kernel() is not None) == HAVE_NUMBA
    assert (K.record_kernels() is not None) == HAVE_NUMBA


def test_cache_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HSGD_CACHE_DIR", str(tmp_path))
    assert K.cache_dir() == str(tmp_path / "numba")
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("HSGD_CACHE_DIR", str(blocker))  # a file where the directory should be
    assert K.cache_dir() is None


def test_bench_reports_which_step_ran():
    from empirical.bench import step_over_floor
    assert step_over_floor(16, 3, 2, repeats=1, seconds=0.001, kernel="numpy")["path"] == "numpy"
    assert step_over_floor(16, 3, 2, repeats=1, seconds=0.001)["path"] == ("numba" if HAVE_NUMBA else "numpy")
    with pytest.raises(ValueError, match="mode must be one of"):
        step_over_floor(16, 3, 2, repeats=1, seconds=0.001, kernel="cuda")


@pytest.mark.parametrize("keep_grads", [True, False])
@pytest.mark.parametrize("mode", ["numpy", "numba"])
def test_a_step_plan_called_repeatedly_gives_the_numbers_of_fresh_calls(mode, keep_grads, monkeypatch):
    """The engine's plan (blocks, views and scratch formed once) against a fresh
    ``stochastic_grads`` per step: equal bit for bit over several steps, several blocks, the
    last one shorter, with one stream per seed. Without ``keep_grads`` only ``x`` counts (the
    engine's use): the compiled step then leaves ``out`` alone."""
    monkeypatch.setattr(P, "_BLOCK", 2 * 5 * 3)  # blocks of 3 workers over n = 11: 3, 3, 3, 2
    p = E.HeterogeneousNonconvex(n=11, d=5, seed=4, sigma=0.9)
    x0 = np.random.default_rng(2).normal(size=(2, 11, 5))
    with K.use_kernel(mode):
        x_ref, out_ref, rng_ref = x0.copy(), np.empty_like(x0), SeedStreams(8, 2)
        x, out = x0.copy(), np.empty_like(x0)
        out[...] = 123.0
        plan = p.step_plan(x, SeedStreams(8, 2), out, lr=0.05, keep_grads=keep_grads)
        before = counts()
        for _ in range(4):
            p.stochastic_grads(x_ref, rng_ref, out_ref, lr=0.05)
            assert plan() is out
            assert np.array_equal(bits(x), bits(x_ref))
            if keep_grads:
                assert np.array_equal(bits(out), bits(out_ref))
    compiled = mode == "numba" and HAVE_NUMBA
    assert ran(before, "numba" if compiled else "numpy")
    if not keep_grads and compiled:
        assert np.all(out == 123.0)


def test_a_step_plan_under_auto_turns_to_numba_midway_when_it_is_installed(monkeypatch):
    """``auto`` asks at every step: a plan made before the threshold switches path once the
    process has stepped enough elements with numpy (numba installed), with the same numbers."""
    monkeypatch.setattr(K, "STATS", dict(K.STATS, numpy_elements=0))
    monkeypatch.setattr(P, "KERNEL_STATS", K.STATS)
    monkeypatch.setattr(K, "AUTO_MIN_ELEMENTS", 3 * 2 * 6 * 4)  # after three steps of 2 x 6 x 4
    p = E.HeterogeneousNonconvex(n=6, d=4, seed=1)
    x0 = np.random.default_rng(3).normal(size=(2, 6, 4))
    with K.use_kernel("numpy"):
        x_ref, out_ref, rng_ref = x0.copy(), np.empty_like(x0), SeedStreams(1, 2)
        for _ in range(6):
            p.stochastic_grads(x_ref, rng_ref, out_ref, lr=0.1)
    K.STATS["numpy_elements"] = 0  # the reference's steps do not count
    x, out = x0.copy(), np.empty_like(x0)
    plan = p.step_plan(x, SeedStreams(1, 2), out, lr=0.1)
    paths = []
    for _ in range(6):
        before = (K.STATS["numba"], K.STATS["numpy"])
        plan()
        paths.append("numba" if K.STATS["numba"] > before[0] else "numpy")
    assert paths == (["numpy"] * 3 + ["numba"] * 3 if HAVE_NUMBA else ["numpy"] * 6)
    assert np.array_equal(bits(x), bits(x_ref)) and np.array_equal(bits(out), bits(out_ref))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 12), d=st.integers(1, 6), rows=st.integers(1, 5), block=st.sampled_from([1, 7, 1 << 16]),
       lam=st.sampled_from([0.0, 4.0, 1e300]), data=st.data())
def test_a_record_with_and_without_the_compiled_parts_is_bit_identical(n, d, rows, block, lam, data):
    """grad f(u), f(u) (the phi sums, several worker blocks) and the divergences of equal groups,
    compiled (numba installed) against numpy, on finite and special values."""
    from empirical.aggregation import SortedLevels

    p = E.HeterogeneousNonconvex(n=n, d=d, clusters=min(2, n), lam=lam, seed=3)
    u = np.array(data.draw(st.lists(st.one_of(finite, special), min_size=rows * d, max_size=rows * d)))
    u = u.reshape(rows, d)
    groups = data.draw(st.sampled_from([g for g in range(1, n + 1) if n % g == 0]))
    labels = np.random.default_rng(n).permutation(np.repeat(np.arange(groups), n // groups))
    levels = SortedLevels([labels], n)
    x = np.array(data.draw(st.lists(st.one_of(finite, special), min_size=rows * n * d, max_size=rows * n * d)))
    x = x.reshape(rows, n, d)
    results = {}
    old_block = P._BLOCK
    P._BLOCK = block * d * rows  # several worker blocks on small arrays
    try:
        for mode in ("numpy", "numba"):
            p._phi_memo = None
            with K.use_kernel(mode), np.errstate(all="ignore"):
                grad, loss = p.grad_and_loss(u, rows)
                delta, mean = levels.divergences(x, np.empty_like(x))
            results[mode] = (grad, loss, delta, mean)
    finally:
        P._BLOCK = old_block
    for a_, b_ in zip(results["numpy"], results["numba"]):
        assert np.array_equal(bits(a_), bits(b_))
