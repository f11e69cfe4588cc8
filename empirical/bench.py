"""``hsgd bench engine``: the engine's speed as ratios measured in one run.

For each ``(n, d)`` it reports worker-steps per second of :func:`empirical.simulate`
(recording every ``RECORD_EVERY`` steps), the speed-up over the per-worker reference loop
(:mod:`empirical.reference`), and the overhead over the bare cost of one stochastic gradient
evaluation plus the update on the same arrays. It also measures, with ``tracemalloc``, the
peak memory of a run with ``n = 4096, d = 1000`` and 8 seeds as a multiple of the state array.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from typing import Any

import numpy as np

from empirical.engine import simulate
from empirical.hierarchy import two_level
from empirical.problems import HeterogeneousNonconvex
from empirical.reference import reference_run

__all__ = ["bench_engine", "run_from_args", "RECORD_EVERY"]

RECORD_EVERY = 10
LR = 0.01


def _setup(n: int, d: int, sigma: float = 1.0):
    problem = HeterogeneousNonconvex(n=n, d=d, clusters=min(4, n), sigma=sigma, seed=0)
    hierarchy = two_level(n, max(1, n // 8), 5, 50, grouping="random")
    return problem, hierarchy


def _engine_rate(n: int, d: int, steps: int, sigma: float = 1.0) -> float:
    problem, hierarchy = _setup(n, d, sigma)
    simulate(problem, hierarchy, LR, steps=min(steps, 10), record_every=RECORD_EVERY)  # warm up
    start = time.perf_counter()
    simulate(problem, hierarchy, LR, steps=steps, record_every=RECORD_EVERY)
    return n * steps / (time.perf_counter() - start)


def _bare_rate(n: int, d: int, steps: int, sigma: float = 1.0) -> float:
    problem, _ = _setup(n, d, sigma)
    rng = np.random.default_rng(0)
    x = np.zeros((1, n, d))
    g = np.empty_like(x)
    start = time.perf_counter()
    for _ in range(steps):
        problem.stochastic_grads(x, rng, out=g)
        g *= LR
        x -= g
    return n * steps / (time.perf_counter() - start)


def _loop_rate(n: int, d: int, steps: int, sigma: float = 1.0) -> float:
    problem, hierarchy = _setup(n, d, sigma)
    start = time.perf_counter()
    reference_run(problem, hierarchy, LR, steps=steps)
    return n * steps / (time.perf_counter() - start)


def peak_memory_copies(n: int = 4096, d: int = 1000, seeds: int = 8, steps: int = 3) -> float:
    """Peak traced memory of a short run divided by the size of the state array."""
    problem, hierarchy = _setup(n, d)
    tracemalloc.start()
    simulate(problem, hierarchy, LR, steps=steps, seeds=seeds, record_every=RECORD_EVERY)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / (seeds * n * d * 8)


def bench_engine(quick: bool = False) -> dict[str, Any]:
    """Run the benchmark; returns ``{"configs": [...], "peak_memory_state_copies": ...}``."""
    sizes = [(16, 10), (64, 10)] if quick else [(n, d) for n in (16, 256, 4096) for d in (10, 1000)]
    budget = 2e5 if quick else 2e7  # worker-coordinates per timed run
    configs = []
    for n, d in sizes:
        steps = int(max(RECORD_EVERY, min(2000, budget / (n * d))))
        loop_steps = max(2, steps // 20)
        engine = _engine_rate(n, d, steps)
        configs.append({
            "n": n, "d": d, "steps": steps, "record_every": RECORD_EVERY,
            "worker_steps_per_s": engine,
            "speedup_vs_loop": engine / _loop_rate(n, d, loop_steps),
            "overhead_vs_bare": _bare_rate(n, d, steps) / engine,
            # without gradient noise: drawing n*d normals per step is a floor both share
            "speedup_vs_loop_noiseless": _engine_rate(n, d, steps, 0.0) / _loop_rate(n, d, loop_steps, 0.0),
        })
    out: dict[str, Any] = {"configs": configs}
    out["peak_memory_state_copies"] = peak_memory_copies(64, 10, 8) if quick else peak_memory_copies()
    out["peak_memory_config"] = {"n": 64, "d": 10, "seeds": 8} if quick else {"n": 4096, "d": 1000, "seeds": 8}
    return out


def run_from_args(args: argparse.Namespace) -> int:
    """Handler of ``hsgd bench engine``."""
    result = bench_engine(quick=args.quick)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"engine vs per-worker loop and bare update (record every {RECORD_EVERY} steps; one run)")
    print(f"{'n':>6} {'d':>6} {'worker-steps/s':>16} {'x loop':>10} {'/ bare':>8} {'x loop, no noise':>17}")
    for c in result["configs"]:
        print(f"{c['n']:>6} {c['d']:>6} {c['worker_steps_per_s']:>16.3g} {c['speedup_vs_loop']:>10.1f} "
              f"{c['overhead_vs_bare']:>8.2f} {c['speedup_vs_loop_noiseless']:>17.1f}")
    m = result["peak_memory_config"]
    print(f"peak memory, n={m['n']} d={m['d']} seeds={m['seeds']}: "
          f"{result['peak_memory_state_copies']:.2f} x the state array")
    return 0
