"""F10: what the Dirichlet label partition does to the constants, the bound and the sandwich.

The handwritten digits (:class:`empirical.problems.digits.DigitsMLP`) split across ``n = 20`` workers by
a Dirichlet(``alpha``) label partition (:func:`empirical.partitions.dirichlet_partition`, seed
:data:`PARTITION_SEED` at every ``alpha``; the test split and the start ``x0`` are the same at
every ``alpha``), the workers weighted by their data size (``f = sum_j p_j F_j``,
docs/theory.md §10.1 Setting), full participation, ``N = 4`` groups, periods ``I = 2`` and
``G = 10``. Two groupings of the same workers:

* ``random``: a seeded random permutation cut into ``N`` blocks (the same at every ``alpha``);
* ``label-aware``: *homogeneous* groups, workers with similar label distributions together
  (:func:`label_aware_grouping`: ordered along the first principal direction of their label
  histograms, then cut into ``N`` contiguous blocks). docs/theory.md §7.3 Remark: grouping
  matters says such groups push the divergence up to the global level (``eps_g`` large).

Four panels against ``alpha`` (log axis):

(a) A3's data-weighted ``eps_l`` (downward) and ``eps_g`` (upward) for each grouping, and the
    total ``eps``, as :meth:`DigitsMLP.constants` estimates them along a pilot trajectory;
(b) Theorem W (docs/theory.md §10.2) at those estimates: local SGD (period ``I``), H-SGD and
    local SGD (period ``G``), with ``omega`` and the noise shares from the data sizes
    (:func:`bounds.federated.participation_shares`), ``F0 = f(x0) - 0`` (cross-entropy is
    ``>= 0``), all at one step size ``gamma``: the largest that meets H-SGD's step-size condition
    at the largest estimated ``L`` of the grid (so at every ``alpha``'s estimate);
(c) the measured left-hand side, the average of ``||grad f(u^t)||^2`` over ``t < T`` (sampled
    every ``record_every`` steps), mean over seeds with its 95% confidence interval, for the
    same four runs and step size;
(d) where H-SGD sits inside the sandwich, ``(H-SGD - local SGD(I)) / (local SGD(G) - local SGD(I))``:
    0 is local SGD with period ``I``, 1 with period ``G``; measured (per seed, paired, with its
    95% CI) and in the bounds of (b).

Every constant is *estimated* (sampled), not certified, so the bounds are not guarantees: each
verdict about them is *not applicable*, with that reason (figures/verdicts.py). The measured
orderings are statistical verdicts on per-seed paired differences.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

import bounds
from bounds.federated import participation_shares
from bounds.instance import Instance, theorem_terms
from bounds.theorems import THEOREM_P
from empirical.problems.digits import digits_partitioned
from empirical.engine import simulate
from bounds.federated import largest_step_size
from empirical.hierarchy import Hierarchy
from empirical.partitions import label_entropy
from empirical.statistics import confidence_interval
from figures.io import publish
from figures.plotting import COLOURS, pyplot, tally, verdict_words, wrap
from figures.verdicts import NOT_APPLICABLE, Verdict, bound_holds, condition_holds, sandwich_order

__all__ = ["ALPHAS", "QUICK_ALPHAS", "GROUPINGS", "PARTITION_SEED", "label_aware_grouping", "f10_data", "draw_f10",
           "build_f10", "summary"]

ALPHAS = (0.05, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0)
"""Dirichlet concentrations of the full figure (small: few classes per worker)."""

QUICK_ALPHAS = (0.1, 100.0)
"""The quick figure's concentrations."""

GROUPINGS = ("random", "label-aware")
"""The two groupings drawn."""

PARTITION_SEED = 0
"""Seed of the Dirichlet partition (and of the problem: test split and start) at every ``alpha``."""

N_WORKERS, N_GROUPS, PERIOD_I, PERIOD_G = 20, 4, 2, 10

LINES = {"random": dict(ls="-", marker="o"), "label-aware": dict(ls="--", marker="s")}
EPS_COLOURS = {"eps_l": "tab:purple", "eps_g": "tab:red", "eps": "0.45"}


