"""``hsgd bench bounds``: how fast :meth:`bounds.Bound.lambdify` evaluates the two-level bound.

Reports parameter points per second on arrays of ``points`` values for every one of the 11
parameters (with and without the domain checks), the ratio against ``expr.subs(...).evalf()``
per point, and the ratios of both times against the time to read every input array once
(``np.sum`` over each), all measured in the same run, since absolute speeds on shared
machines are noisy. The evaluator is :class:`bounds.VectorizedBound`, measured on each of
its paths: ``numpy`` (blocks, a fused ``out=`` evaluator and the block domain checks of
:class:`bounds.validation.BlockDomainCheck`) and, when numba is installed (the ``fast``
extra), ``numba`` (one compiled loop over the points, checks and formula together;
:class:`bounds.compiled.AcceleratedKernel`).
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any, Callable

import numpy as np

from bounds.compiled import ACCELERATE_MIN_POINTS, accelerated, numba_available, use_engine
from bounds.two_level import two_level

__all__ = ["bench_bounds", "parameter_arrays", "run_from_args"]


def parameter_arrays(points: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``points`` random valid parameter sets of the two-level bound, one array per keyword."""
    rng = np.random.default_rng(seed)
    I = rng.integers(1, 6, points).astype(np.float64)
    G = I * rng.integers(1, 11, points)
    N = rng.integers(1, 9, points).astype(np.float64)
    return {
        "gamma": rng.uniform(1e-4, 1e-3, points), "L": rng.uniform(0.5, 2.0, points),
        "sigma": rng.uniform(0.0, 2.0, points), "n": N * rng.integers(1, 9, points),
        "T": G * rng.integers(1, 100, points), "F0": rng.uniform(0.1, 10.0, points),
        "N": N, "I": I, "G": G, "eps_g": rng.uniform(0, 1, points), "eps_l": rng.uniform(0, 1, points),
    }


def _times(fn: Callable[[], Any], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return sorted(out)


def _best_time(fn: Callable[[], Any], repeats: int) -> float:
    return _times(fn, repeats)[0]


def bench_bounds(points: int = 1_000_000, repeats: int = 5, subs_points: int = 200) -> dict[str, Any]:
    """Measure the evaluation speeds; returns a dict of the numbers (see the module docstring).

    ``paths`` has one entry per available evaluator (``numpy``, and ``numba`` when it is
    importable, :func:`bounds.compiled.numba_available`): checked and unchecked points per
    second (best and median of ``repeats``), both times over the time to read the inputs
    once, and the largest relative difference of its values from the numpy path's. The
    first call of each path is a warm-up (numba compiles then) and is not timed.
    """
    if points < 1 or repeats < 1 or subs_points < 1:
        raise ValueError("points, repeats and subs_points must be positive integers")
    bound = two_level()
    values = parameter_arrays(points)
    checked, unchecked = bound.lambdify(), bound.lambdify(validate=False)
    reads = _times(lambda: [np.sum(v) for v in values.values()], repeats)
    t_read = reads[0]
    paths: dict[str, dict[str, Any]] = {}
    reference = None
    for engine in ("numpy", "numba"):
        if engine == "numba" and not numba_available():
            continue
        with use_engine(engine):
            result = checked(**values)  # warm-up (compiles the function)
            unchecked(**values)
            kernel = accelerated(bound, bound.expr, [False] * len(bound.symbols), points)
            ran = "numba" if kernel is not None and kernel.calls else "numpy"
            t_checked = _times(lambda: checked(**values), repeats)
            t_unchecked = _times(lambda: unchecked(**values), repeats)
        if reference is None:
            reference = result
        paths[engine] = {
            "ran": ran,
            "checked_points_per_s": points / t_checked[0],
            "checked_points_per_s_median": points / t_checked[len(t_checked) // 2],
            "unchecked_points_per_s": points / t_unchecked[0],
            "unchecked_points_per_s_median": points / t_unchecked[len(t_unchecked) // 2],
            "checked_time_vs_reading_inputs_once": t_checked[0] / t_read,
            "unchecked_time_vs_reading_inputs_once": t_unchecked[0] / t_read,
            "max_relative_difference_from_numpy": float(np.max(np.abs(result - reference) / np.abs(reference))),
        }
    default = "numba" if "numba" in paths and points >= ACCELERATE_MIN_POINTS else "numpy"
    syms = bound.symbols
    expr = bound.expr
    small = [{sym: float(values[sym.name][i]) for sym in syms} for i in range(subs_points)]
    start = time.perf_counter()
    slow = [float(expr.subs(point).evalf()) for point in small]
    t_subs = (time.perf_counter() - start) / subs_points
    fast = checked(**{k: v[:subs_points] for k, v in values.items()})
    agree = bool(np.allclose(fast, slow, rtol=1e-10, atol=0))
    pps = paths[default]["checked_points_per_s"]
    return {
        "points": points,
        "default_path": default,
        "lambdify_points_per_s": pps,
        "lambdify_unchecked_points_per_s": paths[default]["unchecked_points_per_s"],
        "read_inputs_once_s": t_read,
        "read_inputs_once_s_median": reads[len(reads) // 2],
        "subs_evalf_points_per_s": 1.0 / t_subs,
        "speedup_vs_subs": pps * t_subs,
        "time_vs_reading_inputs_once": paths[default]["checked_time_vs_reading_inputs_once"],
        "unchecked_time_vs_reading_inputs_once": paths[default]["unchecked_time_vs_reading_inputs_once"],
        "agrees_with_subs": agree,
        "paths": paths,
    }


def run_from_args(args: argparse.Namespace) -> int:
    """Handler of ``hsgd bench bounds``."""
    result = bench_bounds(points=args.points, repeats=args.repeats, subs_points=args.subs_points)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"two-level bound, {result['points']:,} points per array, all 11 parameters as arrays")
    print(f"  {'path':<6} {'checked points/s':>22} {'unchecked points/s':>22} {'time / read once':>24}"
          "  (best / median)")
    for name, p in result["paths"].items():
        print(f"  {name:<6} {p['checked_points_per_s']:>10.3g} / {p['checked_points_per_s_median']:<9.3g} "
              f"{p['unchecked_points_per_s']:>10.3g} / {p['unchecked_points_per_s_median']:<9.3g} "
              f"{p['checked_time_vs_reading_inputs_once']:>7.3g}x checked, "
              f"{p['unchecked_time_vs_reading_inputs_once']:.3g}x unchecked"
              + ("" if name == "numpy" else f"; max rel. difference from numpy "
                                            f"{p['max_relative_difference_from_numpy']:.2g}"))
    if "numba" not in result["paths"]:
        print('  numba  not installed (pip install -e ".[fast]" in a clone adds the one-pass numba path)')
    print(f"  lambdify uses {result['default_path']} at this size")
    print(f"  lambdify (with domain checks)   {result['lambdify_points_per_s']:.3g} points/s")
    print(f"  lambdify (no checks)            {result['lambdify_unchecked_points_per_s']:.3g} points/s")
    print(f"  expr.subs().evalf() per point   {result['subs_evalf_points_per_s']:.3g} points/s")
    print(f"  speed-up of lambdify over subs  {result['speedup_vs_subs']:.3g}x")
    print(f"  time / time to read inputs once {result['time_vs_reading_inputs_once']:.3g}x checked, "
          f"{result['unchecked_time_vs_reading_inputs_once']:.3g}x unchecked")
    print(f"  lambdify agrees with subs       {result['agrees_with_subs']}")
    return 0
