"""F9: the proof-step audit: how much slack each link of Theorem 2's derivation leaves along a run.

For every inequality of docs/theory.md, "Derivation of Theorem 2" (the descent step, the
gradient gap, each level's lemma (2), the window sums, the coupling and the doubling),
:func:`empirical.studies.audit.audit_run` measures both sides at every step; F9 draws their ratio
right/left on a log scale, so a reader sees which step loses the factor between Theorem 2 and
the measured value. Two runs: the checker's default problem (two levels, ``N = 4, I = 5,
G = 50``, random grouping, the largest step size Theorem 2's condition allows, ``T = 3000``)
and one saved witness (:mod:`empirical.studies.witnesses`: the kink problem with the level-1
heterogeneity term biting, ``P = 5``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from empirical.studies.audit import audit_run
from empirical.hierarchy import Hierarchy
from empirical.studies.witnesses import build, load_witnesses
from bounds.optimal import largest_step_size
from figures.checker import default_problem
from figures.io import publish
from figures.plotting import pyplot, wrap

__all__ = ["f9_data", "draw_f9", "build_f9", "summary", "WITNESS", "LINKS"]

WITNESS = ("level_1_heterogeneity", 5)
"""The witness F9 audits: its term and period."""

LINKS = {
    "descent": ("descent step, per step", "tab:blue"),
    "gradient_gap": ("gradient gap (A1, Jensen)", "tab:orange"),
    "level_1_lemma": ("level 1: lemma (2)", "tab:green"),
    "level_1_closed_form": ("level 1: Theorem 2's charge 2 b_1(k)", "tab:green"),
    "level_1_window": ("level 1: window sum a_1 + c_1 C_w", "tab:green"),
    "level_2_lemma": ("level 2: lemma (2)", "tab:purple"),
    "level_2_closed_form": ("level 2: Theorem 2's charge 2 b_2(k)", "tab:purple"),
    "level_2_window": ("level 2: window sum a_2 + c_2 C_w", "tab:purple"),
    "descent_summed": ("summed descent (1) at horizon t", "tab:red"),
}
"""Per link drawn per step: the legend text and the colour."""

STYLE = {"lemma": dict(lw=0.8), "closed_form": dict(lw=0.8, ls=":"), "window": dict(lw=0, marker=".", ms=3)}

RUNS = ("default", "witness")


def _default_run(quick: bool) -> tuple[Any, Any, float, int, int]:
    problem = default_problem()
    h = Hierarchy.multi_level(problem.n, [5, 50], [4], grouping="random")
    lr, _ = largest_step_size(h.shape.bound(), L=problem.constants(h.levels).L.value)
    return problem, h, lr, (600 if quick else 3000), (4 if quick else 16)


def _witness() -> dict[str, Any]:
    term, P = WITNESS
    for entry in load_witnesses():
        if entry["term"] == term and entry["instance"]["P"] == P:
            return entry
    raise ValueError(f"the witness library has no {term} witness with P = {P}")  # pragma: no cover


def f9_data(quick: bool = False) -> dict[str, Any]:
    """Audit the default problem (16 seeds, ``T = 3000``; quick: 4 seeds, ``T = 600``) and the
    witness (its saved ``T``, one deterministic run); returns both audits as JSON
    (:meth:`empirical.studies.audit.Audit.to_json`, ratios only) with the witness's library entry."""
    problem, h, lr, T, seeds = _default_run(quick)
    default = audit_run(problem, h, lr, T, seeds=seeds)
    entry = _witness()
    wp, wh = build(entry)
    witness = audit_run(wp, wh, float(entry["gamma"]), int(entry["T"]), seeds=int(entry["seeds"]),
                        seed=int(entry.get("seed", 0)), x0=entry["x0"])
    return {"runs": {"default": {"name": "default problem (the checker's): 32 workers, N = 4 groups, I = 5, G = 50",
                                 **default.to_json(sides=False, digits=4)},
                     "witness": {"name": f"witness: kink problem, {entry['term'].replace('_', ' ')}, "
                                         f"P = {entry['instance']['P']}, 4 workers",
                                 **witness.to_json(sides=False, digits=4)}},
            "witness_entry": {k: entry[k] for k in ("term", "gamma", "T", "periods", "ratio_bound", "ratio_term")},
            "quick": quick}


