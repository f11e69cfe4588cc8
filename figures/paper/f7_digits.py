"""F7: a real-data analogue of the paper's non-IID experiments.

scikit-learn's bundled handwritten digits split across 20 workers by label (two classes
each), a one-hidden-layer network (:class:`empirical.problems.digits.DigitsMLP`), and training loss and
test accuracy of the global model for local SGD (period ``I``), H-SGD (``N`` groups, periods
``I, G``, random grouping) and local SGD (period ``G``), with the same seeds and step size,
each curve with its 95% band over seeds.

The theorem is *not applicable* here, and the figure says so: the problem's constants are
estimated (sampled along a pilot trajectory, :meth:`DigitsMLP.constants`), not certified, and
the step size is checked against the condition only at the estimated ``L``. No bound is drawn;
the measured ordering at the last step is decided on per-seed paired differences
(:func:`figures.verdicts.sandwich_order`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import bounds
from empirical.problems.digits import DigitsMLP
from empirical.engine import simulate
from empirical.hierarchy import Hierarchy
from empirical.statistics import confidence_band
from figures.checker import RUNS
from figures.io import publish
from figures.plotting import COLOURS, band_json, draw_band, pyplot, run_names, verdict_words, wrap
from figures.verdicts import NOT_APPLICABLE, Verdict, condition_holds, sandwich_order

__all__ = ["f7_data", "draw_f7", "build_f7", "summary"]


def f7_data(quick: bool = False, lr: float = 0.3) -> dict[str, Any]:
    """Train the three runs; returns loss and accuracy curves with bands, the final values
    per seed, the measured orderings and the theorem's verdict (JSON, not applicable)."""
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr!r}")
    problem = DigitsMLP(n=20, labels_per_worker=2)
    N, I, G = 4, 5, 50
    steps, seeds, every = (500, 2, 25) if quick else (3000, 3, 50)
    runs = {"local_I": Hierarchy.local_sgd(problem.n, I), "hsgd": Hierarchy.two_level(problem.n, N, I, G),
            "local_G": Hierarchy.local_sgd(problem.n, G)}
    out: dict[str, Any] = {"problem": problem.params, "N": N, "I": I, "G": G, "lr": lr, "steps": steps, "seeds": seeds}
    final_loss, final_acc = {}, {}
    for name, h in runs.items():
        r = simulate(problem, h, lr=lr, steps=steps, seeds=seeds, record_every=every,
                     metrics={"test_accuracy": problem.test_accuracy})
        acc = r.extra["metrics"]["test_accuracy"]
        final_loss[name], final_acc[name] = r.loss[:, -1], acc[:, -1]
        out[name] = {"step": r.steps.tolist(), "train_loss": band_json(*confidence_band(r.loss)),
                     "test_accuracy": band_json(*confidence_band(acc)),
                     "final_loss": r.loss[:, -1].tolist(), "final_accuracy": acc[:, -1].tolist()}
    names = [run_names(I, G)[k] for k in RUNS]
    c = problem.constants(runs["hsgd"].levels)
    plain = {"eps_levels[0]": "eps_l", "eps_levels[1]": "eps_g", "f_star": "f*"}
    estimated = [plain.get(name, name) for name in c.estimated()]
    condition = condition_holds(bounds.two_level(), dict(gamma=lr, L=c.L.value, I=I, G=G), name="H-SGD")
    reasons = [f"the constants {', '.join(estimated)} are estimated (sampled), not certified"] if estimated else []
    reasons.append(("at the estimated L = " if "L" in estimated else "at L = ") + f"{c.L.value:.3g}: "
                   + (condition.detail.replace("; ", ", ") if not condition.holds else "the step-size condition holds"))
    theorem = Verdict("the H-SGD bound (docs/theory.md) applies to these runs", None, NOT_APPLICABLE,
                      ", and ".join(reasons)) if estimated or not condition.holds else \
        Verdict("the H-SGD bound (docs/theory.md) applies to these runs", True, "exact", reasons[-1])
    out["constants"] = {"L": c.L.value, "sigma": c.sigma.value, "eps": c.eps.value, "estimated": estimated,
                        "labels": {"L": c.L.label, "sigma": c.sigma.label, "eps": c.eps.label}}
    out["verdicts"] = {
        "theorem": theorem.to_json(),
        "condition_at_estimates": condition.to_json(),
        "loss_order": sandwich_order(*(final_loss[k] for k in RUNS), names=names).to_json(),
        "accuracy_order": sandwich_order(*(final_acc[k] for k in reversed(RUNS)),
                                         names=list(reversed(names))).to_json(),
    }
    return out


