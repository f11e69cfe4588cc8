"""One executor for parallel work: inline, process pool or Dask, the same numbers from each."""

import json
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import empirical as E
from figures.checker import run_check
from figures.cli import main
from figures.executor import InlineExecutor, default_workers, executor, is_inline
from tests.figures.sweep_tasks import square

SMALL = dict(steps=400, seeds=3)


def _fails(x):
    raise RuntimeError(f"task {x} failed")


def _processes(pool) -> int:
    """How many processes ``pool`` may start (1: this process). A pool starts none before a submit."""
    return 1 if is_inline(pool) else pool._max_workers


def test_the_pool_is_capped_at_the_tasks_and_the_cpus():
    """Issue 18 item 11: ``hsgd check --workers 100000`` started over 1200 processes for three runs."""
    with executor(workers=100_000, tasks=3) as pool:
        assert _processes(pool) <= min(3, default_workers())
    with executor(workers=100_000) as pool:  # tasks not known: at most one per CPU
        assert _processes(pool) <= default_workers()
    with executor(workers=None, tasks=1) as pool:
        assert is_inline(pool)  # one task: this process, no pool
    with pytest.raises(ValueError, match="tasks must be an integer >= 0"):
        executor(workers=2, tasks=-1)


def test_one_worker_runs_here_and_more_run_in_a_pool():
    with executor(1) as pool:
        assert isinstance(pool, InlineExecutor) and is_inline(pool)
    with executor(2) as pool:
        assert isinstance(pool, ProcessPoolExecutor) and not is_inline(pool)
        assert pool._max_workers == 2
    assert default_workers() >= 1


def test_results_come_back_in_input_order_whatever_the_worker_count():
    configs = [{"x": x} for x in range(7)]
    outs = {}
    for workers in (1, 2):
        with executor(workers) as pool:
            outs[workers] = [r["y"] for r in pool.map(square, configs)]
    assert outs[1] == outs[2] == [x**2 + 0.5 for x in range(7)]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-10**6, 10**6), max_size=20))
def test_inline_map_is_the_builtin_map(xs):
    with executor(1) as pool:
        assert list(pool.map(abs, xs)) == list(map(abs, xs))


def test_an_error_in_a_call_reaches_the_caller_from_either_executor():
    for workers in (1, 2):
        with executor(workers) as pool:
            future = pool.submit(_fails, 3)
            with pytest.raises(RuntimeError, match="task 3 failed"):
                future.result()
    pool = executor(1)
    pool.shutdown()
    with pytest.raises(RuntimeError, match="after shutdown"):
        pool.submit(abs, 1)


@pytest.mark.parametrize("workers", [0, -1, True, 1.5, "2"])
def test_bad_worker_counts_are_rejected(workers):
    with pytest.raises(ValueError, match=r"^workers must be an integer >= 1"):
        executor(workers)


def test_bad_schedulers_are_rejected():
    with pytest.raises(ValueError, match="^scheduler must be the address"):
        executor(scheduler=" ")
    with pytest.raises(ValueError, match="^workers applies to the local process pool only"):
        executor(2, scheduler="tcp://127.0.0.1:8786")


def test_without_dask_a_scheduler_is_one_clear_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if dask were not installed
    with pytest.raises(ValueError) as err:
        executor(scheduler="tcp://127.0.0.1:8786")
    assert "\n" not in str(err.value) and 'pip install "hsgd[dask]"' in str(err.value)


def test_a_dask_cluster_gives_the_same_results():
    from dask import distributed  # installed by the test extras

    configs = [{"x": x} for x in range(5)]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        with executor(scheduler=cluster.scheduler_address) as pool:
            remote = [r["y"] for r in pool.map(square, configs)]
            assert not is_inline(pool)
        assert pool.client.status == "closed"  # shutting the executor down closes its client
    assert remote == [x**2 + 0.5 for x in range(5)]


def _numbers(result):
    return json.dumps(result.to_json(), sort_keys=True)


def test_check_gives_bit_identical_numbers_for_one_or_two_workers():
    problem = E.HeterogeneousNonconvex(n=16, d=5)
    hierarchy = E.Hierarchy.two_level(16, 4, 5, 20)
    one = run_check(problem, hierarchy, workers=1, **SMALL)
    two = run_check(problem, hierarchy, workers=2, **SMALL)
    assert _numbers(one) == _numbers(two)  # every mean, CI, bound and verdict, to the last bit
    for name in ("local_I", "hsgd", "local_G"):
        assert one.curves[name].tobytes() == two.curves[name].tobytes()
        assert np.array_equal(one.bound_curves[name], two.bound_curves[name])


def test_a_problem_that_does_not_pickle_needs_one_worker():
    n, d = 4, 2
    b = np.arange(n * d, dtype=float).reshape(n, d)
    spread = np.sum((b - b.mean(axis=0)) ** 2) / n
    problem = E.from_gradient_fn(lambda x: x - b, lambda u: u - b.mean(axis=0), n, d,
                                 loss=lambda u: np.sum((u[..., None, :] - b) ** 2, axis=(-2, -1)) / (2 * n),
                                 noise=1.0, constants=dict(L=1.0, eps=np.sqrt(spread), kind="exact",
                                                           f_star=E.Constant(0.0, "certified lower bound"),
                                                           eps_levels=lambda levels: [np.sqrt(spread)] * 2))
    hierarchy = E.Hierarchy.two_level(n, 2, 2, 4)
    with pytest.raises(ValueError, match="does not pickle .*use workers=1"):
        run_check(problem, hierarchy, workers=2, steps=20, seeds=2)
    assert run_check(problem, hierarchy, workers=1, steps=20, seeds=2).params["T"] == 20


def test_check_command_rejects_a_bad_worker_count(capsys, tmp_path):
    assert main(["check", "--workers", "0", "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--workers: must be an integer >= 1" in err


def test_theorem_s_terms_computed_in_a_pool_are_those_computed_here():
    from bounds.instance import Instance
    from figures import power

    instances = [Instance(gamma=g, L=1.0, sigma=1.0, F0=2.0, n=16, T=1000, periods=(5, 20), counts=(16, 4, 1),
                          eps=(0.5, 0.25)) for g in (0.001, 0.002, 0.004)]
    evidence = [power.Evidence("test", "test", x, (1.0, 1.1), False) for x in instances]
    sharp = power.theorem("sharp")
    here = [power._terms_of("sharp", x) for x in instances]
    power._TERMS.clear()
    with executor(2) as pool:
        power.prepare_terms("sharp", evidence, pool)
    assert [power._TERMS[(sharp, x)] for x in instances] == here  # the same numbers in a worker process
    power._TERMS.clear()
    with executor(1) as pool:
        power.prepare_terms("sharp", evidence, pool)  # inline: left to the analysis, which runs here anyway
    assert power._TERMS == {}


def test_keep_freed_memory_is_set_where_glibc_is_and_is_idempotent():
    """glibc's mallopt is found and accepts the thresholds (this project's CI runs on glibc);
    elsewhere it says False and changes nothing. The pool initializer and ``hsgd`` call it."""
    import os

    from figures.executor import keep_freed_memory

    try:
        glibc = bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (AttributeError, ValueError, OSError):  # no confstr, or no such name: not glibc
        glibc = False
    assert keep_freed_memory() is glibc
    assert keep_freed_memory() is glibc  # a second call changes nothing and says the same