def _constants_line(run: dict[str, Any]) -> str:
    c, cfg, tot = run["constants"], run["config"], run["totals"]
    return (f"gamma = {cfg['gamma']:.4g}, L = {c['L']:.4g}, T = {cfg['T']}, F0 = {c['F0']:.4g}, "
            f"sigma = {c['sigma']:g}, {cfg['seeds']} seed{'s' if cfg['seeds'] > 1 else ''}; "
            f"Theorem 2 / measured = {tot['theorem2'] / tot['measured']:.3g}")


def _bars(run: dict[str, Any]) -> list[tuple[str, float | None, float | None]]:
    """(label, median, worst) per link, in the order of the proof, plus the factor split."""
    ineqs, f = run["inequalities"], run["factors"]
    rows = [("descent step, per step", ineqs["descent"]["median_ratio"], ineqs["descent"]["worst_ratio"]),
            ("gradient gap (A1, Jensen)", ineqs["gradient_gap"]["median_ratio"], ineqs["gradient_gap"]["worst_ratio"])]
    levels = sorted(int(k.split("_")[1]) for k in ineqs if k.endswith("_lemma"))
    for l in levels:
        for part, words in (("lemma", "lemma (2)"), ("window", "window sum"), ("closed_form", "charge 2 b(k)")):
            s = ineqs[f"level_{l}_{part}"]
            rows.append((f"level {l}: {words}", s["median_ratio"], s["worst_ratio"]))
    rows += [("coupling: W/2 vs the coupling charge", ineqs["coupling"]["median_ratio"], None),
             ("all divergence: 2A vs measured W", f["doubling_total"], None),
             ("of which: window sums, A + cW vs W", f["windows"], None),
             ("of which: doubling, 2A vs A + cW", f["doubling"], None),
             ("summed descent (1) at T vs measured", f["descent_chain"], None),
             ("of which: F0 vs measured f(u0) - f(uT)", f["telescoping"], None),
             ("of which: the steps (gamma/2, ||h||^2, gap)", f["per_step"], None),
             ("Theorem 2 vs (1): W replaced by 2A", f["divergence_chain"], None),
             ("Theorem 2 vs measured = the two above", f["theorem_over_measured"], None)]
    return rows