def label_aware_grouping(labels: ArrayLike, partition: Sequence[ArrayLike], N: int) -> NDArray[np.intp]:
    """Homogeneous groups: workers with similar label distributions together.

    Each worker's label histogram (shares of each class among its items) is centred on the
    mean histogram; the workers are ordered along the first principal direction of these
    (stable sort; in index order when all histograms are equal) and the order is cut into
    ``N`` contiguous blocks whose sizes differ by at most one (docs/theory.md §7.3 Remark:
    grouping matters: such groups move the divergence to the global level).

    Args:
        labels: the class of every item, ``(size,)`` non-negative integers.
        partition: ``n`` index arrays, worker ``j``'s items.
        N: number of groups, ``1 <= N <= n``.

    Returns:
        ``(n,)`` group labels ``0 .. N-1``.

    Example:
        >>> labels = np.array([0, 0, 1, 1, 0, 1, 1, 0])
        >>> label_aware_grouping(labels, [[0, 1], [2, 3], [4, 7], [5, 6]], 2).tolist()
        [0, 1, 0, 1]
    """
    y = np.asarray(labels)
    if y.ndim != 1 or y.size == 0 or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ValueError("labels must be a non-empty 1-d array of non-negative integers")
    n = len(partition)
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or not 1 <= N <= n:
        raise ValueError(f"N must be an integer between 1 and n = {n}, got {N!r}")
    k = int(y.max()) + 1
    hist = np.empty((n, k))
    for j, part in enumerate(partition):
        idx = np.asarray(part, dtype=np.intp)
        if idx.ndim != 1 or idx.size == 0:
            raise ValueError(f"partition[{j}] must be a non-empty 1-d index array")
        counts = np.bincount(y[idx], minlength=k)
        hist[j] = counts / counts.sum()
    centred = hist - hist.mean(axis=0)
    if np.any(np.abs(centred) > 1e-12):
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        order = np.argsort(centred @ vt[0], kind="stable")
    else:
        order = np.arange(n)
    groups = np.empty(n, dtype=np.intp)
    groups[order] = np.arange(n) * N // n
    return groups


def _ci(samples: ArrayLike) -> dict[str, Any]:
    x = np.asarray(samples, dtype=float)
    mean, lo, hi = confidence_interval(x)
    return {"mean": mean, "ci_low": None if not np.isfinite(lo) else lo, "ci_high": None if not np.isfinite(hi) else hi,
            "per_seed": x.tolist()}


def _theorem_w(gamma: float, L: float, sigma: float, F0: float, T: int, sizes: NDArray[np.intp],
               levels: list[NDArray[np.intp]], periods: tuple[int, ...], eps: tuple[float, ...]) -> dict[str, Any]:
    """Theorem W's terms at these constants; ``omega`` and the shares from the data sizes (exact)."""
    shares = participation_shares([int(s) for s in sizes], levels, len(sizes))
    n = len(sizes)
    x = Instance(gamma=gamma, L=L, sigma=sigma, F0=F0, n=n, T=T, periods=periods,
                 counts=(n, *(int(lab.max()) + 1 for lab in levels), 1), eps=eps, omega=float(shares.omega),
                 noise_shares=tuple(float(s) for s in shares.shares))
    terms = theorem_terms(x, THEOREM_P)  # D: the level terms; at full participation the sampling term is 0
    D = sum(v for k, v in terms.items() if k.startswith("level_"))
    return {"omega": float(shares.omega), "shares": [float(s) for s in shares.shares],
            "terms": {**terms, "divergence": D, "total": sum(terms.values())}}


def _settings(quick: bool) -> tuple[int, int, int]:
    """``(T, seeds, record_every)``."""
    return (100, 3, 10) if quick else (300, 4, 10)


