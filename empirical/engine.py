"""The H-SGD simulator: every worker of every seed advances as one ``(seeds, n, d)`` array.

docs/theory.md §1.2 Algorithm: at each step every worker takes ``y_j = x_j - lr g_j(x_j)``;
then the highest level ``l`` whose period divides ``t + 1`` averages its groups. Aggregation and
recording work on the workers sorted once (at setup) so that every level's groups are
contiguous (:class:`empirical.aggregation.SortedLevels`): a level's means are a reshape-mean or
a segment sum, written back with one ``np.take``; never a loop over workers or seeds. The state
stays in the problem's worker order, so the problem never sees a permutation.

Recording (docs/theory.md §1.4 Horizon and recording convention): before each recorded step
``t`` the global average ``u^t`` is formed and ``||grad f(u^t)||^2``, ``f(u^t)`` and the
per-level model divergences (docs/theory.md §2.1 Definitions; the same numbers as
:func:`bounds.divergence.level_divergences`, which the tests check) are stored.

Randomness: :class:`empirical.streams.SeedStreams` gives every seed its own generator
(``SeedSequence(seed).spawn(seeds)``), drawn as one block per step along the seed axis. The
same ``seed`` gives the same result bit for bit; run ``s`` does not depend on how many seeds
run beside it (so seeds can be split across processes); and the noise stream does not depend
on the hierarchy (runs that differ only in their hierarchy see the same noise, which makes
the equivalences of the tests exact).

The step is fused when the problem declares it (``fused_step = True``, see
:mod:`empirical.problems.protocol`): its ``stochastic_grads`` then takes a keyword-only ``lr``
(as :class:`empirical.problems.HeterogeneousNonconvex`'s) and applies ``x -= lr g`` block
by block while the block is in cache, with the same floating-point operations as ``g *= lr;
x -= g`` afterwards, so fused and unfused runs give the same numbers (:func:`_step_function`).

Weights and partial participation (docs/theory.md §10.1 Setting): with
``weights`` or ``participation`` the loop is :func:`_weighted_loop` (without them, the loop
above, bit for bit as before). A participation round is, by ``participation_mode``, the window
of the level-1 period ``P_1`` (``"local_round"``, the default: the authors' code, a fresh sample
at every level-1 aggregation) or of the top period ``P_M`` (``"global_round"``); at each
round start every seed draws, from its own participation stream
(:func:`empirical.streams.participation_streams`, independent of the noise), ``S`` members of
every level-1 group; the sampled system's weights ``w`` (0 for the others) make the recorded
``u = sum_j w_j x_j``, the weighted group means of the aggregations and the weighted
divergences ``Delta_l = sum_q w_q ||u_q - u_parent(q)||^2``
(:class:`empirical.aggregation.WeightedLevels`). Every worker's gradient and noise are still
computed at every step (the noise is the full run's); the models of the workers sitting out
are written back after each step, so they move only at the aggregation that ends the round
(the global one, or with ``"local_round"`` their level-1 group's, which gives them the group
model). :func:`empirical.reference.reference_run` runs the same rules worker by worker.

Memory: the state ``x``, the gradient buffer ``g`` (lent as scratch to aggregation and
recording, when it holds nothing live) and the problem's own scratch; nothing else of the
state's size is allocated in the loop (with participation, also the sitting-out workers'
models, kept once per round in one buffer allocated at the start).
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from empirical.aggregation import SortedLevels, WeightedLevels
from empirical.hierarchy import Hierarchy
from empirical.problems.protocol import problem_params, require_hooks
from empirical.results import SimulationResult
from empirical.streams import SeedStreams, participation_streams

__all__ = ["PARTICIPATION_MODES", "RECORDS", "DivergenceWarning", "RunTooLarge", "SimulationResult", "check_participation_mode",
           "default_record_every", "simulate"]

RECORDS = 1000  # a run records about this many steps unless told otherwise (default_record_every)
#: the values of ``simulate(..., participation_mode=)``: when the participants are drawn afresh
PARTICIPATION_MODES = ("local_round", "global_round")


class DivergenceWarning(RuntimeWarning):
    """A run produced a non-finite value and was stopped."""


def default_record_every(steps: int) -> int:
    """The ``record_every`` of a run of ``steps`` steps when none is given: ``max(1, steps //
    RECORDS)`` with ``RECORDS = 1000``, so a run records every step up to 1,999 steps and between
    1,000 and 1,999 steps beyond (a record costs about a step; a long run's records stay a small
    share of its time and memory).

    Averages over the recorded steps are then averages over every ``k``-th step, not the
    theorems' ``(1/T) sum_{t<T}`` (docs/theory.md §1.4): pass ``record_every=1`` for that.

    Example:
        >>> [default_record_every(T) for T in (1, 1999, 2000, 3000, 10**6)]
        [1, 1, 2, 3, 1000]
    """
    if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    return max(1, int(steps) // RECORDS)


def _check_inputs(problem: Any, hierarchy: Hierarchy, lr: float, steps: int, seeds: int,
                  record_every: int | None) -> None:
    if not isinstance(hierarchy, Hierarchy):
        raise ValueError(f"hierarchy must be an empirical.Hierarchy, got {type(hierarchy).__name__}")
    require_hooks(problem)
    if problem.n != hierarchy.n:
        raise ValueError(f"problem has n = {problem.n} workers but the hierarchy has n = {hierarchy.n}")
    if isinstance(lr, bool) or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    for name, value in (("steps", steps), ("seeds", seeds), ("record_every", record_every)):
        if name == "record_every" and value is None:  # default_record_every(steps)
            continue
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_weights(weights: ArrayLike | None, n: int) -> NDArray[np.float64] | None:
    """The normalised weights ``p_j = weights_j / sum weights`` (docs/theory.md §10.1 Setting),
    or ``None``."""
    if weights is None:
        return None
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"weights must be {n} positive finite numbers (one per worker), got {weights!r}") from None
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"weights must be {n} positive finite numbers (one per worker), got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"weights must be finite, got a non-finite weight at worker {int(np.argmin(np.isfinite(w)))}")
    if not np.all(w > 0):
        raise ValueError(f"weights must be positive, got {float(w[w <= 0][0])!r} at worker {int(np.argmax(w <= 0))}")
    total = w.sum()
    if not np.isfinite(total):
        raise ValueError("weights must have a finite sum")
    return w / total


def _check_participation(participation: Any, levels: SortedLevels) -> int | None:
    """``S`` (workers per level-1 group per round), checked against the smallest level-1 group."""
    if participation is None:
        return None
    if isinstance(participation, (bool, np.bool_)) or not isinstance(participation, (int, np.integer)) \
            or participation < 1:
        raise ValueError(f"participation must be a positive integer S (workers per level-1 group per round) or "
                         f"None, got {participation!r}")
    smallest = int(levels.sizes[1].min())
    if participation > smallest:
        raise ValueError(f"participation S = {participation} is larger than the smallest level-1 group "
                         f"({smallest} workers)")
    return int(participation)


def check_participation_mode(mode: Any) -> str:
    """``mode``, one of :data:`PARTICIPATION_MODES` (checked even without participation, where it
    has no effect)."""
    if not isinstance(mode, str) or mode not in PARTICIPATION_MODES:
        raise ValueError(f"participation_mode must be 'local_round' or 'global_round', got {mode!r}")
    return mode


def _available_memory() -> int | None:
    """Bytes of memory available now (MemAvailable, or free pages), capped by a cgroup limit."""
    available = None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    try:  # cgroup v2: a container's limit may be below the machine's free memory
        with open("/sys/fs/cgroup/memory.max") as limit, open("/sys/fs/cgroup/memory.current") as used:
            text = limit.read().strip()
            if text != "max":
                available = min(available, int(text) - int(used.read()))
    except (OSError, ValueError):
        pass
    return available


class RunTooLarge(ValueError):
    """A run whose arrays do not fit in memory (:func:`_check_memory`), with the numbers a caller
    needs to say what would fit in its own terms (a command-line tool names its options).

    Attributes:
        need, budget: bytes the run needs, and the three quarters of the available memory it may take.
        steps, record_every: the run's ``T`` and recording interval.
        fitting_record_every: the smallest ``record_every`` that fits at these ``steps`` (``None``
            when the state alone does not fit).
        fitting_steps: the most steps that fit at this ``record_every`` (``0`` when the state
            alone does not fit).
    """

    def __init__(self, message: str, *, need: int, budget: int, steps: int, record_every: int,
                 fitting_record_every: int | None, fitting_steps: int) -> None:
        super().__init__(message)
        self.need, self.budget, self.steps, self.record_every = need, budget, steps, record_every
        self.fitting_record_every, self.fitting_steps = fitting_record_every, fitting_steps


def _check_memory(n: int, d: int, M: int, steps: int, seeds: int, record_every: int, held_rows: int = 0) -> None:
    """Refuse up front a run whose arrays do not fit in the memory available.

    The state ``x``, the gradient buffer and the problem's scratch (three ``(seeds, n, d)``
    arrays), and per recorded step the step index, ``||grad f(u^t)||^2``, ``f(u^t)`` and ``M``
    divergences per seed; a run may take three quarters of the memory available (the rest is
    left for the problem, the interpreter and the averages taken afterwards). The error
    (:class:`RunTooLarge`) says which ``record_every`` would fit, in the parameters' names.
    ``held_rows``: rows of ``d`` numbers kept besides (the models of the workers that sit out a
    round under partial participation).
    """
    available = _available_memory()
    if available is None:
        return
    gib = 2.0**30
    state = 8 * d * (3 * seeds * n + held_rows)
    per_record = 8 * (1 + seeds * (2 + M))
    recorded = -(-steps // record_every)
    need = state + per_record * recorded
    budget = 3 * available // 4
    if need <= budget:
        return
    numbers = dict(need=need, budget=budget, steps=steps, record_every=record_every)
    if state >= budget:
        raise RunTooLarge(f"seeds x n x d = {seeds} x {n} x {d} needs {state / gib:.3g} GiB for the state alone, "
                          f"more than 3/4 of the {available / gib:.3g} GiB of memory available: use fewer seeds, "
                          f"workers (n) or dimensions (d)", fitting_record_every=None, fitting_steps=0, **numbers)
    fits = -(-steps * per_record // (budget - state))
    most = (budget - state) // per_record * record_every
    raise RunTooLarge(f"steps = {steps} recorded every {record_every} step(s) needs {need / gib:.3g} GiB, more than "
                      f"3/4 of the {available / gib:.3g} GiB of memory available: record_every >= {fits} fits, "
                      f"or use fewer steps (at most {most} at this record_every) or seeds",
                      fitting_record_every=fits, fitting_steps=most, **numbers)


def _start(problem: Any, x0: ArrayLike | None, seeds: int) -> NDArray[np.float64]:
    """The start: a ``(d,)`` vector shared by every seed, or ``(seeds, d)``, one row per seed."""
    start = problem.default_x0() if x0 is None else x0
    arr = np.asarray(start, dtype=np.float64)
    if arr.ndim == 2:
        if arr.shape != (seeds, problem.d):
            raise ValueError(f"x0 must be a scalar, a vector of length d = {problem.d} or one row per seed "
                             f"({seeds}, {problem.d}), got shape {arr.shape}")
    elif arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != problem.d):
        raise ValueError(f"x0 must be a scalar or a vector of length d = {problem.d}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("x0 must be finite")
    return arr.astype(np.float64) if arr.ndim == 2 else np.broadcast_to(arr, (problem.d,)).astype(np.float64)


def _schedule(periods: tuple[int, ...]) -> NDArray[np.intp]:
    """``schedule[(t + 1) % P_M]``: the level that averages after step ``t`` (0 for none).

    Example:
        >>> _schedule((2, 4)).tolist()  # after steps t = 3, 0, 1, 2 (t + 1 = 4, 1, 2, 3)
        [2, 0, 1, 0]
    """
    top = periods[-1]
    schedule = np.zeros(top, dtype=np.intp)
    for level, period in enumerate(periods, start=1):
        schedule[::period] = level  # multiples of P_l, coarser levels written last
    return schedule


def _step_function(problem: Any, x: NDArray[np.float64], g: NDArray[np.float64], rng: SeedStreams,
                   lr: float) -> Callable[[], Any]:
    """The step ``x -= lr g(x)`` as a callable with no arguments, formed once per run: the
    problem's fused ``stochastic_grads(..., lr=)`` when it declares ``fused_step``, else
    ``stochastic_grads`` then ``g *= lr; x -= g``. Both do the same floating-point
    operations."""
    stochastic_grads = problem.stochastic_grads
    if problem.fused_step:
        return functools.partial(stochastic_grads, x, rng, g, lr=lr)

    def step() -> None:
        stochastic_grads(x, rng, out=g)
        np.multiply(g, lr, out=g)  # g *= lr; x -= g
        np.subtract(x, g, out=x)
    return step


def _record(t: int, r: int, x: NDArray[np.float64], g: NDArray[np.float64], divergences: Callable[..., Any],
            grad_of: Callable[..., Any], loss_of: Callable[..., Any], metric_items: list[Any],
            records: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]],
            observer: Any) -> dict[str, int] | None:
    """Record row ``r`` before step ``t`` (docs/theory.md §1.4): the per-level divergences and
    the global model ``u`` (``g`` is dead at this point and serves as scratch), then
    ``||grad f(u)||^2``, ``f(u)`` and the metrics; calls ``observer`` once the values are
    finite. Returns the divergence report (step and first bad seed), or ``None``."""
    grad_norm_sq, loss, divergence = records
    div_r = divergence[:, r]
    div_r[...], u = divergences(x, work=g)
    gu = grad_of(u)
    grad_norm_sq[:, r] = np.einsum("sd,sd->s", gu, gu)
    loss[:, r] = loss_of(u)
    for fn, values in metric_items:
        values[:, r] = fn(u)
    if not (np.isfinite(grad_norm_sq[:, r]).all() and np.isfinite(div_r).all()):
        bad = ~np.isfinite(grad_norm_sq[:, r]) | ~np.all(np.isfinite(div_r), axis=-1)
        return {"step": int(t), "seed": int(np.argmax(bad))}
    if observer is not None:
        view = x.view()
        view.flags.writeable = False
        observer(t, view, u)
    return None


def _weighted_loop(problem: Any, periods: tuple[int, ...], levels: SortedLevels, x: NDArray[np.float64],
                   g: NDArray[np.float64], rng: SeedStreams, lr: float, steps: int, seed: int, record_every: int,
                   progress: Any, observer: Any, metric_items: list[Any],
                   records: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]],
                   step: Callable[[], Any], p: NDArray[np.float64], S: int | None,
                   mode: str) -> tuple[int, dict[str, int] | None]:
    """The hot loop with weights ``p`` and, if ``S`` is given, partial participation
    (docs/theory.md §10.1 Setting; the module docstring).

    A round is ``P_M`` steps (``mode = "global_round"``) or ``P_1`` steps (``"local_round"``).
    At every round start (``t % span == 0``) each seed draws ``n`` uniform keys from its own
    participation stream and every level-1 group keeps its ``S`` smallest
    (:meth:`empirical.aggregation.WeightedLevels.sample`); the models of the others (all equal
    to their group's model at a round start) are copied aside once and written back after every
    step and every aggregation below the one that ends the round (level ``M``, or level 1 and
    above for ``"local_round"``), so they do not move during the round; that aggregation gives
    them their group's model like everyone else's. The step
    itself is the full run's (every worker's gradient and noise, fused when the problem allows):
    the noise does not depend on the participation. Fills ``records`` and returns
    ``(rows recorded, divergence report or None)``.
    """
    seeds, n, d = x.shape
    M, top = levels.M, periods[-1]
    # a round: the steps between two draws; ``last``: the lowest aggregation level that ends one
    span, last = (top, M) if mode == "global_round" else (periods[0], 1)
    weighted = WeightedLevels(levels, p)
    if S is None:
        weighted.set_weights(np.broadcast_to(p, (seeds, n)))
        held = flat = keys = part = None
    else:
        part = participation_streams(seed, seeds)
        keys = np.empty((seeds, n))
        held = np.empty((seeds * (n - S * levels.sizes[1].size), d))  # the sitting-out models of a round
        flat = x.reshape(seeds * n, d)
        out_rows = np.empty(held.shape[0], dtype=np.intp)
    aggregate, divergences = weighted.aggregate, weighted.divergences
    grad_of, loss_of = problem.grad, problem.loss
    after = _schedule(periods).tolist()
    tick = max(1, steps // 100)
    take = np.take
    next_record, r, diverged = 0, 0, None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for t in range(steps):
            if part is not None and t % span == 0:  # a round starts: draw who takes part
                part.random(out=keys)
                _, sampled = weighted.sample(keys, S)
                out_rows[...] = np.flatnonzero(~sampled.ravel())
                take(flat, out_rows, axis=0, out=held)
            if t == next_record:
                next_record += record_every
                diverged = _record(t, r, x, g, divergences, grad_of, loss_of, metric_items, records, observer)
                if diverged is not None:
                    break
                r += 1
            step()
            level = after[(t + 1) % top]
            # the sitting-out workers have weight 0: an aggregation ignores their (stepped) rows
            # and overwrites them; below the level that ends the round they are written back once,
            # after it; at or above it they keep what it gives them (the round ends: at the top
            # everyone gets u = sum_j w_j x_j, with "local_round" a level-l aggregation gives
            # every member its level-l group's model)
            if level:
                aggregate(x, level, work=g)
            if level < last and held is not None:
                flat[out_rows] = held
            if progress is not None and (t + 1) % tick == 0:
                progress(t + 1)
    return r, diverged


def simulate(problem: Any, hierarchy: Hierarchy, lr: float, steps: int, seeds: int = 1, seed: int = 0,
             x0: ArrayLike | None = None, record_every: int | None = None, progress: Any = None,
             metrics: dict[str, Any] | None = None,
             observer: Callable[[int, NDArray[np.float64], NDArray[np.float64]], None] | None = None,
             weights: ArrayLike | None = None, participation: int | None = None,
             participation_mode: str = "local_round") -> SimulationResult:
    """Run H-SGD (local SGD when the hierarchy has one level) on ``problem``.

    Args:
        problem: a :class:`empirical.problems.Problem`.
        hierarchy: from :meth:`Hierarchy.local_sgd <empirical.Hierarchy.local_sgd>`,
            :meth:`~empirical.Hierarchy.two_level` or :meth:`~empirical.Hierarchy.multi_level`; same ``n``
            as the problem.
        lr: the step size ``gamma``.
        steps: ``T``, the number of steps.
        seeds: independent runs advanced together.
        seed: root seed of the noise (each run ``s`` gets its own stream, see the module docstring).
        x0: common start (scalar or vector), or one start per seed (shape ``(seeds, d)``, as a
            batch of configurations with their own starts needs, :mod:`empirical.batch`);
            ``None`` for the problem's default.
        record_every: record before every this many steps (``t = 0, k, 2k, ...``); ``None``
            (the default) for :func:`default_record_every`, ``max(1, steps // 1000)``: every
            step up to 1,999 steps, about 1,000 records beyond. Pass ``1`` when every step is
            needed (the theorems' average ``(1/T) sum_{t<T} ||grad f(u^t)||^2``, running
            averages at every horizon, an ``observer`` at every step).
        progress: an optional callable ``progress(steps_done)`` called every 1% of the run.
        metrics: optional ``{name: fn}``; each ``fn(u)`` maps the global averages ``(seeds, d)``
            to ``(seeds,)`` values, recorded with the rest into ``result.extra["metrics"]``.
        observer: optional ``observer(t, x, u)``, called at every recorded step ``t`` before
            the step (after the recording, once the recorded values are finite), with the
            workers' models ``x`` of shape ``(seeds, n, d)`` (a read-only view of the live
            state, valid only during the call) and the global averages ``u`` of shape
            ``(seeds, d)``. Used by :func:`empirical.studies.audit.audit_run`; nothing is done when
            ``None``.
        weights: data-size weights, ``n`` positive finite numbers (normalised to ``p_j``, sum
            1); ``None`` for the problem's own ``weights`` when it has unequal ones (a
            data-partitioned problem, :mod:`empirical.partitions`, whose objective is the
            weighted one), else equal weights ``1/n`` (docs/theory.md §10.1 Setting). Given, the
            global model, the aggregations and the divergences are
            ``p``-weighted (the problem's ``grad`` and ``loss`` should then be the ``p``-weighted
            objective's: that is the problem's job).
        participation: ``None`` (everyone takes part) or ``S``: at the start of every round
            (by ``participation_mode``, below) every level-1 group draws ``S`` of its members,
            uniformly without replacement, from the seed's participation stream
            (:func:`empirical.streams.participation_streams`); only they train, the others keep
            their model until the aggregation that ends the round gives it its new one. The
            sampled system's weights are ``w_j = p_q p_j / sum_{i sampled in q} p_i`` for a member
            ``j`` of level-1 group ``q`` (``p_q``: the group's whole weight) and 0 for the others;
            recorded ``u = sum_j w_j x_j``, aggregations and divergences use ``w`` (module
            docstring). The noise is drawn for every worker at every step, as in a full run.
        participation_mode: when the ``S`` members of every level-1 group are drawn afresh
            (docs/theory.md §10.1; Theorem P, §10.3, covers both):
            ``"local_round"`` (the default; the authors' code, which resamples at every level-1
            aggregation): at the start of every level-1 round of ``P_1`` steps; the sampled
            members start from their group's model and train ``P_1`` steps, the others keep it,
            and the level-1 aggregation that ends the round gives every member the
            ``w``-weighted mean of the sampled ones (higher levels, when they aggregate at the
            same step, combine the level-1 groups with their full weights ``p_q``).
            ``"global_round"``: once per round of ``P_M`` steps; the sampled members train
            through the round, the others keep their model until the global aggregation gives
            everyone ``u``. The two agree when ``P_1 = P_M`` (local SGD) and when ``S`` is every
            group's size. Without ``participation`` the mode has no effect: it is checked, and
            recorded as ``None``.
    Returns:
        A :class:`SimulationResult`. If a non-finite value appears, the run stops at the
        first recorded step where it shows, warns with :class:`DivergenceWarning` naming the
        step and seed, and returns what was recorded before it.

    Example:
        >>> from empirical import HeterogeneousNonconvex, Hierarchy
        >>> p = HeterogeneousNonconvex(n=8, d=3, sigma=0.5)
        >>> r = simulate(p, Hierarchy.two_level(8, 2, 2, 4), lr=0.01, steps=40, seeds=3)
        >>> r.grad_norm_sq.shape, r.divergence.shape
        ((3, 40), (3, 40, 2))
        >>> r = simulate(p, Hierarchy.two_level(8, 2, 2, 4), lr=0.01, steps=40, seeds=3, weights=range(1, 9),
        ...              participation=2)
        >>> r.config["weights"][:3], r.config["participation"]  # 2 of each group's 4 workers per round
        ([1.0, 2.0, 3.0], 2)
        >>> r.config["participation_mode"]  # the authors' timing: a fresh sample every P_1 steps
        'local_round'
    """
    _check_inputs(problem, hierarchy, lr, steps, seeds, record_every)
    if record_every is None:
        record_every = default_record_every(steps)
    levels = SortedLevels(hierarchy.levels, hierarchy.n, validate=False)  # validated by Hierarchy
    if weights is None:  # a data-partitioned problem's own weights, unless they are all equal
        own = problem.weights
        if own is not None and np.ptp(np.asarray(own, dtype=np.float64)) > 0:
            weights = own
    p = _check_weights(weights, hierarchy.n)
    S = _check_participation(participation, levels)
    mode = check_participation_mode(participation_mode)
    held = 0 if S is None else seeds * (hierarchy.n - S * levels.sizes[1].size)
    _check_memory(problem.n, problem.d, hierarchy.M, steps, seeds, record_every, held)
    start = _start(problem, x0, seeds)
    rng = SeedStreams(seed, seeds)
    schedule = _schedule(hierarchy.periods)
    n, d = problem.n, problem.d
    x = np.empty((seeds, n, d))
    x[...] = start if start.ndim == 1 else start[:, None, :]
    g = np.empty_like(x)

    recorded = np.arange(0, steps, record_every)
    R = recorded.size
    grad_norm_sq = np.empty((seeds, R))
    loss = np.empty((seeds, R))
    divergence = np.empty((seeds, R, hierarchy.M))
    metrics = dict(metrics or {})
    metric_values = {name: np.empty((seeds, R)) for name in metrics}
    tick = max(1, steps // 100)
    diverged = None
    r = 0
    # the hot loop: names bound once, the schedule as a list, the step fused when the problem can
    step = _step_function(problem, x, g, rng, lr)
    aggregate, divergences = levels.aggregate, levels.divergences
    grad_of, loss_of = problem.grad, problem.loss
    after = schedule.tolist()
    period = len(after)
    metric_items = [(fn, metric_values[name]) for name, fn in metrics.items()]
    records = (grad_norm_sq, loss, divergence)
    next_record = 0
    if p is not None or S is not None:
        r, diverged = _weighted_loop(problem, hierarchy.periods, levels, x, g, rng, lr, steps, seed, record_every,
                                     progress, observer, metric_items, records, step,
                                     np.full(n, 1.0 / n) if p is None else p, S, mode)
    else:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for t in range(steps):
                if t == next_record:
                    next_record += record_every
                    diverged = _record(t, r, x, g, divergences, grad_of, loss_of, metric_items, records, observer)
                    if diverged is not None:
                        break
                    r += 1
                step()  # x -= lr g (fused block by block when the problem can: the same operations)
                level = after[(t + 1) % period]
                if level:
                    aggregate(x, level, work=g)  # g is dead until the next gradient
                if progress is not None and (t + 1) % tick == 0:
                    progress(t + 1)
    if diverged is not None:
        warnings.warn(f"the run diverged (a non-finite value) at step {diverged['step']}, seed "
                      f"{diverged['seed']}; returning the {r} steps recorded before it", DivergenceWarning, stacklevel=2)
    config = {
        "problem": problem_params(problem),
        "hierarchy": {"n": hierarchy.n, "periods": list(hierarchy.periods),
                      "groups": list(hierarchy.group_counts[1:-1]), "grouping": hierarchy.grouping,
                      "levels": [lab.tolist() for lab in hierarchy.levels]},
        "lr": float(lr), "steps": int(steps), "seeds": int(seeds), "seed": int(seed),
        "x0": start.tolist(), "record_every": int(record_every),
        "weights": None if weights is None else np.asarray(weights, dtype=np.float64).tolist(),
        "participation": S,
        "participation_mode": None if S is None else mode,
    }
    extra = {"metrics": {name: values[:, :r] for name, values in metric_values.items()}} if metrics else {}
    return SimulationResult(steps=recorded[:r], grad_norm_sq=grad_norm_sq[:, :r], loss=loss[:, :r],
                            divergence=divergence[:, :r], config=config, diverged=diverged, extra=extra)
