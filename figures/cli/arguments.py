"""The problem, hierarchy and cost-model options shared by ``hsgd simulate``, ``check`` and
``advise``, and the objects they make (:func:`make_problem`, :func:`make_hierarchy`,
:func:`make_cost_model`)."""

from __future__ import annotations

import argparse
from typing import Any

from empirical.engine import RunTooLarge, _check_memory, default_record_every
from empirical.hierarchy import GROUPINGS, Hierarchy
from empirical.problems import FiniteSumLogistic, HeterogeneousNonconvex
from figures.cli.options import integer_option, list_option, real_option

__all__ = ["PROBLEMS", "PARTITIONS", "MAX_SEED", "MAX_SIGMA", "MAX_SPREAD", "COST_DEFAULTS", "COST_RANGE", "add_problem_arguments", "add_hierarchy_arguments",
           "add_cost_arguments", "make_problem", "make_hierarchy", "make_cost_model"]

PROBLEMS = ("nonconvex", "logistic", "digits")
PARTITIONS = ("dirichlet", "shards", "quantity", "iid")
MAX_SEED = 2**63 - 1
NONCONVEX_ONLY = {"sigma": 1.0, "between": 2.0, "within": 1.0, "clusters": 4}  # and their defaults
MAX_SIGMA = 1e50
"""Largest ``--sigma``: a run's squared gradient norms scale as ``sigma^2`` and their variance over
seeds as ``sigma^4``; at ``1e77`` that overflows (confidence intervals of ``-inf .. inf``), at
``1e154`` the bound itself does."""
MAX_SPREAD = 1e3
"""Largest ``--between`` and ``--within``: the certification of ``eps``
(:meth:`empirical.problems.HeterogeneousNonconvex._sup_divergence`) covers the span of the
centres ``c_jk`` with intervals of width 1/4, so its time and memory grow linearly with the
spread: about 1 s at 1e3 with the default ``n``, ``d``, 100 s at 1e6, out of memory at 1e9, and
beyond 1e150 the interval count itself overflows."""
DEFAULT_D = 10
TWO_LEVEL = {"N": 4, "I": 5, "G": 50}  # and their defaults

_count = integer_option()
_seed = integer_option(0, MAX_SEED)
_non_negative = real_option("non-negative")


def add_problem_arguments(p: argparse.ArgumentParser) -> None:
    """The options that choose and shape the problem (shared with ``hsgd check``)."""
    p.add_argument("--problem", choices=PROBLEMS, default="nonconvex",
                   help="nonconvex: HeterogeneousNonconvex (certified constants); logistic: finite-sum "
                        "logistic regression with minibatches (estimated sigma, eps); digits: a small network on "
                        "scikit-learn's digits (estimated constants)")
    p.add_argument("--n", type=_count, default=32, help="workers (default 32)")
    p.add_argument("--d", type=_count, default=None,
                   help="dimension, --problem nonconvex or logistic (default 10; digits has its network's own)")
    # nonconvex-only options default to None so that giving one with --problem logistic is an error
    p.add_argument("--sigma", type=real_option("non-negative", high=MAX_SIGMA), default=None,
                   help=f"gradient noise, nonconvex problem (default 1; at most {MAX_SIGMA:g}: the measured "
                        "squared gradient norms grow as sigma^2 and their spread over seeds as sigma^4, which "
                        "overflows floating point near 1e77)")
    spread = real_option("non-negative", high=MAX_SPREAD)
    p.add_argument("--between", type=spread, default=None,
                   help=f"heterogeneity between clusters, nonconvex problem (default 2; at most {MAX_SPREAD:g}: "
                        "certifying eps visits the span of the centres in steps of 1/4, so its time grows "
                        "linearly with --between and --within, a few seconds at 1e3)")
    p.add_argument("--within", type=spread, default=None,
                   help=f"heterogeneity inside clusters, nonconvex problem (default 1; at most {MAX_SPREAD:g}, "
                        "as --between)")
    p.add_argument("--clusters", type=_count, default=None, help="data clusters, nonconvex problem (default 4)")
    p.add_argument("--problem-seed", type=_seed, default=0, help="seed of the problem's data (default 0)")
    p.add_argument("--partition", choices=PARTITIONS, default=None,
                   help="split the data of --problem digits or logistic across workers (default: the problem's own)")
    p.add_argument("--alpha", type=real_option("positive"), default=None,
                   help="Dirichlet concentration, --partition dirichlet or quantity (smaller: more skew)")
    p.add_argument("--classes-per-worker", type=_count, default=None, help="classes per worker, --partition shards")
    p.add_argument("--weights", choices=("data", "equal"), default=None,
                   help="average workers by their data size (data, the default with --partition) or equally "
                        "(docs/theory.md §10)")


COST_DEFAULTS = {"local_latency": 1e-4, "local_bandwidth": 1e9, "global_latency": 1e-2, "global_bandwidth": 1e8,
                 "compute": 1e-3}
"""The defaults of the cost options (:func:`add_cost_arguments`)."""


COST_RANGE = (1e-30, 1e30)
"""The range of every cost option (seconds, bytes, bytes per second; latencies and compute may be 0)."""