def f10_data(quick: bool = False, alphas: Sequence[float] | None = None) -> dict[str, Any]:
    """Constants, Theorem W bounds and measured runs for every ``alpha`` and grouping (JSON).

    Args:
        quick: the small version (:data:`QUICK_ALPHAS`, ``T = 100``, 3 seeds) instead of
            :data:`ALPHAS`, ``T = 300``, 4 seeds.
        alphas: the Dirichlet concentrations instead (each ``> 0``, at least one).

    Returns:
        ``rows`` (one per ``alpha``: partition, estimated constants with labels, ``F0``, the
        local SGD bounds and runs, and per grouping its labels, ``eps_l``, ``eps_g``, H-SGD's
        bound and run, the measured differences and positions, and verdicts), the settings
        (``n, N, I, G, gamma, T, seeds, record_every``) and the figure-wide ``verdicts``.
    """
    if alphas is None:
        alphas = QUICK_ALPHAS if quick else ALPHAS
    alphas = [float(a) for a in alphas]
    if not alphas or any(not (np.isfinite(a) and a > 0) for a in alphas):
        raise ValueError(f"alphas must be a non-empty list of finite numbers > 0, got {alphas!r}")
    n, N, I, G = N_WORKERS, N_GROUPS, PERIOD_I, PERIOD_G
    T, seeds, every = _settings(quick)
    random_levels = list(Hierarchy.two_level(n, N, I, G, grouping="random", seed=0).levels)
    setups = []
    for alpha in alphas:
        problem = digits_partitioned("dirichlet", n, alpha=alpha, seed=PARTITION_SEED)
        levels = {"random": random_levels,
                  "label-aware": [label_aware_grouping(problem.labels, problem.partition, N)]}
        constants = {g: problem.constants(levels[g]) for g in GROUPINGS}
        setups.append((alpha, problem, levels, constants))
    L_max = max(c["random"].L.value for _, _, _, c in setups)
    gamma = largest_step_size(L_max, (I, G))  # H-SGD's condition, exactly, at the largest estimated L
    rows = []
    for alpha, problem, levels, constants in setups:
        c = constants["random"]
        L, sigma, eps = c.L.value, c.sigma.value, c.eps.value
        F0 = float(problem.loss(problem.default_x0())) - c.f_star.value
        estimated = sorted({name for g in GROUPINGS for name in constants[g].estimated()})
        plain = [{"eps_levels[0]": "eps_l", "eps_levels[1]": "eps_g"}.get(e, e) for e in estimated]
        values = dict(gamma=gamma, L=L, I=I, G=G)
        condition = condition_holds(bounds.two_level(), values, name="H-SGD",
                                    estimated=["L"] if "L" in estimated else [])
        at_estimate = condition_holds(bounds.two_level(), values, name="H-SGD at the estimated L")
        runs = {"local_I": Hierarchy.local_sgd(n, I), "local_G": Hierarchy.local_sgd(n, G),
                **{g: Hierarchy.two_level(n, N, I, G, grouping=levels[g][0]) for g in GROUPINGS}}
        measured = {k: simulate(problem, h, lr=gamma, steps=T, seeds=seeds, record_every=every,
                                weights=problem.weights).running_avg[:, -1] for k, h in runs.items()}
        local = {}
        for key, P in (("local_I", I), ("local_G", G)):
            w = _theorem_w(gamma, L, sigma, F0, T, problem.sizes, [], (P,), (eps,))
            local[key] = {"bound": w["terms"]["total"], "terms": w["terms"], "omega": w["omega"],
                          "measured": _ci(measured[key]),
                          "bound_valid": bound_holds(measured[key], w["terms"]["total"], condition=condition,
                                                     estimated=plain, name=f"local SGD, period {P}").to_json()}
        groupings = {}
        low, high = measured["local_I"], measured["local_G"]
        for g in GROUPINGS:
            cg = constants[g]
            eps_l, eps_g = cg.eps_levels[0].value, cg.eps_levels[1].value
            w = _theorem_w(gamma, L, sigma, F0, T, problem.sizes, levels[g], (I, G), (eps_l, eps_g))
            B = [local["local_I"]["bound"], w["terms"]["total"], local["local_G"]["bound"]]
            ordered = B[0] <= B[1] <= B[2]
            names = [f"local SGD (P = {I})", f"H-SGD ({g})", f"local SGD (P = {G})"]
            with np.errstate(divide="ignore", invalid="ignore"):
                position = (measured[g] - low) / (high - low)
            groupings[g] = {
                "labels": [int(v) for v in levels[g][0]], "eps_l": eps_l, "eps_g": eps_g,
                "eps_labels": [e.label for e in cg.eps_levels], "omega": w["omega"], "shares": w["shares"],
                "bound": w["terms"]["total"], "terms": w["terms"],
                "bound_position": (B[1] - B[0]) / (B[2] - B[0]) if B[2] > B[0] else None,
                "measured": _ci(measured[g]),
                "differences": {"hsgd - local_I": _ci(measured[g] - low), "local_G - hsgd": _ci(high - measured[g])},
                "position": _ci(position) if np.all(np.isfinite(position)) else None,
                "verdicts": {
                    "measured_sandwich": sandwich_order(low, measured[g], high, names=names).to_json(),
                    "bound_valid": bound_holds(measured[g], w["terms"]["total"], condition=condition,
                                               estimated=plain, name=f"H-SGD, {g} grouping").to_json(),
                    "bound_sandwich": Verdict(
                        f"bounds ordered: {' <= '.join(names)} (Theorem W)", None, NOT_APPLICABLE,
                        f"the bounds rest on estimated constants ({', '.join(plain)}): they are not known to be "
                        f"bounds (at the estimates: {'ordered' if ordered else 'not ordered'}, "
                        + ", ".join(f"{b:.4g}" for b in B) + ")").to_json()}}
        rows.append({"alpha": alpha, "partition": dict(problem.partition.spec),
                     "sizes": [int(s) for s in problem.sizes],
                     "label_entropy": float(label_entropy(problem.labels, problem.partition).mean()),
                     "L": L, "sigma": sigma, "eps": eps, "F0": F0, "f_star_lower_bound": c.f_star.value,
                     "labels": {"L": c.L.label, "sigma": c.sigma.label, "eps": c.eps.label,
                                "f_star": c.f_star.label},
                     "estimated": plain, "condition": condition.to_json(),
                     "condition_at_estimate": at_estimate.to_json(), "local": local, "groupings": groupings})
    estimated = sorted({e for r in rows for e in r["estimated"]})
    # the digits' constants are always estimated (DigitsMLP.constants), so the theorem is never checked here
    theorem = Verdict("Theorem W (docs/theory.md §10.2) bounds these runs", None, NOT_APPLICABLE,
                      f"the constants {', '.join(estimated)} are estimated (sampled along a pilot trajectory), "
                      f"not certified: the bound is not a guarantee")
    return {"problem": "digits_mlp", "partition": "dirichlet", "partition_seed": PARTITION_SEED,
            "n": n, "N": N, "I": I, "G": G, "gamma": gamma, "L_max": L_max,
            "gamma_rule": "the largest step size meeting H-SGD's step-size condition exactly at the largest "
                          "estimated L of the grid",
            "steps": T, "seeds": seeds, "record_every": every, "weights": "data size", "participation": "full",
            "measured": f"average of ||grad f(u^t)||^2 over t < T, sampled every {every} steps",
            "grouping_rules": {"random": "a seeded random permutation (seed 0) cut into N blocks, the same at every alpha",
                               "label-aware": "homogeneous: workers ordered along the first principal direction of "
                                              "their label histograms, cut into N contiguous blocks"},
            "alphas": alphas, "rows": rows, "quick": quick,
            "verdicts": {"theorem": theorem.to_json()}}


