"""``hsgd bench bounds``: how fast :meth:`bounds.Bound.lambdify` evaluates the two-level bound.

Reports parameter points per second on arrays of ``points`` values for every one of the 11
parameters (with and without the domain checks), the ratio against ``expr.subs(...).evalf()``
per point, and the ratios of both times against the time to read every input array once
(``np.sum`` over each), all measured in the same run, since absolute speeds on shared
machines are noisy. The evaluator is :class:`bounds.VectorizedBound`: the domain checks of
:func:`bounds.validation.check_domain` on the whole arrays, then ``sympy.lambdify`` of the
bound (common subexpressions shared, :func:`bounds.compiled.compiled`).
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

import numpy as np

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


def bench_bounds(points: int = 1_000_000, repeats: int = 5, subs_points: int = 200) -> dict[str, Any]:
    """Measure the evaluation speeds; returns a dict of the numbers (see the module docstring).

    Points per second are given for the best and the median of ``repeats`` timed calls, after
    one untimed warm-up call each (it compiles the function).
    """
    if points < 1 or repeats < 1 or subs_points < 1:
        raise ValueError("points, repeats and subs_points must be positive integers")
    bound = two_level()
    values = parameter_arrays(points)
    checked, unchecked = bound.lambdify(), bound.lambdify(validate=False)
    reads = _times(lambda: [np.sum(v) for v in values.values()], repeats)
    t_read = reads[0]
    checked(**values)  # warm-up (compiles the function)
    unchecked(**values)
    t_checked = _times(lambda: checked(**values), repeats)
    t_unchecked = _times(lambda: unchecked(**values), repeats)
    syms = bound.symbols
    expr = bound.expr
    small = [{sym: float(values[sym.name][i]) for sym in syms} for i in range(subs_points)]
    start = time.perf_counter()
    slow = [float(expr.subs(point).evalf()) for point in small]
    t_subs = (time.perf_counter() - start) / subs_points
    fast = checked(**{k: v[:subs_points] for k, v in values.items()})
    agree = bool(np.allclose(fast, slow, rtol=1e-10, atol=0))
    pps = points / t_checked[0]
    return {
        "points": points,
        "lambdify_points_per_s": pps,
        "lambdify_points_per_s_median": points / t_checked[len(t_checked) // 2],
        "lambdify_unchecked_points_per_s": points / t_unchecked[0],
        "lambdify_unchecked_points_per_s_median": points / t_unchecked[len(t_unchecked) // 2],
        "read_inputs_once_s": t_read,
        "read_inputs_once_s_median": reads[len(reads) // 2],
        "subs_evalf_points_per_s": 1.0 / t_subs,
        "speedup_vs_subs": pps * t_subs,
        "time_vs_reading_inputs_once": t_checked[0] / t_read,
        "unchecked_time_vs_reading_inputs_once": t_unchecked[0] / t_read,
        "agrees_with_subs": agree,
    }


def run_from_args(args: argparse.Namespace) -> int:
    """Handler of ``hsgd bench bounds``."""
    from empirical.io import json_text

    result = bench_bounds(points=args.points, repeats=args.repeats, subs_points=args.subs_points)
    if args.json:
        print(json_text(result))
        return 0
    print(f"two-level bound, {result['points']:,} points per array, all 11 parameters as arrays (best / median)")
    print(f"  lambdify (with domain checks)   {result['lambdify_points_per_s']:.3g} / "
          f"{result['lambdify_points_per_s_median']:.3g} points/s")
    print(f"  lambdify (no checks)            {result['lambdify_unchecked_points_per_s']:.3g} / "
          f"{result['lambdify_unchecked_points_per_s_median']:.3g} points/s")
    print(f"  expr.subs().evalf() per point   {result['subs_evalf_points_per_s']:.3g} points/s")
    print(f"  speed-up of lambdify over subs  {result['speedup_vs_subs']:.3g}x")
    print(f"  time / time to read inputs once {result['time_vs_reading_inputs_once']:.3g}x checked, "
          f"{result['unchecked_time_vs_reading_inputs_once']:.3g}x unchecked")
    print(f"  lambdify agrees with subs       {result['agrees_with_subs']}")
    return 0