def add_cost_arguments(p: argparse.ArgumentParser, *, optional: bool = False) -> None:
    """The network and compute costs of :class:`empirical.cost.CostModel` (``hsgd advise``, ``hsgd check --time``).

    With ``optional`` every option defaults to ``None`` (so that giving one can be told apart
    from not giving it) and :func:`make_cost_model` fills in :data:`COST_DEFAULTS`.
    """
    # every cost within [1e-30, 1e30] (latencies and compute from 0): a time c T + sum_l A_l (latency_l
    # + bytes / bandwidth_l) of at most 2**53 steps then stays below 1e77, finite in floating point
    positive = real_option("positive", low=COST_RANGE[0], high=COST_RANGE[1])
    non_negative = real_option("non-negative", high=COST_RANGE[1])
    if optional:
        p.set_defaults(**{name: None for name in COST_DEFAULTS})
    defaults = {name: (None if optional else value) for name, value in COST_DEFAULTS.items()}
    p.epilog = ((p.epilog + " ") if p.epilog else "") + (
        "Every cost option is at most 1e30 (bandwidths and --model-bytes at least 1e-30), so that the time of a "
        "run stays finite.")
    p.add_argument("--local-latency", type=non_negative, default=defaults["local_latency"],
                   help="local link latency, s (default 1e-4)")
    p.add_argument("--local-bandwidth", type=positive, default=defaults["local_bandwidth"],
                   help="local link bandwidth, B/s (default 1e9)")
    p.add_argument("--middle-latency", type=non_negative, default=None,
                   help="a middle level's latency, s (with --middle-bandwidth: a three-level network)")
    p.add_argument("--middle-bandwidth", type=positive, default=None, help="a middle level's bandwidth, B/s")
    p.add_argument("--global-latency", type=non_negative, default=defaults["global_latency"],
                   help="global link latency, s (default 1e-2)")
    p.add_argument("--global-bandwidth", type=positive, default=defaults["global_bandwidth"],
                   help="global link bandwidth, B/s (default 1e8)")
    p.add_argument("--compute", type=non_negative, default=defaults["compute"], help="seconds per local step (default 1e-3)")
    p.add_argument("--model-bytes", type=positive, default=None, help="bytes per model transfer (default 8 d)")


def make_cost_model(args: argparse.Namespace) -> Any:
    """The :class:`empirical.cost.CostModel` the options of :func:`add_cost_arguments` describe."""
    from empirical.cost import CostModel, LinkCost

    for name, value in COST_DEFAULTS.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    links = [LinkCost(args.local_latency, args.local_bandwidth, "local")]
    middle = (args.middle_latency, args.middle_bandwidth)
    if (middle[0] is None) != (middle[1] is None):
        raise ValueError("--middle-latency and --middle-bandwidth go together (a three-level network)")
    if middle[0] is not None:
        links.append(LinkCost(middle[0], middle[1], "middle"))
    links.append(LinkCost(args.global_latency, args.global_bandwidth, "global"))
    return CostModel(links, compute=args.compute, model_bytes=args.model_bytes)


def add_hierarchy_arguments(p: argparse.ArgumentParser) -> None:
    """The options that choose the hierarchy (shared with ``hsgd check``)."""
    # --N/--I/--G default to None so that mixing them with --groups/--periods is an error
    p.add_argument("--N", type=_count, default=None, help="groups, two levels (default 4)")
    p.add_argument("--I", type=_count, default=None, help="local period (default 5)")
    p.add_argument("--G", type=_count, default=None, help="global period (default 50)")
    p.add_argument("--groups", type=list_option(_count, allow_empty=True), default=None,
                   help="multi-level: K_1,...,K_{M-1}, finest first")
    p.add_argument("--periods", type=list_option(_count), default=None, help="multi-level: P_1,...,P_M, finest first")
    p.add_argument("--grouping", choices=GROUPINGS, default="random", help="how workers are grouped (default random)")
    p.add_argument("--grouping-seed", type=_seed, default=None, help="seed of the random grouping (default 0)")


def _check_problem_options(args: argparse.Namespace) -> None:
    """Options of one problem are an error with the other; fill in the defaults (once)."""
    if getattr(args, "_problem_options_checked", False):
        return
    args._problem_options_checked = True
    for name, default in NONCONVEX_ONLY.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
        elif args.problem != "nonconvex":
            raise ValueError(f"--{name} applies only to --problem nonconvex (got --problem {args.problem})")
    if args.d is None:
        args.d = DEFAULT_D  # for digits only the memory check reads it (as before: the network's size is its own)
    elif args.problem == "digits":
        raise ValueError("--d applies only to --problem nonconvex or logistic (digits has its network's own "
                         "dimension)")
    if args.problem == "nonconvex" and args.clusters > args.n:
        raise ValueError(f"--clusters must be at most --n (each cluster needs a worker), got --clusters {args.clusters} "
                         f"with --n {args.n}")


