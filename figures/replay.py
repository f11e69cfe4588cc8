"""``hsgd replay``: the paper's experimental setups, replayed on scikit-learn's digits.

Wang, Wang, Chen and Ji (AAAI 2022, arXiv:2010.12998) train VGG-11 on CIFAR-10 with the code
at github.com/C3atUofU/Hierarchical-SGD. Their two-level command is ``main_fed.py --num_groups 2
--local_period 10 --group_freq 5 --frac 0.2`` (10 users, minibatch 20, lr 0.02, no momentum).
This module runs the same algorithm, with the same numbers, on a small analogue: a
one-hidden-layer network on the 8x8 digits (:class:`empirical.problems.digits.DigitsMLP`). What
the authors' code does, and where the analogue differs, is listed in the README ("Replaying the
paper's setups").

**The algorithm** is the authors' (``participation_mode="local_round"`` of
:func:`empirical.simulate`, passed explicitly; docs/theory.md §10.1): at each of a group's
``G / I`` local rounds, ``S = int(frac * group size)`` of its members are drawn afresh, they train
``I`` steps from the group model, and the group model becomes their average with their data
sizes renormalised within the sample; at the end of a global round the groups are averaged with
their full data shares. Workers hold whole classes (:func:`empirical.partitions.class_partition`,
the authors' label-sorted split) and the groups are contiguous, so group 0 holds classes 0-4
(group-non-IID); the group-IID variant is the authors' ``cifar_giid``
(:func:`empirical.partitions.group_iid_partition`). The comparators are local SGD with period
``I`` and with period ``G`` that sample ``S`` workers from each of H-SGD's level-1 groups in the
same way (the fair comparator of docs/theory.md §10.4).

**Setups** (:data:`SETUPS`): two levels, group-non-IID and group-IID (``n = 10``, ``N = 2``,
``I = 10``, ``G = 50``, ``S = 1``), and three levels, the intended semantics of the authors'
``three_level_main_fed.py`` (which does not run as written): ``n = 20`` workers (two per class),
4 groups in 2 teams, periods 10, 50, 250 (``--local_period 10 --group_freq 5 --team_epochs 5``),
``S = 1`` per group.

**Claims** (:func:`claims`), each a :class:`figures.verdicts.Verdict` decided on per-seed paired
differences with Student-t 95% intervals (:func:`figures.verdicts.paired_order`); a claim the
interval does not decide is *inconclusive*, never "holds":

* (a) H-SGD lies between local SGD with period ``P_1`` and with period ``P_M``
  (:func:`figures.verdicts.sandwich_order`), in final loss and in final accuracy;
* (b) group-IID grouping beats group-non-IID (H-SGD's final loss and accuracy);
* (c) local aggregation closes more than half of the gap between local SGD at ``G`` and at
  ``I``: decided on the per-seed contrast ``(x_G + x_I) / 2 - x_H`` (H-SGD beyond the midpoint),
  given a gap significantly above 0; the fraction closed is reported with Fieller's interval
  (:func:`empirical.statistics.ratio_interval`), the same test read as an interval.

"Final" is the mean over the last tenth of the recorded points (every 50 steps) of each seed.
The theorems are *not applicable* here (:func:`theorem_verdict`).
"""

from __future__ import annotations

import warnings
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from figures.verdicts import NOT_APPLICABLE, STATISTICAL, Verdict, paired_order, sandwich_order

__all__ = ["AUTHORS", "SETUPS", "RUNS", "Setup", "MODE", "replay_problem", "replay_hierarchies", "replay",
           "claims", "theorem_verdict", "format_report", "final_values", "RECORD_EVERY", "QUICK"]

MODE = "local_round"
"""The participation mode of every run: the authors' resampling at every level-1 aggregation."""

AUTHORS = {"num_users": 10, "num_groups": 2, "local_period": 10, "group_freq": 5, "frac": 0.2, "local_bs": 20,
           "lr": 0.02, "momentum": 0, "team_epochs": 5}
"""The authors' options for the paper's runs (their README's commands and ``utils/options.py``)."""

RECORD_EVERY = 50
"""Steps between two records: one two-level global round (``G = 50``)."""

