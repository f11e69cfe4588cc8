"""F2: the bounds against the global period ``G`` and the number of groups ``N``.

With random grouping, THEORY.md Corollary 1 says the H-SGD bound is the convex combination
``((n-N)/(n-1)) B_local(I) + ((N-1)/(n-1)) B_local(G)``: as ``G`` grows it stays between the
two local SGD curves, and as ``N`` goes from 1 to ``n`` it moves on a straight line (in
``N``) from the local SGD bound with period ``I`` to the one with period ``G``. This figure
shows both, at one step size that satisfies Theorem 1's condition for every point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bounds import local_sgd, random_grouping, two_level
from bounds.optimal import largest_step_size
from figures.io import publish
from figures.plotting import pyplot

__all__ = ["f2_data", "draw_f2", "build_f2"]


def f2_data(*, n: int = 32, N: int = 4, I: int = 5, G: int = 50, L: float = 1.0, sigma: float = 1.0,
            eps: float = 1.0, F0: float = 10.0, G_multiples: tuple[int, ...] = (1, 2, 4, 5, 10, 20)) -> dict[str, Any]:
    """The three bounds against ``G`` (at fixed ``I, N``) and against ``N`` (at fixed ``I, G``).

    The step size is the largest one Theorem 1 allows at the largest ``G`` (hence valid for
    all points); ``T`` is a multiple of every ``G``.
    """
    hsgd, local = random_grouping(two_level()), local_sgd()
    Gs = [I * m for m in G_multiples]
    T = 100 * max(Gs + [G])
    gamma, rule = largest_step_size(two_level(), L=L, I=I, G=max(Gs + [G]))
    common = dict(gamma=gamma, L=L, sigma=sigma, n=n, T=T, F0=F0)
    vs_G = {
        "G": Gs,
        "local_I": [local.evaluate(**common, P=I, eps=eps) for _ in Gs],
        "hsgd": [hsgd.evaluate(**common, N=N, I=I, G=g, eps=eps) for g in Gs],
        "local_G": [local.evaluate(**common, P=g, eps=eps) for g in Gs],
    }
    Ns = [k for k in range(1, n + 1) if n % k == 0]
    lo, hi = local.evaluate(**common, P=I, eps=eps), local.evaluate(**common, P=G, eps=eps)
    vs_N = {
        "N": Ns,
        "local_I": [lo] * len(Ns),
        "hsgd": [hsgd.evaluate(**common, N=k, I=I, G=G, eps=eps) for k in Ns],
        "local_G": [hi] * len(Ns),
        "weight_on_G": [(k - 1) / (n - 1) for k in Ns],
    }
    return {"params": dict(common, N=N, I=I, G=G, eps=eps), "gamma_rule": f"largest gamma allowed by {rule}",
            "vs_G": vs_G, "vs_N": vs_N}


def draw_f2(data: dict[str, Any]):
    """Draw F2 from :func:`f2_data`'s output; returns the matplotlib figure."""
    plt = pyplot()
    p = data["params"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    g = data["vs_G"]
    left.plot(g["G"], g["local_G"], "s-", label="local SGD, period G")
    left.plot(g["G"], g["hsgd"], "o-", label=f"H-SGD (I={p['I']}, N={p['N']}), random grouping")
    left.plot(g["G"], g["local_I"], "^-", label=f"local SGD, period I={p['I']}")
    left.set_xlabel("global period G")
    left.set_ylabel("bound on average $\\|\\nabla f\\|^2$")
    left.set_title("between the local SGD bounds as G grows")
    left.legend(fontsize=8)
    v = data["vs_N"]
    right.plot(v["N"], v["local_G"], "--", label=f"local SGD, period G={p['G']}")
    right.plot(v["N"], v["hsgd"], "o-", label="H-SGD, random grouping")
    right.plot(v["N"], v["local_I"], ":", label=f"local SGD, period I={p['I']}")
    right.set_xlabel(f"number of groups N (n = {p['n']})")
    right.set_title("a straight line in N from local(I) to local(G)")
    right.legend(fontsize=8)
    fig.suptitle(f"F2: Corollary 1's interpolation (gamma = {p['gamma']:.4g}, sigma = {p['sigma']}, eps = {p['eps']})")
    fig.tight_layout()
    return fig


def build_f2(out_dir: str | Path, quick: bool = False) -> list[Path]:
    """Compute, draw and save F2 (``f2_interpolation.png/.pdf/.json``) into ``out_dir``."""
    data = f2_data(G_multiples=(1, 2, 10) if quick else (1, 2, 4, 5, 10, 20))
    return publish(draw_f2(data), data, Path(out_dir) / "f2_interpolation")

