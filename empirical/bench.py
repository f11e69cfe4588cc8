"""``hsgd bench engine``: the engine's speed as ratios measured in one run.

For each ``(n, d)`` it reports worker-steps per second of :func:`empirical.simulate`
(two-level H-SGD, ``N = n/8`` random groups, ``I = 5``, ``G = 50``, recording every
``RECORD_EVERY = 10`` steps: a record evaluates ``f`` and ``grad f`` at the average and the
divergences, about two steps' worth of work, so recording every step would double the cost;
every 10 steps it costs about 10%), the speed-up over the per-worker reference loop
(:mod:`empirical.reference`), and the overhead over the bare cost of one stochastic gradient
evaluation plus the update on the same arrays with the same random streams. It also
measures, with ``tracemalloc``, the peak memory of a run with ``n = 4096, d = 1000`` and 8
seeds as a multiple of the state array, and the cost of drawing the noise from one stream per
seed (:class:`empirical.streams.SeedStreams`) against one generator for the whole block.
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
from empirical.streams import SeedStreams

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
    rng = SeedStreams(0, 1)
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


def seed_streams_overhead(n: int = 256, d: int = 10, seeds: int = 8, repeats: int = 200) -> float:
    """Time to draw a ``(seeds, n, d)`` block of normals from one stream per seed, divided by
    the time to draw it from a single generator."""
    out = np.empty((seeds, n, d))
    streams, single = SeedStreams(0, seeds), np.random.Generator(np.random.SFC64(0))
    times = []
    for draw in (lambda: streams.standard_normal(out=out), lambda: single.standard_normal(out=out)):
        draw()
        start = time.perf_counter()
        for _ in range(repeats):
            draw()
        times.append(time.perf_counter() - start)
    return times[0] / times[1]


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
    out["seed_streams_overhead"] = seed_streams_overhead(repeats=20 if quick else 200)
    out["seed_streams_config"] = {"n": 256, "d": 10, "seeds": 8}
    return out


def run_from_args(args: argparse.Namespace) -> int:
    """Handler of ``hsgd bench engine``."""
    result = bench_engine(quick=args.quick)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"engine vs per-worker loop and bare update (two-level H-SGD, record every {RECORD_EVERY} steps; one run)")
    print(f"{'n':>6} {'d':>6} {'worker-steps/s':>16} {'x loop':>10} {'/ bare':>8} {'x loop, no noise':>17}")
    for c in result["configs"]:
        print(f"{c['n']:>6} {c['d']:>6} {c['worker_steps_per_s']:>16.3g} {c['speedup_vs_loop']:>10.1f} "
              f"{c['overhead_vs_bare']:>8.2f} {c['speedup_vs_loop_noiseless']:>17.1f}")
    m = result["peak_memory_config"]
    print(f"peak memory, n={m['n']} d={m['d']} seeds={m['seeds']}: "
          f"{result['peak_memory_state_copies']:.2f} x the state array")
    m = result["seed_streams_config"]
    print(f"noise from one stream per seed vs one generator, n={m['n']} d={m['d']} seeds={m['seeds']}: "
          f"{result['seed_streams_overhead']:.2f} x the time")
    return 0