QUICK = {"rounds": 4, "seeds": 2}
"""The small version (``hsgd figures --quick``, the tests)."""

RUNS = ("local_I", "hsgd", "local_G")
"""The three runs of a setup: local SGD with period ``P_1``, H-SGD, local SGD with period ``P_M``."""


@dataclass(frozen=True)
class Setup:
    """One replayed setup: the data split and the hierarchy.

    Attributes:
        name, title: key and plain description.
        n: workers.
        periods: ``(P_1, ..., P_M)``.
        groups: group counts ``(K_1, ..., K_{M-1})``, contiguous (the authors' ``np.arange`` groups).
        split: ``"class"`` (one class per worker, :func:`empirical.partitions.class_partition`) or
            ``"group_iid"`` (:func:`empirical.partitions.group_iid_partition`).
    """

    name: str
    title: str
    n: int
    periods: tuple[int, ...]
    groups: tuple[int, ...]
    split: str


SETUPS = {
    "group_non_iid": Setup("group_non_iid", "two levels, group-non-IID (group 0 = classes 0-4)", 10, (10, 50), (2,),
                           "class"),
    "group_iid": Setup("group_iid", "two levels, group-IID (the authors' cifar_giid: each group sees every class)",
                       10, (10, 50), (2,), "group_iid"),
    "three_level": Setup("three_level", "three levels, 20 workers (two per class), 4 groups in 2 teams", 20,
                         (10, 50, 250), (4, 2), "class"),
}
"""The setups replayed, by name."""


def _setup(name: str) -> Setup:
    if name not in SETUPS:
        raise ValueError(f"setups must name setups among {', '.join(SETUPS)}, got {name!r}")
    return SETUPS[name]


def replay_problem(setup: str, seed: int = 0) -> Any:
    """The digits problem of ``setup`` (:class:`~empirical.problems.digits.DigitsMLP`, minibatch 20,
    16 hidden units), its training images split as the authors split CIFAR-10; ``seed`` fixes the
    test split, the start and the group-IID halves (the same for every seed of the runs)."""
    from empirical.partitions import class_partition, group_iid_partition
    from empirical.problems.digits import DigitsMLP, digits_train_labels

    s = _setup(setup)
    labels = digits_train_labels(seed=seed)
    parts = (class_partition(labels, s.n) if s.split == "class"
             else group_iid_partition(labels, s.n, s.groups[0], seed=seed))
    return DigitsMLP(n=s.n, batch=AUTHORS["local_bs"], seed=seed, partition=parts)


def replay_hierarchies(setup: str) -> dict[str, Any]:
    """The three runs' hierarchies: H-SGD with contiguous groups, and local SGD with period
    ``P_1`` and ``P_M`` as the same grouping with every period equal, so that it samples ``S``
    workers from each of H-SGD's level-1 groups (docs/theory.md §10.4's comparator)."""
    from empirical.hierarchy import Hierarchy

    s = _setup(setup)
    h = Hierarchy.multi_level(s.n, list(s.periods), list(s.groups), grouping="contiguous")
    return {"local_I": h.every_period(s.periods[0]), "hsgd": h, "local_G": h.every_period(s.periods[-1])}


def _run(setup: str, run: str, steps: int, seeds: int, seed: int, lr: float) -> dict[str, Any]:
    """One run (top-level, for a process pool): loss and test accuracy per recorded step and seed."""
    from empirical.engine import DivergenceWarning, simulate
    from figures.checker import participation_count
    problem = replay_problem(setup)
    h = replay_hierarchies(setup)[run]
    S = participation_count(AUTHORS["frac"], h)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)  # reported in the data ("diverged")
        r = simulate(problem, h, lr=lr, steps=steps + 1, seeds=seeds, seed=seed, record_every=RECORD_EVERY,
                     weights=problem.weights, participation=S, participation_mode=MODE,
                     metrics={"test_accuracy": problem.test_accuracy})
    return {"steps": r.steps, "loss": r.loss, "accuracy": r.extra["metrics"]["test_accuracy"],
            "participation": r.config["participation"], "participation_mode": r.config["participation_mode"],
            "levels": r.config["hierarchy"]["levels"], "periods": list(h.periods), "diverged": r.diverged}