def draw_f9(data: dict[str, Any]):
    """Draw F9 from :func:`f9_data`'s output; returns the matplotlib figure."""
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(17, 11), gridspec_kw={"height_ratios": [1.0, 1.05]})
    for col, key in enumerate(RUNS):
        run = data["runs"][key]
        ax = axes[0, col]
        ineqs = run["inequalities"]
        missing: list[str] = []
        for name, (label, colour) in LINKS.items():
            if name not in ineqs:
                continue
            ratio = np.array([np.nan if v is None else v for v in ineqs[name]["ratio"]], dtype=float)
            if not np.any(np.isfinite(ratio)):
                missing.append(label)
                continue
            style = next((v for k, v in STYLE.items() if name.endswith(k)), dict(lw=0.8))
            ax.plot(ineqs[name].get("index", np.arange(ratio.size)), ratio, color=colour, label=label, **style)
        ax.axhline(1.0, color="black", lw=1.0, ls="--", label="ratio 1: the inequality is tight (no slack)")
        ax.set_yscale("log")
        ax.set_xlabel("step t (window sums drawn at their window's first step)\neach curve: the right side of "
                      "the inequality over its left side (measured)", fontsize=9)
        seeds = run["config"]["seeds"]
        ax.set_ylabel("slack: right side / left side (log scale)" + (f"\nratio of the means over {seeds} seeds"
                                                                     if seeds > 1 else ""))
        ax.set_title(wrap(f"{run['name']}\n{_constants_line(run)}", 110), fontsize=9)
        ax.legend(fontsize=7, loc="upper center", ncol=2, framealpha=0.85)
        if missing:
            ax.text(0.99, 0.80, wrap("not drawn (this level's measured divergence is 0 at every step, so no "
                                     "ratio): " + "; ".join(missing), 80), transform=ax.transAxes, ha="right",
                    va="top", fontsize=7, bbox=dict(facecolor="white", alpha=0.85, lw=0))
        low, high = ax.get_ylim()
        ax.set_ylim(min(low, 0.5), high * 40)

        ax = axes[1, col]
        rows = _bars(run)
        y = np.arange(len(rows))[::-1]
        med = np.array([np.nan if r[1] is None else r[1] for r in rows], dtype=float)
        worst = np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=float)
        colours = ["tab:grey" if r[0].startswith("of which") else ("tab:red" if "Theorem 2 vs measured" in r[0]
                                                              else "tab:blue") for r in rows]
        ok = np.isfinite(med)
        ax.barh(y[ok], med[ok] - 1, left=1, color=[c for c, k in zip(colours, ok) if k], alpha=0.6)
        ax.plot(worst, y, "k|", ms=12, mew=2, label="worst step (smallest ratio)")
        for yi, m in zip(y, med):
            ax.text(m * 1.08 if np.isfinite(m) else 1.08, yi, f"{m:.3g}" if np.isfinite(m) else
                    "no ratio: this level's measured divergence is 0 throughout", va="center", fontsize=7)
        ax.axvline(1.0, color="black", lw=1.0, ls="--")
        ax.set_yticks(y, [r[0] for r in rows], fontsize=7.5)
        ax.set_ylabel("inequality of the proof, in its order")
        ax.set_xscale("log")
        ax.set_xlabel("slack: right side / left side (log scale); bar: the median over the steps (windows), or "
                      "for a total its ratio;\ngrey rows: the two factors whose product is the row above them",
                      fontsize=8)
        lo, hi = np.nanmin(np.r_[med, worst, 1.0]), np.nanmax(np.r_[med, worst, 1.0])
        ax.set_xlim(lo / 1.5, hi * 4)
        ax.legend(fontsize=7, loc="lower right")
        ax.set_title("which step loses the factor (all verdicts: "
                     f"{_verdict_words(run)})", fontsize=9)
    fig.suptitle("F9: proof-step audit of Theorem 2 (docs/theory.md): both sides of every inequality of its "
                 "derivation, measured along a run", fontsize=11)
    fig.tight_layout()
    return fig


def _verdict_words(run: dict[str, Any]) -> str:
    ineqs = run["inequalities"].values()
    decided = [s for s in ineqs if s["holds"] is not None]
    failed = [s["name"] for s in decided if s["holds"] is False]
    bases = sorted({s["basis"] for s in decided})
    words = f"{len(decided) - len(failed)} of {len(decided)} hold ({', '.join(bases)})"
    return words + (f"; fail: {', '.join(failed)}" if failed else "")


def summary(data: dict[str, Any]) -> str:
    """One line: the factor Theorem 2 / measured on each run and the links that lose most of it."""
    parts = []
    for key in RUNS:
        run = data["runs"][key]
        f = run["factors"]
        i = run["inequalities"]
        parts.append(f"{key}: Theorem 2/measured {f['theorem_over_measured']:.3g} = descent chain "
                     f"{f['descent_chain']:.3g} (F0 vs decrease {f['telescoping']:.3g}, per-step "
                     f"{f['per_step']:.3g}) x divergence chain {f['divergence_chain']:.3g} (doubling 2A/W "
                     f"{f['doubling_total']:.3g}); median slack: descent step {i['descent']['median_ratio']:.3g}, "
                     f"gradient gap {i['gradient_gap']['median_ratio']:.3g}, level-1 lemma "
                     f"{_num(i['level_1_lemma']['median_ratio'])}; links {_verdict_words(run)}")
    return "F9 (proof-step audit): " + "; ".join(parts)


def _num(value: float | None) -> str:
    return "n/a (no divergence)" if value is None else f"{value:.3g}"


def build_f9(out_dir: str | Path, quick: bool = False) -> list[Path]:
    """Compute, draw and save F9 (``f9_audit.png/.pdf/.json``) into ``out_dir``."""
    data = f9_data(quick)
    return publish(draw_f9(data), data, Path(out_dir) / "f9_audit")
