"""F8: verification power. Per term, the best ratio measured/bound a witness reaches, and which
wrong theorems (optimistic mutants) the runs kill, for Theorem 2 and for Theorem S.

Left: for each term of the theorem, the best ``measured / bound`` over the runs where that term
is at least half of the bound (log scale; 1 is the bound itself), Theorem 2 and Theorem S side by
side; the run is selected on its own seeds and, when noisy, its ratio measured on 64 fresh seeds.
Right: the kill matrix of Theorem 2's mutants: rows are mutants, columns the groups of runs,
colour the best first-stage margin ``lower 95% CI / mutant bound - 1`` on each run's own seeds,
``x`` where the mutant is killed (a deterministic run above its bound, or a noisy one confirmed
on fresh seeds: :data:`figures.power.RULE`). Data: :func:`figures.power.power_report`.
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np

from figures.io import publish
from figures.plotting import pyplot

__all__ = ["f8_data", "draw_f8", "build_f8", "summary"]

TERM_NAMES = {"init": "init 2F0/(gamma T)", "noise": "noise gamma L sigma^2/n",
              "level_1_noise": "level 1 noise share", "level_1_heterogeneity": "level 1 heterogeneity",
              "level_2_noise": "level 2 noise share", "level_2_heterogeneity": "level 2 heterogeneity"}


def f8_data(out_dir: str | Path, quick: bool = False, progress: bool = False, executor: Executor | None = None
            ) -> dict[str, Any]:
    """Run (or resume) the evidence once and analyse it for Theorem 2 and Theorem S, the fresh-seed
    confirmations (:func:`figures.power.confirm_runs`) on ``executor`` (default: a local pool)."""
    from functools import partial

    from figures.power import analyse, collect_evidence, confirm_runs

    evidence, dropped = collect_evidence(out_dir, quick=quick, progress=progress, executor=executor)
    confirm = partial(confirm_runs, out_dir, quick=quick, executor=executor, progress=progress)
    # keyed as F8's data has always been: "theory" is Theorem 2 (registered as theorem2)
    reports = {key: analyse(evidence, spec, confirm) for key, spec in (("theory", "theorem2"), ("sharp", "sharp"))}
    for report in reports.values():
        report["dropped"] = dropped
        report["quick"] = quick
    return reports


def draw_f8(data: dict[str, Any]):
    plt = pyplot()
    theory, sharp = data["theory"], data["sharp"]
    fig, (bars, matrix) = plt.subplots(1, 2, figsize=(15, 7), gridspec_kw={"width_ratios": [1, 1.3]})
    names = list(TERM_NAMES)
    y = np.arange(len(names))
    for offset, (report, label, colour) in enumerate(((theory, "Theorem 2", "tab:blue"),
                                                      (sharp, "Theorem S (derived here)", "tab:orange"))):
        values = [report["terms"].get(n, {}).get("best_ratio") or np.nan for n in names]
        bars.barh(y + (offset - 0.5) * 0.38, values, height=0.38, color=colour, label=label)
    bars.set_xscale("log")
    bars.set_xlim(0.01, 1.5)
    bars.axvline(1.0, color="k", lw=0.8)
    bars.set_yticks(y, [TERM_NAMES[n] for n in names])
    bars.invert_yaxis()
    bars.set_xlabel("best measured / bound where the term is at least half of the bound (log;\n"
                    "selected on the runs' own seeds, a noisy run measured on fresh seeds)")
    bars.set_title("how much of each term a run reaches", fontsize=9)
    bars.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    groups = theory["groups"]
    rows = theory["mutants"]
    grid = np.array([[np.nan if r["margin_by_group"].get(g) is None else r["margin_by_group"][g] for g in groups]
                     for r in rows], dtype=float)
    shown = np.clip(grid, -1.0, 1.0)
    image = matrix.imshow(shown, cmap="RdYlGn", vmin=-1, vmax=1, aspect="auto")
    for i, r in enumerate(rows):
        for j, g in enumerate(groups):
            if g in r.get("killed_in", ()):
                matrix.text(j, i, "x", ha="center", va="center", fontsize=7)
    matrix.set_yticks(range(len(rows)), [f"{r['name']} ({'killed' if r['killed'] else 'survives'})" for r in rows],
                      fontsize=7)
    matrix.set_xticks(range(len(groups)), [g.replace("witness ", "") for g in groups], rotation=35, ha="right",
                      fontsize=7)
    matrix.set_xlabel("group of runs (witnesses by term, and the F3 battery); white: no run of the group inside\n"
                      "the mutant's condition where the mutation changes the bound")
    matrix.set_title(f"Theorem 2's mutants: {theory['killed']} of {theory['total']} killed (x: killed, a noisy run "
                     f"only when confirmed on {theory['confirmations']['seeds']} fresh seeds;\ncolour: best margin on "
                     f"the runs' own seeds, clipped to [-1, 1])", fontsize=9)
    fig.colorbar(image, ax=matrix, label="lower 95% CI (own seeds) / mutant bound - 1")
    mode = "quick" if theory.get("quick") else "full"
    fig.suptitle(f"F8: verification power ({theory['evidence']} runs, {mode}); theorem killed: "
                 f"{'yes' if theory['theorem_killed'] else 'no'} (Theorem 2), "
                 f"{'yes' if sharp['theorem_killed'] else 'no'} (Theorem S); mutation score "
                 f"{theory['score']:.2f} (Theorem 2), {sharp['score']:.2f} (Theorem S)", fontsize=10)
    fig.tight_layout()
    return fig


def summary(data: dict[str, Any]) -> str:
    """One line: the mutation scores, whether a theorem was killed, the best heterogeneity and noise-share ratios."""
    t, s = data["theory"], data["sharp"]

    def best(report: dict[str, Any], kind: str) -> str:
        values = [v["best_ratio"] for k, v in report["terms"].items() if k.endswith(kind) and k.startswith("level")
                  and v.get("best_ratio") is not None]
        return f"{max(values):.3f}" if values else "none"

    return (f"F8 (verification power, {t['evidence']} runs): mutants killed {t['killed']} of {t['total']} "
            f"(Theorem 2), {s['killed']} of {s['total']} (Theorem S), a noisy run's kill confirmed on "
            f"{t['confirmations']['seeds']} fresh seeds; real theorems killed: "
            f"{'yes' if t['theorem_killed'] else 'no'}, {'yes' if s['theorem_killed'] else 'no'} (statistical, 95%); "
            f"best measured/bound on heterogeneity {best(t, 'heterogeneity')} / {best(s, 'heterogeneity')}, "
            f"on noise shares {best(t, 'noise')} / {best(s, 'noise')} (Theorem 2 / Theorem S; fresh seeds)")


def build_f8(out_dir: str | Path, quick: bool = False, executor: Executor | None = None) -> list[Path]:
    """Compute (resuming the runs in ``out_dir/power_runs``, their confirmations on ``executor``),
    draw and save F8."""
    data = f8_data(out_dir, quick, executor=executor)
    return publish(draw_f8(data), data, Path(out_dir) / "f8_power")
