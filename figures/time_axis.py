"""The checker's runs against wall-clock-equivalent time (issue: communication cost per level).

Steps hide what local aggregation is for: a global aggregation costs far more than a local
one. :func:`run_times` charges each of the checker's three runs (local SGD with period
``P_1``, H-SGD, local SGD with period ``P_M``) with :mod:`empirical.cost`'s model, and
:func:`draw_against_time` plots their running averages against that time, so the sandwich in
steps can be read as a ranking in time.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from empirical.cost import CostModel, timeline
from figures.checker import RUNS, CheckResult

__all__ = ["run_times", "draw_against_time"]


def _periods(result: CheckResult) -> dict[str, list[int]]:
    P = result.params["periods"]
    return {"local_I": [P[0]], "hsgd": list(P), "local_G": [P[-1]]}


def run_times(result: CheckResult, cost_model: CostModel, d: int) -> dict[str, dict[str, Any]]:
    """Per run: the time (s) after each of its ``T`` steps, its total, and its per-level
    aggregations and bytes at ``T`` (the model of :mod:`empirical.cost`, model size ``8 d``
    bytes unless the model says otherwise)."""
    T = result.params["T"]
    out = {}
    for name, periods in _periods(result).items():
        tl = timeline(cost_model, periods, np.arange(1, T + 1), d=d)
        out[name] = {"time": tl.time, "total": float(tl.time[-1]), "aggregations": tl.aggregations[-1].tolist(),
                     "bytes": tl.bytes[-1].tolist(), "links": list(tl.links),
                     "communication_share": float(tl.communication_time[-1] / tl.time[-1]) if tl.time[-1] > 0 else 0.0}
    return out


def draw_against_time(result: CheckResult, cost_model: CostModel, d: int):
    """The measured running averages (mean over seeds, 95% bands) against time (log-log)."""
    from figures.plotting import COLOURS, pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4.4))
    times = run_times(result, cost_model, d)
    P = result.params["periods"]
    labels = {"local_I": f"local SGD, P = {P[0]}", "hsgd": "H-SGD", "local_G": f"local SGD, P = {P[-1]}"}
    for name in RUNS:
        t = times[name]["time"]
        ax.plot(t, result.curves[name], color=COLOURS[name],
                label=f"{labels[name]} ({times[name]['total']:.3g} s, {100 * times[name]['communication_share']:.0f}% "
                      f"communication)")
        lo, hi = result.curve_bands.get(name, (None, None))
        if lo is not None and np.all(np.isfinite(lo)):
            ax.fill_between(t, lo, hi, color=COLOURS[name], alpha=0.25, lw=0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("wall-clock-equivalent time, s (empirical.cost)")
    ax.set_ylabel("running average of $\\|\\nabla f(u^t)\\|^2$")
    links = ", ".join(f"{l.name or 'level'}: {l.latency:g} s + B/{l.bandwidth:g} B/s" for l in cost_model.levels)
    ax.set_title(f"the same runs against time: {links}; compute {cost_model.compute:g} s/step", fontsize=7)
    ax.legend(fontsize=6)
    fig.tight_layout()
    return fig