def _check(rounds: Any, seeds: Any, seed: Any, lr: Any, setups: Any) -> list[str]:
    for name, value, low in (("rounds", rounds, 1), ("seeds", seeds, 1), ("seed", seed, 0)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    if isinstance(setups, str) or not setups:
        raise ValueError(f"setups must be a non-empty list of setup names among {', '.join(SETUPS)}, got {setups!r}")
    return [_setup(name).name for name in setups]


def final_values(curves: np.ndarray) -> np.ndarray:
    """Per seed, the mean of the last tenth of the recorded points (at least one), ``(seeds,)``.

    Example:
        >>> final_values(np.array([[5.0] * 19 + [1.0, 3.0], [0.0] * 19 + [2.0, 0.0]])).tolist()  # 20 after the start
        [2.0, 1.0]
    """
    x = np.asarray(curves, dtype=float)
    tail = max(1, (x.shape[1] - 1) // 10)  # the start (t = 0) is not part of the run's end
    return x[:, -tail:].mean(axis=1)


def replay(rounds: int = 100, seeds: int = 6, seed: int = 0, *, lr: float = AUTHORS["lr"],
           setups: Sequence[str] = tuple(SETUPS), executor: Executor | None = None,
           progress: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """Run every setup's three runs and decide the claims; returns the data as JSON-able values.

    Args:
        rounds: two-level global rounds (``G = 50`` steps each); every run, the three-level ones
            included, takes ``T = 50 rounds`` steps (the three-level global round is 250 steps).
        seeds: independent runs (minibatches and samples; the start, the data split and the test
            images are the same in every seed).
        seed: the root seed of the runs' noise and participation streams.
        lr: the step size (the authors' 0.02).
        setups: names in :data:`SETUPS`.
        executor: where the runs go (:func:`figures.executor.executor`); ``None`` runs them here.
        progress: called with a run's name when it finishes.

    Returns:
        ``{"config", "setups": {name: {"title", "n", "periods", "groups", "participation", "runs":
        {run: {"rounds", "loss", "accuracy" (seeds x records), "final_loss", "final_accuracy"}}}},
        "verdicts": {...}}`` (:func:`claims`).

    Raises:
        ValueError: naming the parameter (``rounds``, ``seeds``, ``seed``, ``lr``, ``setups``).
    """
    names = _check(rounds, seeds, seed, lr, setups)
    from figures.executor import InlineExecutor

    pool = executor if executor is not None else InlineExecutor()
    steps = int(rounds) * RECORD_EVERY
    # the three-level runs (twice the workers) first, so that two processes finish together
    order = sorted(((s, r) for s in names for r in RUNS), key=lambda k: -SETUPS[k[0]].n)
    futures = {pool.submit(_run, s, r, steps, int(seeds), int(seed), float(lr)): (s, r) for s, r in order}
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for future in as_completed(futures):
        results[futures[future]] = future.result()
        if progress is not None:
            progress("/".join(futures[future]))
    out: dict[str, Any] = {"config": {"rounds": int(rounds), "steps": steps, "seeds": int(seeds), "seed": int(seed),
                                      "lr": float(lr), "batch": AUTHORS["local_bs"], "frac": AUTHORS["frac"],
                                      "participation_mode": MODE, "record_every": RECORD_EVERY,
                                      "final": "mean of the last tenth of the recorded points, per seed"},
                           "setups": {}}
    for name in names:
        s = SETUPS[name]
        problem = replay_problem(name)
        runs = {}
        for run in RUNS:
            r = results[(name, run)]
            runs[run] = {"rounds": (r["steps"] / s.periods[-1]).tolist(), "loss": r["loss"].tolist(),
                         "accuracy": r["accuracy"].tolist(), "final_loss": final_values(r["loss"]).tolist(),
                         "final_accuracy": final_values(r["accuracy"]).tolist(), "periods": r["periods"],
                         "participation": r["participation"], "participation_mode": r["participation_mode"],
                         "diverged": r["diverged"]}
        out["setups"][name] = {"title": s.title, "n": s.n, "periods": list(s.periods), "groups": list(s.groups),
                               "split": problem.partition.spec, "sizes": problem.sizes.tolist(),
                               "classes": problem.classes, "levels": results[(name, "hsgd")]["levels"],
                               "participation": results[(name, "hsgd")]["participation"], "runs": runs}
    out["verdicts"] = {key: v.to_json() for key, v in claims(out["setups"]).items()}
    return out


def _named(setup: dict[str, Any]) -> dict[str, str]:
    P = setup["periods"]
    return {"local_I": f"local SGD (period {P[0]})", "hsgd": "H-SGD", "local_G": f"local SGD (period {P[-1]})"}


def _finals(setup: dict[str, Any], metric: str) -> dict[str, np.ndarray]:
    return {run: np.asarray(setup["runs"][run][f"final_{metric}"], dtype=float) for run in RUNS}


def _between(setup: dict[str, Any], metric: str) -> Verdict:
    """Claim (a) on one metric: H-SGD between the two local SGD runs (loss: lower is better)."""
    x, names = _finals(setup, metric), _named(setup)
    order = list(RUNS) if metric == "loss" else list(reversed(RUNS))  # worst last for the loss, first for accuracy
    v = sandwich_order(*(x[k] for k in order), names=[names[k] for k in order])
    return Verdict(f"(a) final {metric}: H-SGD between the local SGD runs ({v.claim})", v.holds, v.basis, v.detail,
                   parts=v.parts)


def _closes(setup: dict[str, Any], metric: str) -> Verdict:
    """Claim (c) on one metric: H-SGD closes more than half of the gap between local SGD at ``P_M`` and at ``P_1``."""
    from empirical.statistics import ratio_interval

    x, names = _finals(setup, metric), _named(setup)
    sign = 1.0 if metric == "loss" else -1.0  # "better" is lower loss, higher accuracy
    good, bad, h = sign * x["local_I"], sign * x["local_G"], sign * x["hsgd"]
    claim = (f"(c) final {metric}: H-SGD closes more than 50% of the gap between {names['local_G']} and "
             f"{names['local_I']}")
    worse, better = ((names["local_G"], names["local_I"]) if metric == "loss"
                     else (names["local_I"], names["local_G"]))  # the names of the difference shown
    gap = paired_order(good, bad, lower_name=better, upper_name=worse)
    if not gap.applicable:
        return Verdict(claim, None, NOT_APPLICABLE, gap.detail)
    midpoint, hsgd = (("the midpoint of the two", "H-SGD") if metric == "loss"  # (upper, lower) names of the contrast
                      else ("H-SGD", "the midpoint of the two"))
    beyond = paired_order(h, (good + bad) / 2, lower_name=hsgd, upper_name=midpoint)
    fraction, low, high = ratio_interval(bad - h, bad - good)
    text = (f"fraction closed {fraction:.3g}, 95% Fieller interval {low:.3g} .. {high:.3g}; gap ({gap.detail}); "
            f"H-SGD beyond the midpoint ({beyond.detail})")
    if gap.holds is not True:
        return Verdict(claim, None, STATISTICAL, "the gap between the local SGD runs is not above 0 at 95%, so the "
                       f"fraction is not resolved: {text}", state="unresolved gap")
    return Verdict(claim, beyond.holds, STATISTICAL, text, state=beyond.state)


def _grouping(iid: dict[str, Any], non_iid: dict[str, Any], metric: str) -> Verdict:
    """Claim (b) on one metric: H-SGD with group-IID groups beats group-non-IID."""
    a, b = _finals(iid, metric)["hsgd"], _finals(non_iid, metric)["hsgd"]
    lower, upper = (a, b) if metric == "loss" else (b, a)
    names = ("H-SGD group-IID", "H-SGD group-non-IID") if metric == "loss" else ("H-SGD group-non-IID",
                                                                                 "H-SGD group-IID")
    v = paired_order(lower, upper, lower_name=names[0], upper_name=names[1])
    return Verdict(f"(b) final {metric}: group-IID beats group-non-IID ({v.claim})", v.holds, v.basis, v.detail,
                   state=v.state)


def theorem_verdict() -> Verdict:
    """The theorems on these runs: not applicable, and why (docs/theory.md §10.3, §10.6)."""
    return Verdict("a theorem of docs/theory.md bounds these runs", None, NOT_APPLICABLE,
                   "Theorem P covers the authors' resampling at every level-1 aggregation (docs/theory.md §10.6), "
                   "but the digits network's constants (L, sigma, eps_l, eps_S) can only be estimated, not "
                   "certified (DigitsMLP.constants): a bound at estimated constants proves nothing about the runs")


def claims(setups: dict[str, dict[str, Any]]) -> dict[str, Verdict]:
    """The verdicts on the data of :func:`replay` (``data["setups"]``): (a) and (c) for every setup
    present, (b) when both two-level setups are, and the theorem's (not applicable).

    Each setup needs ``periods`` and, per run of :data:`RUNS`, ``final_loss`` and
    ``final_accuracy`` (one value per seed, the seeds paired across runs and setups).

    Example:
        >>> runs = lambda I, H, G: {k: {"final_loss": v, "final_accuracy": [1 - x for x in v]}
        ...                         for k, v in zip(RUNS, (I, H, G))}
        >>> s = {"periods": [10, 50], "runs": runs([1.0, 1.1, 0.9], [1.2, 1.25, 1.1], [2.0, 2.2, 1.9])}
        >>> v = claims({"group_non_iid": s})
        >>> v["group_non_iid/a/loss"].holds, v["group_non_iid/c/loss"].holds, v["theorem"].word
        (True, True, 'not applicable')
    """
    out: dict[str, Verdict] = {}
    for name, setup in setups.items():
        for metric in ("loss", "accuracy"):
            out[f"{name}/a/{metric}"] = _between(setup, metric)
        for metric in ("loss", "accuracy"):
            out[f"{name}/c/{metric}"] = _closes(setup, metric)
    if "group_iid" in setups and "group_non_iid" in setups:
        for metric in ("loss", "accuracy"):
            out[f"b/{metric}"] = _grouping(setups["group_iid"], setups["group_non_iid"], metric)
    out["theorem"] = theorem_verdict()
    return out


def verdict_word(verdict: dict[str, Any]) -> str:
    """A claim's verdict (JSON) in the replay's words: "holds", "fails", "inconclusive" or "not
    applicable (<reason>)", with the basis."""
    from figures.plotting import verdict_words

    return verdict_words(verdict, yes="holds", no="fails", undecided="inconclusive", limit=400)


def format_report(data: dict[str, Any]) -> str:
    """The replay as text: per setup the final values (mean and 95% CI over seeds), then every
    claim with its verdict, test and numbers."""
    from empirical.statistics import confidence_interval

    c = data["config"]
    lines = [f"hsgd replay: {c['seeds']} seeds (root {c['seed']}), T = {c['steps']} steps per run "
             f"({c['rounds']} two-level global rounds of 50 steps), lr {c['lr']:g}, minibatch {c['batch']}, "
             f"S = int({c['frac']:g} x group size) per group, resampled at every level-1 aggregation "
             f"(participation_mode={c['participation_mode']!r}); final = {c['final']}"]
    for name, s in data["setups"].items():
        names = _named(s)
        lines.append(f"{s['title']}: n = {s['n']}, periods {', '.join(map(str, s['periods']))}, groups "
                     f"{', '.join(map(str, s['groups']))} (contiguous), S = {s['participation']} per group")
        for run in RUNS:
            parts = []
            for metric in ("loss", "accuracy"):
                m, lo, hi = confidence_interval(s["runs"][run][f"final_{metric}"])
                parts.append(f"{metric} {m:.4f} [{lo:.4f}, {hi:.4f}]")
            lines.append(f"  {names[run]:24s} final " + ", ".join(parts))
    lines.append("claims (paired per-seed differences, Student-t 95% intervals; an interval containing 0 is "
                 "inconclusive):")
    for key, v in data["verdicts"].items():
        lines.append(f"  {key:28s} {verdict_word(v)}")
        if v["basis"] != NOT_APPLICABLE:
            lines.append(f"  {'':28s} {v['detail']}")
    return "\n".join(lines)