def _series(rows: list[dict[str, Any]], *path: str) -> np.ndarray:
    out = []
    for r in rows:
        v: Any = r
        for key in path:
            v = None if v is None else v[key]
        out.append(np.nan if v is None else v)
    return np.asarray(out, dtype=float)


def _band(ax: Any, x: np.ndarray, rows: list[dict[str, Any]], path: tuple[str, ...], *, colour: str, label: str,
          **line: Any) -> None:
    ax.plot(x, _series(rows, *path, "mean"), color=colour, label=label, ms=4, **line)
    lo, hi = _series(rows, *path, "ci_low"), _series(rows, *path, "ci_high")
    if np.any(np.isfinite(lo)):
        ax.fill_between(x, lo, hi, color=colour, alpha=0.2, lw=0)


def draw_f10(data: dict[str, Any]):
    """Draw F10 from :func:`f10_data`'s output; returns the matplotlib figure."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    (eps_ax, bnd), (meas, pos) = axes
    rows, x = data["rows"], np.asarray(data["alphas"], dtype=float)
    I, G = data["I"], data["G"]
    for g in GROUPINGS:
        for key, word in (("eps_l", "downward"), ("eps_g", "upward")):
            eps_ax.plot(x, _series(rows, "groupings", g, key), color=EPS_COLOURS[key], ms=4,
                        label=f"{key} ({word}), {g}", **LINES[g])
    eps_ax.plot(x, _series(rows, "eps"), color=EPS_COLOURS["eps"], ls=":", label="eps (total, any grouping)")
    eps_ax.set_ylabel("A3's data-weighted divergence (estimated)")
    eps_ax.set_title("(a) eps_l and eps_g, estimated along a pilot trajectory\n"
                     "label-aware = homogeneous groups (similar label mixes together)", fontsize=9)
    bnd.plot(x, _series(rows, "local", "local_I", "bound"), color=COLOURS["local_I"], marker="^", ms=4,
             label=f"local SGD, period {I}")
    for g in GROUPINGS:
        bnd.plot(x, _series(rows, "groupings", g, "bound"), color=COLOURS["hsgd"], ms=4, label=f"H-SGD, {g}",
                 **LINES[g])
    bnd.plot(x, _series(rows, "local", "local_G", "bound"), color=COLOURS["local_G"], marker="v", ms=4,
             label=f"local SGD, period {G}")
    bnd.set_ylabel("Theorem W bound on the average of $\\|\\nabla f(u^t)\\|^2$")
    met = sum(r["condition_at_estimate"]["holds"] is True for r in rows)
    bnd.set_title(wrap("(b) Theorem W (docs/theory.md §10.2) at the estimated constants; H-SGD's step-size "
                       f"condition at the estimated L met at {met} of {len(rows)} alphas; the theorem: "
                       + verdict_words(data["verdicts"]["theorem"], limit=200), 90), fontsize=8)
    _band(meas, x, rows, ("local", "local_I", "measured"), colour=COLOURS["local_I"], label=f"local SGD, period {I}",
          marker="^")
    for g in GROUPINGS:
        _band(meas, x, rows, ("groupings", g, "measured"), colour=COLOURS["hsgd"], label=f"H-SGD, {g}", **LINES[g])
    _band(meas, x, rows, ("local", "local_G", "measured"), colour=COLOURS["local_G"], label=f"local SGD, period {G}",
          marker="v")
    meas.set_ylabel("measured average of $\\|\\nabla f(u^t)\\|^2$, t < T (95% CI)")
    sandwich = {g: tally([r["groupings"][g]["verdicts"]["measured_sandwich"] for r in rows], "alphas",
                         yes="in order", no="a side reversed", limit=60) for g in GROUPINGS}
    meas.set_title("(c) measured, mean over seeds (the bands overlap: the seeds share their noise, so the\n"
                   "order is decided on paired per-seed differences, (d)); measured sandwich:\n"
                   + "\n".join(f"{g}: {w}" for g, w in sandwich.items()), fontsize=8)
    for g in GROUPINGS:
        _band(pos, x, rows, ("groupings", g, "position"), colour="k", label=f"measured, {g}", **LINES[g])
        pos.plot(x, _series(rows, "groupings", g, "bound_position"), color=COLOURS["hsgd"], ms=4,
                 label=f"Theorem W bounds (b), {g}", **LINES[g])
    pos.axhline(0.0, color=COLOURS["local_I"], lw=0.8)
    pos.axhline(1.0, color=COLOURS["local_G"], lw=0.8)
    pos.set_ylim(-0.25, 1.25)
    pos.set_ylabel(f"(H-SGD $-$ local SGD({I})) / (local SGD({G}) $-$ local SGD({I}))")
    pos.set_title(f"(d) where H-SGD sits in the sandwich: 0 = local SGD, period {I}; 1 = period {G}\n"
                  "measured: per-seed paired ratio, 95% CI", fontsize=9)
    for ax in (eps_ax, bnd, meas, pos):
        ax.set_xscale("log")
        ax.set_xlabel("Dirichlet alpha of the label partition (small: few classes per worker)")
        ax.legend(fontsize=7)
    fig.suptitle(wrap(f"F10: digits, Dirichlet(alpha) label partition (seed {data['partition_seed']}), "
                      f"{data['n']} workers weighted by data size, full participation, N = {data['N']} groups, "
                      f"I = {I}, G = {G}; gamma = {data['gamma']:.4g} (largest allowed at the largest estimated "
                      f"L = {data['L_max']:.3g}), T = {data['steps']}, {data['seeds']} seeds; every constant "
                      "is estimated", 150), fontsize=10)
    fig.tight_layout()
    return fig


def summary(data: dict[str, Any]) -> str:
    """One line: what F10 shows and its verdicts, in words with their basis."""
    rows = data["rows"]
    first, last = rows[0], rows[-1]
    eps_g = "; ".join(f"{g} {first['groupings'][g]['eps_g']:.3g} -> {last['groupings'][g]['eps_g']:.3g}"
                      for g in GROUPINGS)
    sandwich = "; ".join(f"{g}: " + tally([r["groupings"][g]["verdicts"]["measured_sandwich"] for r in rows], "alphas",
                                          yes="in order", no="a side reversed", limit=60) for g in GROUPINGS)
    return (f"F10 (digits, Dirichlet alpha {first['alpha']:g} .. {last['alpha']:g}, {data['n']} workers, "
            f"N = {data['N']}, I = {data['I']}, G = {data['G']}): eps_g (estimated) {eps_g}; measured sandwich "
            f"{sandwich}; Theorem W: {verdict_words(data['verdicts']['theorem'], limit=200)}")


def build_f10(out_dir: str | Path, quick: bool = False) -> list[Path]:
    """Compute, draw and save F10 (``f10_partitions.png/.pdf/.json``) into ``out_dir``."""
    data = f10_data(quick)
    return publish(draw_f10(data), data, Path(out_dir) / "f10_partitions")
