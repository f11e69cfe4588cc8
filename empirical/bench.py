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

It also reports, for the sizes ``FLOOR_SIZES`` (the last is the shape ``hsgd check`` uses), the
engine's step time over the floor (one draw of the same normals from the same per-seed SFC64
streams plus one ``np.add(out=)`` pass over the state), and the cost of recording every step
over recording every 10th; both as min / median of 3 ratios taken back to back in one run.

And the cost of partial participation (docs/theory.md §10.1 Setting):
the step time with every level-1 group sampling half its members over full participation,
two-level, ``n = 1024, d = 100``, one seed, ``N = 32, I = 2, G = 8`` (a round every 8 steps),
as min / median of 3 back-to-back ratios (goal: at most 1.5).

And the cost of records where a script waits (issue 20): a run recording every step over the
same run recording only at ``t = 0``, with the machine's other core kept busy by a spinning
process (:func:`busy_core`) for the duration of those rows, at the states of about 10^4-3*10^4
elements ``BUSY_SIZES`` (goal: at most ``BUSY_GOAL = 1.6`` at 256 seeds x 10 workers x 8
dimensions). Before the engine's records were free of BLAS calls, an ``np.dot`` there started
OpenBLAS threads that waited for the busy core: 13x the step.

And the batch axis (:mod:`empirical.batch`): a sweep of 64 small configurations (``n = 8,
d = 10``, 4 seeds, two levels; heterogeneity levels and step sizes) as one
:func:`empirical.batch.simulate_batch` against a Python loop of 64 :func:`empirical.simulate`
calls, the loop's time over the batch's, min / median of 3 back-to-back ratios.

``hsgd bench engine`` prints each row as soon as it is measured.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import time
import tracemalloc
from typing import Any, Callable, Iterator

import numpy as np

from empirical.engine import simulate
from empirical.hierarchy import Hierarchy
from empirical.problems import HeterogeneousNonconvex
from empirical.reference import reference_run
from empirical.streams import SeedStreams

__all__ = ["bench_engine", "run_from_args", "RECORD_EVERY", "step_over_floor", "recording_ratio", "FLOOR_SIZES",
           "participation_ratio", "batch_speedup", "busy_core", "busy_recording_ratio", "BUSY_SIZES", "BUSY_GOAL"]

RECORD_EVERY = 10
LR = 0.01


