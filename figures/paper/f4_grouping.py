"""F4: the grouping strategy matters (docs/theory.md §7.3 Remark: grouping matters).

The same problem and hierarchy, grouped at random, homogeneously (similar workers together:
the divergence moves up to the global level, ``eps_g`` large) and heterogeneously (mixed
groups: ``eps_g`` small, H-SGD close to local SGD with period ``I``).

Three panels, every bar axis from 0: the measured averages with their 95% confidence
intervals over seeds, the paired differences ``H-SGD - local SGD (period I)`` and ``local SGD
(period G) - H-SGD`` with theirs (the measured sandwich is a difference of a few percent, which
the raw bars cannot show), and the bounds with each grouping's own constants. Verdicts are
the checker's (:func:`figures.checker.run_check`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from empirical.hierarchy import Hierarchy
from figures.checker import NAMES, RUNS, default_problem, run_check
from figures.paper.f1_sandwich import DIFFERENCES
from figures.io import publish
from figures.plotting import COLOURS, pyplot, run_names, tally, verdict_words

__all__ = ["f4_data", "draw_f4", "build_f4", "summary"]

STRATEGIES = ("heterogeneous", "random", "homogeneous")


def f4_data(quick: bool = False, *, lr: float | None = None) -> dict[str, Any]:
    """Run the checker for each grouping strategy; returns measured means with CIs, paired
    differences at ``T`` with CIs, bounds and verdicts (JSON). ``lr`` defaults to the largest
    step size H-SGD's condition allows."""
    problem = default_problem()
    steps, seeds = (1000, 4) if quick else (3000, 8)
    rows = []
    for grouping in STRATEGIES:
        h = Hierarchy.two_level(problem.n, 4, 5, 50, grouping=grouping, problem=problem)
        r = run_check(problem, h, lr=lr, steps=steps, seeds=seeds)
        rows.append({"grouping": grouping, "eps_g": r.constants["eps_g"], "eps_l": r.constants["eps_l"],
                     "empirical": {k: r.empirical[k] for k in RUNS},
                     "differences": {k: {"mean": float(m[-1]), "ci_low": float(lo[-1]), "ci_high": float(hi[-1])}
                                     for k, (m, lo, hi) in r.difference_curves.items()},
                     "bound": r.bound, "gamma": r.params["gamma"], "L": r.constants["L"], "F0": r.constants["F0"],
                     "verdicts": {name: v.to_json() for name, v in r.verdicts.items()}})
    return {"problem": problem.params, "n": problem.n, "N": 4, "I": 5, "G": 50, "steps": steps, "seeds": seeds,
            "rows": rows}


def draw_f4(data: dict[str, Any]):
    """Draw F4 from :func:`f4_data`'s output; returns the matplotlib figure."""
    plt = pyplot()
    fig, (meas, diff, bnd) = plt.subplots(1, 3, figsize=(16.5, 4.8))
    rows = data["rows"]
    x = np.arange(len(rows))
    width = 0.27
    names = run_names(data["I"], data["G"], f"H-SGD, N = {data['N']}")
    for i, k in enumerate(RUNS):
        mean = np.array([r["empirical"][k]["mean"] for r in rows])
        err = np.array([[m - r["empirical"][k]["ci_low"], r["empirical"][k]["ci_high"] - m] for m, r in zip(mean, rows)]).T
        meas.bar(x + (i - 1) * width, mean, width, yerr=err, capsize=2, color=COLOURS[k], label=names[k])
        bnd.bar(x + (i - 1) * width, [r["bound"][k] for r in rows], width, color=COLOURS[k], label=names[k])
    diff_names = {"hsgd - local_I": f"H-SGD $-$ local SGD, period {data['I']}",
                  "local_G - hsgd": f"local SGD, period {data['G']} $-$ H-SGD"}
    diff_colours = {"hsgd - local_I": COLOURS["local_I"], "local_G - hsgd": COLOURS["local_G"]}
    for i, key in enumerate(DIFFERENCES):
        d = [r["differences"][key] for r in rows]
        mean = np.array([v["mean"] for v in d])
        err = np.array([[v["mean"] - v["ci_low"], v["ci_high"] - v["mean"]] for v in d]).T
        diff.bar(x + (i - 0.5) * 0.4, mean, 0.4, yerr=err, capsize=3, color=diff_colours[key], label=diff_names[key])
    diff.axhline(0.0, color="k", lw=0.8)
    labels = [f"{r['grouping']}\neps_g = {r['eps_g']:.2f}\neps_l = {r['eps_l']:.2f}" for r in rows]
    sandwich = [verdict_words(r["verdicts"]["empirical_sandwich"], yes="in order", no="a side reversed")
                for r in rows]
    for ax in (meas, diff, bnd):
        ax.set_xticks(x, labels, fontsize=7)
    meas.set_ylabel("measured average of $\\|\\nabla f(u^t)\\|^2$ (95% CI)")
    meas.set_title("measured, mean over seeds\n(the differences are a few percent: middle panel)", fontsize=9)
    diff.set_ylabel("paired difference of the averages (95% CI)")
    diff.set_title("measured sandwich (paired CIs)\n" + "\n".join(f"{r['grouping']}: {w}" for r, w in zip(rows, sandwich)),
                   fontsize=8)
    bnd.set_ylabel("bound on the average of $\\|\\nabla f(u^t)\\|^2$")
    bnd.set_title("bounds, each grouping's own constants\nbound >= measured: "
                  + tally([r["verdicts"]["bound_valid"] for r in rows], "groupings", yes="holds", limit=50), fontsize=8)
    for ax in (meas, diff, bnd):
        ax.set_ylim(0, ax.get_ylim()[1] * 1.25)
        ax.set_xlabel("grouping strategy (with its constants eps_g, eps_l)", fontsize=8)
        ax.legend(fontsize=7, loc="upper center", ncol=3 if ax is not diff else 2)
    gammas = sorted({r["gamma"] for r in rows})
    r0 = rows[0]
    fig.suptitle(f"F4: grouping strategy, {data['n']} workers, N = {data['N']} groups, I = {data['I']}, "
                 f"G = {data['G']}, {data['seeds']} seeds\ngamma = {', '.join(f'{g:.4g}' for g in gammas)} "
                 f"(largest allowed), L = {r0['L']:.3g}, T = {data['steps']}, F0 = {r0['F0']:.4g}", fontsize=10)
    fig.tight_layout()
    return fig


def summary(data: dict[str, Any]) -> str:
    """One line: what F4 shows and its verdicts, in words with their basis."""
    rows = data["rows"]
    groupings = ", ".join(r["grouping"] for r in rows)
    return (f"F4 (grouping strategies: {groupings}): measured sandwich "
            f"{tally([r['verdicts']['empirical_sandwich'] for r in rows], 'groupings', yes='in order', no='a side reversed')}; "
            f"bounds {tally([r['verdicts']['bound_valid'] for r in rows], 'groupings', yes='hold')}; "
            f"bounds with each grouping's constants "
            f"{tally([r['verdicts']['bound_sandwich_own_grouping'] for r in rows], 'groupings', yes='ordered')}")


def build_f4(out_dir: str | Path, quick: bool = False) -> list[Path]:
    """Compute, draw and save F4 (``f4_grouping.png/.pdf/.json``) into ``out_dir``."""
    data = f4_data(quick)
    return publish(draw_f4(data), data, Path(out_dir) / "f4_grouping")
