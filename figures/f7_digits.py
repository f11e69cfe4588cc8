"""F7: a real-data analogue of the paper's non-IID experiments.

scikit-learn's bundled handwritten digits split across 20 workers by label (two classes
each), a one-hidden-layer network (:class:`empirical.digits.DigitsMLP`), and training loss and
test accuracy of the global model for local SGD (period ``I``), H-SGD (``N`` groups, periods
``I, G``, random grouping) and local SGD (period ``G``), with the same seeds and step size.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from empirical.digits import DigitsMLP
from empirical.engine import simulate
from empirical.hierarchy import local_sgd, two_level
from figures.checker import RUNS
from figures.io import publish
from figures.plotting import COLOURS, pyplot

__all__ = ["f7_data", "draw_f7", "build_f7"]


def f7_data(quick: bool = False, lr: float = 0.3) -> dict[str, Any]:
    problem = DigitsMLP(n=20, labels_per_worker=2)
    N, I, G = 4, 5, 50
    steps, seeds, every = (500, 2, 25) if quick else (3000, 3, 50)
    runs = {"local_I": local_sgd(problem.n, I), "hsgd": two_level(problem.n, N, I, G), "local_G": local_sgd(problem.n, G)}
    out: dict[str, Any] = {"problem": problem.params, "N": N, "I": I, "G": G, "lr": lr, "steps": steps, "seeds": seeds}
    for name, h in runs.items():
        r = simulate(problem, h, lr=lr, steps=steps, seeds=seeds, record_every=every,
                     metrics={"test_accuracy": problem.test_accuracy})
        out[name] = {"step": r.steps.tolist(), "train_loss": r.loss.mean(axis=0).tolist(),
                     "test_accuracy": r.extra["metrics"]["test_accuracy"].mean(axis=0).tolist()}
    return out


def draw_f7(data: dict[str, Any]):
    plt = pyplot()
    fig, (loss, acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    names = {"local_I": f"local SGD, P={data['I']}", "hsgd": f"H-SGD, N={data['N']}, I={data['I']}, G={data['G']}",
             "local_G": f"local SGD, P={data['G']}"}
    for k in RUNS:
        loss.plot(data[k]["step"], data[k]["train_loss"], color=COLOURS[k], label=names[k])
        acc.plot(data[k]["step"], data[k]["test_accuracy"], color=COLOURS[k], label=names[k])
    loss.set_yscale("log")
    loss.set_xlabel("step")
    loss.set_ylabel("training loss f(u)")
    acc.set_xlabel("step")
    acc.set_ylabel("test accuracy of u")
    acc.set_ylim(0.5, 1.0)
    acc.legend(fontsize=8)
    fig.suptitle(f"F7: digits, {data['problem']['n']} workers with {data['problem']['labels_per_worker']} "
                 f"classes each, lr={data['lr']}, {data['seeds']} seeds")
    fig.tight_layout()
    return fig


def build_f7(out_dir: str | Path, quick: bool = False) -> list[Path]:
    data = f7_data(quick)
    return publish(draw_f7(data), data, Path(out_dir) / "f7_digits")