def _setup(n: int, d: int, sigma: float = 1.0):
    problem = HeterogeneousNonconvex(n=n, d=d, clusters=min(4, n), sigma=sigma, seed=0)
    hierarchy = Hierarchy.two_level(n, max(1, n // 8), 5, 50, grouping="random")
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


FLOOR_SIZES = ((256, 10, 1), (4096, 10, 1), (4096, 1000, 1), (32, 10, 8))  # (n, d, seeds); the last is check's


def _floor_step(n: int, d: int, seeds: int, steps: int) -> float:
    """Seconds per step of the floor: one draw of the ``(seeds, n, d)`` normals from the same
    per-seed SFC64 streams (one call per seed) plus one ``np.add(out=)`` pass over the state."""
    generators = SeedStreams(0, seeds).generators
    x = np.zeros((seeds, n, d))
    noise = np.empty_like(x)
    pairs = list(zip(generators, noise))
    add = np.add
    start = time.perf_counter()
    for _ in range(steps):
        for gen, block in pairs:
            gen.standard_normal(out=block)
        add(x, noise, out=x)
    return (time.perf_counter() - start) / steps


def _engine_step(n: int, d: int, seeds: int, steps: int, record_every: int | None = None) -> float:
    """Seconds per step of :func:`empirical.simulate` (two-level, as :func:`_setup`), recording
    only at ``t = 0`` unless ``record_every`` is given."""
    problem, hierarchy = _setup(n, d)
    every = steps if record_every is None else record_every
    start = time.perf_counter()
    simulate(problem, hierarchy, LR, steps=steps, seeds=seeds, record_every=every)
    return (time.perf_counter() - start) / steps


def _steps_for(n: int, d: int, seeds: int, seconds: float, repeats: int = 1) -> int:
    """Steps that take about ``seconds`` at a few ns per coordinate and ~10 us per step."""
    for name, value in (("n", n), ("d", d), ("seeds", seeds), ("repeats", repeats)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not seconds > 0:
        raise ValueError(f"seconds must be positive, got {seconds!r}")
    return int(max(20, min(20000, seconds / (10e-6 + 4e-9 * n * d * seeds))))


def step_over_floor(n: int, d: int, seeds: int, repeats: int = 3, seconds: float = 0.15) -> dict[str, Any]:
    """The engine's step time over the floor (:func:`_floor_step`), ``repeats`` times, each
    ratio from an engine run and a floor run taken back to back: ``{"min", "median", ...}``."""
    steps = _steps_for(n, d, seeds, seconds, repeats)
    _engine_step(n, d, seeds, min(steps, 20))  # warm up (imports, caches)
    ratios, engine, floor = [], [], []
    for _ in range(repeats):
        e, f = _engine_step(n, d, seeds, steps), _floor_step(n, d, seeds, steps)
        engine.append(e)
        floor.append(f)
        ratios.append(e / f)
    return {"n": n, "d": d, "seeds": seeds, "steps": steps, "min": min(ratios), "median": float(np.median(ratios)),
            "engine_us": 1e6 * float(np.median(engine)), "floor_us": 1e6 * float(np.median(floor))}


def recording_ratio(n: int = 32, d: int = 10, seeds: int = 8, repeats: int = 3, seconds: float = 0.15) -> dict[str, Any]:
    """Time of a run recording every step over the same run recording every 10th, ``repeats``
    times back to back: ``{"min", "median", ...}`` (the default shape is ``hsgd check``'s)."""
    steps = _steps_for(n, d, seeds, seconds, repeats)
    _engine_step(n, d, seeds, min(steps, 20), 1)
    ratios = [_engine_step(n, d, seeds, steps, 1) / _engine_step(n, d, seeds, steps, RECORD_EVERY)
              for _ in range(repeats)]
    return {"n": n, "d": d, "seeds": seeds, "steps": steps, "min": min(ratios), "median": float(np.median(ratios))}


BUSY_SIZES = ((1000, 1, 16), (10, 8, 256), (320, 1, 32))  # (n, d, seeds): issue 20's states, 1.6-3.2e4 elements
BUSY_GOAL = 1.6  # records every step over none, with the other core busy, at (10, 8, 256)


def _spin(started: Any) -> None:  # pragma: no cover - runs in the child process
    started.set()
    while True:
        pass


@contextlib.contextmanager
def busy_core() -> Iterator[None]:
    """Keep one other core busy while the block runs: a child process spinning in a loop,
    started (and seen running) on entry, terminated and joined on exit, whatever happens."""
    started = multiprocessing.Event()
    spinner = multiprocessing.Process(target=_spin, args=(started,), daemon=True, name="hsgd-bench-busy-core")
    spinner.start()
    try:
        started.wait(10.0)
        yield
    finally:
        spinner.terminate()
        spinner.join()


def busy_recording_ratio(n: int, d: int, seeds: int, repeats: int = 3, seconds: float = 0.3) -> dict[str, Any]:
    """Time of a run recording every step over the same run recording only at ``t = 0``, with
    another core kept busy (:func:`busy_core`), ``repeats`` times back to back:
    ``{"min", "median", "recorded_us", "free_us", ...}`` (per step, medians)."""
    steps = _steps_for(n, d, seeds, seconds, repeats)
    with busy_core():
        _engine_step(n, d, seeds, min(steps, 20), 1)  # warm up
        ratios, recorded, free = [], [], []
        for _ in range(repeats):
            a, b = _engine_step(n, d, seeds, steps, 1), _engine_step(n, d, seeds, steps)
            recorded.append(a)
            free.append(b)
            ratios.append(a / b)
    return {"n": n, "d": d, "seeds": seeds, "steps": steps, "min": min(ratios), "median": float(np.median(ratios)),
            "recorded_us": 1e6 * float(np.median(recorded)), "free_us": 1e6 * float(np.median(free))}


def _participation_step(n: int, d: int, seeds: int, N: int, I: int, G: int, steps: int, S: int | None) -> float:
    """Seconds per step of a two-level run (``N`` random groups, periods ``I, G``, recording
    only at ``t = 0``) with participation ``S`` (``None``: everyone)."""
    problem = HeterogeneousNonconvex(n=n, d=d, clusters=min(4, n), sigma=1.0, seed=0)
    hierarchy = Hierarchy.two_level(n, N, I, G, grouping="random")
    start = time.perf_counter()
    simulate(problem, hierarchy, LR, steps=steps, seeds=seeds, record_every=steps, participation=S)
    return (time.perf_counter() - start) / steps


def participation_ratio(n: int = 1024, d: int = 100, seeds: int = 1, N: int = 32, I: int = 2, G: int = 8,
                        repeats: int = 3, seconds: float = 0.3) -> dict[str, Any]:
    """Step time with every level-1 group sampling half its members (``S = n // N // 2``, at
    least 1) over full participation, ``repeats`` times back to back: ``{"min", "median", ...}``."""
    steps = _steps_for(n, d, seeds, seconds, repeats)
    for name, value in (("N", N), ("I", I), ("G", G)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    S = max(1, n // N // 2)
    _participation_step(n, d, seeds, N, I, G, min(steps, 2 * G), S)  # warm up
    ratios, partial, full = [], [], []
    for _ in range(repeats):
        a = _participation_step(n, d, seeds, N, I, G, steps, S)
        b = _participation_step(n, d, seeds, N, I, G, steps, None)
        partial.append(a)
        full.append(b)
        ratios.append(a / b)
    return {"n": n, "d": d, "seeds": seeds, "N": N, "I": I, "G": G, "S": S, "steps": steps, "min": min(ratios),
            "median": float(np.median(ratios)), "partial_us": 1e6 * float(np.median(partial)),
            "full_us": 1e6 * float(np.median(full))}


def _sweep(n: int, d: int, K: int) -> tuple[list[HeterogeneousNonconvex], list[float]]:
    """``K`` configurations: between-cluster and within-cluster spreads and step sizes, cycled."""
    spreads = [(between, within) for between in (0.5, 1.0, 2.0, 4.0) for within in (0.25, 0.5, 1.0, 2.0)]
    problems = [HeterogeneousNonconvex(n=n, d=d, clusters=min(4, n), between=b, within=w, sigma=1.0, seed=k)
                for k, (b, w) in enumerate(spreads[k % len(spreads)] for k in range(K))]
    lrs = [(0.005, 0.01, 0.02, 0.04)[(k // len(spreads)) % 4] for k in range(K)]
    return problems, lrs


def batch_speedup(K: int = 64, n: int = 8, d: int = 10, seeds: int = 4, steps: int = 500,
                  record_every: int = RECORD_EVERY, repeats: int = 3) -> dict[str, Any]:
    """A sweep of ``K`` small configurations (:func:`_sweep`: heterogeneity levels and step
    sizes on one two-level hierarchy, ``N = n/4`` random groups, ``I = 5``, ``G = 50``) run as
    one :func:`empirical.batch.simulate_batch` over the same sweep as a Python loop of ``K``
    :func:`empirical.simulate` calls (the same results, bit for bit): the loop's time over the
    batch's, ``repeats`` times back to back, ``{"min", "median", ...}``."""
    from empirical.batch import simulate_batch

    for name, value in (("K", K), ("n", n), ("d", d), ("seeds", seeds), ("steps", steps),
                        ("record_every", record_every), ("repeats", repeats)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    problems, lrs = _sweep(n, d, K)
    hierarchy = Hierarchy.two_level(n, max(1, n // 4), 5, 50, grouping="random")
    simulate_batch(problems, hierarchy, lrs, min(steps, 10), seeds=seeds, record_every=record_every)  # warm up
    ratios, batched, looped = [], [], []
    for _ in range(repeats):
        start = time.perf_counter()
        simulate_batch(problems, hierarchy, lrs, steps, seeds=seeds, record_every=record_every)
        middle = time.perf_counter()
        for problem, lr in zip(problems, lrs):
            simulate(problem, hierarchy, lr, steps, seeds=seeds, record_every=record_every)
        end = time.perf_counter()
        batched.append(middle - start)
        looped.append(end - middle)
        ratios.append((end - middle) / (middle - start))
    return {"K": K, "n": n, "d": d, "seeds": seeds, "steps": steps, "record_every": record_every,
            "repeats": repeats, "min": min(ratios), "median": float(np.median(ratios)),
            "batch_s": float(np.median(batched)), "loop_s": float(np.median(looped))}


def bench_engine(quick: bool = False, report: Callable[[str, Any], None] | None = None
                 ) -> dict[str, Any]:
    """Run the benchmark; returns ``{"configs": [...], "peak_memory_state_copies": ...}``.

    Args:
        quick: a tiny version (seconds).
        report: optional ``report(section, row)``, called with each row as soon as it is
            measured (``section`` is the key of the returned dictionary the row goes to).
    """
    def add(section: str, row: Any, many: bool = True) -> None:
        if many:
            out.setdefault(section, []).append(row)
        else:
            out[section] = row
        if report is not None:
            report(section, row)

    out: dict[str, Any] = {"configs": []}
    sizes = [(16, 10), (64, 10)] if quick else [(n, d) for n in (16, 256, 4096) for d in (10, 1000)]
    budget = 2e5 if quick else 2e7  # worker-coordinates per timed run
    for n, d in sizes:
        steps = int(max(RECORD_EVERY, min(2000, budget / (n * d))))
        loop_steps = max(2, steps // 20)
        engine = _engine_rate(n, d, steps)
        add("configs", {
            "n": n, "d": d, "steps": steps, "record_every": RECORD_EVERY,
            "worker_steps_per_s": engine,
            "speedup_vs_loop": engine / _loop_rate(n, d, loop_steps),
            "overhead_vs_bare": _bare_rate(n, d, steps) / engine,
            # without gradient noise: drawing n*d normals per step is a floor both share
            "speedup_vs_loop_noiseless": _engine_rate(n, d, steps, 0.0) / _loop_rate(n, d, loop_steps, 0.0),
        })
    seconds = 0.02 if quick else 0.15
    floor_sizes = [(256, 10, 1), (32, 10, 8)] if quick else FLOOR_SIZES
    record_sizes = [(32, 10, 8)] if quick else [(32, 10, 8), (256, 10, 1), (4096, 100, 1)]
    busy_sizes = [(10, 8, 256)] if quick else BUSY_SIZES
    for n, d, s in floor_sizes:
        add("step_over_floor", step_over_floor(n, d, s, seconds=seconds))
    for n, d, s in record_sizes:
        add("recording_ratio", recording_ratio(n, d, s, seconds=seconds))
    for n, d, s in busy_sizes:
        add("busy_recording_ratio", busy_recording_ratio(n, d, s, seconds=seconds if quick else 0.3))
    memory = {"n": 64, "d": 10, "seeds": 8} if quick else {"n": 4096, "d": 1000, "seeds": 8}
    out["peak_memory_config"] = memory
    out["peak_memory_state_copies"] = peak_memory_copies(**memory)
    if report is not None:
        report("peak_memory_state_copies", dict(memory, copies=out["peak_memory_state_copies"]))
    out["seed_streams_config"] = {"n": 256, "d": 10, "seeds": 8}
    out["seed_streams_overhead"] = seed_streams_overhead(repeats=20 if quick else 200)
    if report is not None:
        report("seed_streams_overhead", dict(out["seed_streams_config"], ratio=out["seed_streams_overhead"]))
    add("participation_ratio", participation_ratio(64, 10, 1, 8, 2, 8, seconds=seconds) if quick
        else participation_ratio(seconds=0.5), many=False)
    add("batch_speedup", batch_speedup(steps=20, repeats=1) if quick else batch_speedup(), many=False)
    return out


def _print_row(section: str, c: Any, printed: set[str]) -> None:
    """Print one measured row of :func:`bench_engine` (its section's header first), flushed."""
    def say(text: str) -> None:
        print(text, flush=True)

    first = section not in printed
    printed.add(section)
    if section == "configs":
        if first:
            say(f"engine vs per-worker loop and bare update (two-level H-SGD, record every {RECORD_EVERY} steps; "
                f"one run)")
            say(f"{'n':>6} {'d':>6} {'worker-steps/s':>16} {'x loop':>10} {'/ bare':>8} {'x loop, no noise':>17}")
        say(f"{c['n']:>6} {c['d']:>6} {c['worker_steps_per_s']:>16.3g} {c['speedup_vs_loop']:>10.1f} "
            f"{c['overhead_vs_bare']:>8.2f} {c['speedup_vs_loop_noiseless']:>17.1f}")
    elif section == "step_over_floor":
        if first:
            say("engine step over the floor (one draw of the same normals + one np.add pass), min / median of 3:")
            say(f"{'n':>6} {'d':>6} {'seeds':>6} {'step us':>9} {'floor us':>9} {'min':>6} {'median':>7}")
        say(f"{c['n']:>6} {c['d']:>6} {c['seeds']:>6} {c['engine_us']:>9.1f} {c['floor_us']:>9.1f} "
            f"{c['min']:>6.2f} {c['median']:>7.2f}")
    elif section == "recording_ratio":
        if first:
            say(f"recording every step over every {RECORD_EVERY}th, min / median of 3:")
        say(f"  n={c['n']} d={c['d']} seeds={c['seeds']}: {c['min']:.2f} / {c['median']:.2f}")
    elif section == "busy_recording_ratio":
        if first:
            say(f"recording every step over recording none, another core kept busy (a spinning process), "
                f"min / median of 3 (goal <= {BUSY_GOAL} at seeds=256 n=10 d=8):")
        say(f"  seeds={c['seeds']} n={c['n']} d={c['d']}: {c['recorded_us']:.0f} us / {c['free_us']:.0f} us per "
            f"step, {c['min']:.2f} / {c['median']:.2f}")
    elif section == "peak_memory_state_copies":
        say(f"peak memory, n={c['n']} d={c['d']} seeds={c['seeds']}: {c['copies']:.2f} x the state array")
    elif section == "seed_streams_overhead":
        say(f"noise from one stream per seed vs one generator, n={c['n']} d={c['d']} seeds={c['seeds']}: "
            f"{c['ratio']:.2f} x the time")
    elif section == "participation_ratio":
        say(f"partial participation (S = {c['S']} of {c['n'] // c['N']} per group) over full, n={c['n']} d={c['d']} "
            f"seeds={c['seeds']} N={c['N']} I={c['I']} G={c['G']}: {c['partial_us']:.0f} us / {c['full_us']:.0f} us "
            f"per step, min / median of 3: {c['min']:.2f} / {c['median']:.2f} (goal <= 1.5)")
    elif section == "batch_speedup":
        say(f"a sweep of {c['K']} configurations (n={c['n']} d={c['d']} seeds={c['seeds']}, two levels, "
            f"{c['steps']} steps, record every {c['record_every']}) as one batch over a loop of {c['K']} simulate "
            f"calls: {c['batch_s']:.3g} s / {c['loop_s']:.3g} s, speed-up min / median of {c['repeats']}: "
            f"{c['min']:.1f} / {c['median']:.1f}")


def run_from_args(args: argparse.Namespace) -> int:
    """Handler of ``hsgd bench engine``: each row printed as it is measured (``--json``: the
    whole result at the end)."""
    from empirical.io import json_text

    if args.json:
        print(json_text(bench_engine(quick=args.quick)))
        return 0
    printed: set[str] = set()
    bench_engine(quick=args.quick, report=lambda section, row: _print_row(section, row, printed))
    return 0