def _check_hierarchy_options(args: argparse.Namespace) -> None:
    """Two-level and multi-level options exclude each other; fill in the defaults (once)."""
    if getattr(args, "_hierarchy_options_checked", False):
        return
    args._hierarchy_options_checked = True
    multi = args.periods is not None or args.groups is not None
    if multi and (args.periods is None or args.groups is None):
        raise ValueError("--groups and --periods go together (multi-level)")
    for name, default in TWO_LEVEL.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
        elif multi:
            raise ValueError(f"--{name} describes two levels; with --groups and --periods (multi-level) leave it out")
    if args.grouping_seed is None:
        args.grouping_seed = 0
    elif args.grouping != "random":
        raise ValueError(f"--grouping-seed applies only to --grouping random (got --grouping {args.grouping})")


def _levels(args: argparse.Namespace) -> int:
    return len(args.periods) if args.periods is not None else 2


def _check_run_fits(args: argparse.Namespace) -> None:
    """Refuse a run whose arrays do not fit in memory (:func:`empirical.engine._check_memory`), with
    advice in the options this command has: ``--record-every`` only where the command takes it
    (``hsgd simulate``), otherwise fewer ``--steps`` or ``--seeds``. A command whose ``--steps``
    defaults to ``None`` (``hsgd check``) sets ``default_steps`` on its parser for the check."""
    steps = getattr(args, "steps", None) or getattr(args, "default_steps", 1)
    record_every = getattr(args, "record_every", 1)
    if record_every is None:  # hsgd simulate's default: about RECORDS records
        record_every = default_record_every(steps)
    try:
        _check_memory(args.n, args.d, _levels(args), steps, getattr(args, "seeds", 1), record_every)
    except RunTooLarge as err:
        if err.fitting_record_every is None:  # the state alone: its message names --seeds, n and d
            raise
        gib = 2.0**30
        given = "" if getattr(args, "steps", None) else " (the default)"
        head = (f"--steps {steps}{given}" + (f" recorded every {record_every} step(s)" if hasattr(args, "record_every") else "")
                + f" needs {err.need / gib:.3g} GiB, more than the {err.budget / gib:.3g} GiB (3/4 of the memory "
                  "available) a run may take")
        if hasattr(args, "record_every"):
            advice = (f"--record-every {err.fitting_record_every} fits, or use at most --steps {err.fitting_steps} "
                      "or fewer --seeds")
        else:
            advice = f"use at most --steps {err.fitting_steps} or fewer --seeds"
        raise ValueError(f"{head}: {advice}") from None


def make_problem(args: argparse.Namespace) -> Any:
    """The problem the options describe, after checking that a run of its size fits in memory."""
    _check_problem_options(args)
    _check_hierarchy_options(args)
    _check_run_fits(args)
    partition = getattr(args, "partition", None)
    if partition is None:
        for name in ("alpha", "classes_per_worker", "weights"):
            if getattr(args, name, None) is not None:
                raise ValueError(f"--{name.replace('_', '-')} needs --partition (and --problem digits or logistic)")
    elif args.problem == "nonconvex":
        raise ValueError("--partition needs --problem digits or logistic (the nonconvex problem has no data to split)")
    else:
        if partition in ("dirichlet", "quantity") and args.alpha is None:
            raise ValueError(f"--partition {partition} needs --alpha (> 0)")
        if partition == "shards" and args.classes_per_worker is None:
            raise ValueError("--partition shards needs --classes-per-worker")
        if args.alpha is not None and partition not in ("dirichlet", "quantity"):
            raise ValueError(f"--alpha applies only to --partition dirichlet or quantity (got --partition {partition})")
        if args.classes_per_worker is not None and partition != "shards":
            raise ValueError(f"--classes-per-worker applies only to --partition shards (got --partition {partition})")
        options = dict(alpha=args.alpha, classes_per_worker=args.classes_per_worker, seed=args.problem_seed)
        if args.problem == "digits":
            from empirical.problems.digits import digits_partitioned

            return digits_partitioned(partition, args.n, **options)
        return FiniteSumLogistic.partitioned(partition, args.n, d=args.d, **options)
    if args.problem == "digits":
        from empirical.problems.digits import DigitsMLP

        return DigitsMLP(n=args.n, seed=args.problem_seed)
    if args.problem == "logistic":
        return FiniteSumLogistic(n=args.n, d=args.d, seed=args.problem_seed)
    return HeterogeneousNonconvex(n=args.n, d=args.d, sigma=args.sigma, between=args.between, within=args.within,
                                  clusters=args.clusters, seed=args.problem_seed)


def make_hierarchy(args: argparse.Namespace, problem: Any, local_period: int | None = None) -> Hierarchy:
    """The hierarchy the options describe, or local SGD with ``local_period``."""
    if local_period is not None:
        return Hierarchy.local_sgd(args.n, local_period)
    _check_hierarchy_options(args)
    if args.periods is not None:
        return Hierarchy.multi_level(args.n, args.periods, args.groups, grouping=args.grouping,
                                     seed=args.grouping_seed, problem=problem)
    return Hierarchy.two_level(args.n, args.N, args.I, args.G, grouping=args.grouping, seed=args.grouping_seed,
                               problem=problem)