def draw_f7(data: dict[str, Any]):
    """Draw F7 from :func:`f7_data`'s output; returns the matplotlib figure."""
    plt = pyplot()
    fig, (loss, acc) = plt.subplots(1, 2, figsize=(11, 4.6))
    names = run_names(data["I"], data["G"], f"H-SGD, N = {data['N']}, periods {data['I']}, {data['G']}")
    for k in RUNS:
        style = {"ls": "--"} if k == "hsgd" else {}
        draw_band(loss, data[k]["step"], data[k]["train_loss"], colour=COLOURS[k], label=names[k], **style)
        draw_band(acc, data[k]["step"], data[k]["test_accuracy"], colour=COLOURS[k], label=names[k], **style)
    v = data["verdicts"]
    loss.set_yscale("log")
    loss.set_xlabel("step t")
    loss.set_ylabel("training loss f(u) of the global model (95% band)")
    loss.set_title(f"expected: local SGD (period {data['I']}) <= H-SGD <= local SGD (period {data['G']})\n"
                   "at the last step (paired over seeds): "
                   + verdict_words(v["loss_order"], yes="in order", no="a side reversed"), fontsize=9)
    acc.set_xlabel("step t")
    acc.set_ylabel("test accuracy of the global model (95% band)")
    acc.set_ylim(0.0, 1.0)
    acc.set_title(f"expected: local SGD (period {data['G']}) <= H-SGD <= local SGD (period {data['I']})\n"
                  "at the last step (paired over seeds): "
                  + verdict_words(v["accuracy_order"], yes="in order", no="a side reversed"), fontsize=9)
    acc.legend(fontsize=8, loc="lower right")
    fig.suptitle(wrap(f"F7: handwritten digits, {data['problem']['n']} workers with "
                      f"{data['problem']['labels_per_worker']} classes each, step size {data['lr']:g}, "
                      f"{data['seeds']} seeds, T = {data['steps']}\nno bound drawn; the theorem: "
                      + verdict_words(v["theorem"], limit=400), 150), fontsize=9)
    fig.tight_layout()
    return fig


def summary(data: dict[str, Any]) -> str:
    """One line: what F7 shows and its verdicts, in words with their basis."""
    v = data["verdicts"]
    losses = ", ".join(f"{np.mean(data[k]['final_loss']):.3g}" for k in RUNS)
    accs = ", ".join(f"{np.mean(data[k]['final_accuracy']):.3f}" for k in RUNS)
    return (f"F7 (digits, {data['problem']['n']} workers, 2 classes each; final loss {losses}, accuracy {accs} for "
            f"local SGD period {data['I']}, H-SGD, local SGD period {data['G']}): order of the final losses: "
            f"{verdict_words(v['loss_order'], yes='in order', no='a side reversed')}; order of the final accuracies: "
            f"{verdict_words(v['accuracy_order'], yes='in order', no='a side reversed')}; the theorem: "
            f"{verdict_words(v['theorem'], limit=400)}")


def build_f7(out_dir: str | Path, quick: bool = False) -> list[Path]:
    """Compute, draw and save F7 (``f7_digits.png/.pdf/.json``) into ``out_dir``."""
    data = f7_data(quick)
    return publish(draw_f7(data), data, Path(out_dir) / "f7_digits")
