"""F2: the bounds against the global period ``G`` and the number of groups ``N``.

With random grouping, docs/theory.md §6.3 Corollary 1 says the H-SGD bound is the convex combination
``((n-N)/(n-1)) B_local(I) + ((N-1)/(n-1)) B_local(G)``: as ``G`` grows it stays between the
two local SGD curves, and as ``N`` goes from 1 to ``n`` it moves on a straight line (in
``N``) from the local SGD bound with period ``I`` to the one with period ``G``. This figure
shows both, at one step size that satisfies H-SGD's step-size condition at every point;
each point's ordering is decided exactly, and is "not applicable" where a condition fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bounds import local_sgd, random_grouping, two_level
from bounds.optimal import largest_step_size
from figures.io import publish
from figures.plotting import pyplot, tally, verdict_words, wrap
from figures.verdicts import bounds_ordered, condition_holds

__all__ = ["f2_data", "draw_f2", "build_f2", "summary"]


def f2_data(*, n: int = 32, N: int = 4, I: int = 5, G: int = 50, L: float = 1.0, sigma: float = 1.0,
            eps: float = 1.0, F0: float = 10.0, G_multiples: tuple[int, ...] = (1, 2, 4, 5, 10, 20),
            gamma: float | None = None) -> dict[str, Any]:
    """The three bounds against ``G`` (at fixed ``I, N``) and against ``N`` (at fixed ``I, G``).

    The constants are illustrative values, not a problem's. The step size ``gamma`` defaults to
    the largest one the H-SGD condition allows exactly at the largest ``G`` (hence valid for
    all points); ``T`` is 100 times the largest ``G``. Every point's ordering
    ``local SGD (I) <= H-SGD <= local SGD (G)`` is decided exactly
    (:func:`figures.verdicts.bounds_ordered`), and is *not applicable* where a step-size
    condition fails (a given ``gamma`` too large): the formulas are then drawn but bound nothing.
    """
    if gamma is not None and not gamma > 0:
        raise ValueError(f"gamma must be positive, got {gamma!r}")
    hsgd, local = random_grouping(two_level()), local_sgd()
    Gs = [I * m for m in G_multiples]
    G_max = max(Gs + [G])
    T = 100 * G_max
    if gamma is None:
        gamma, limiting = largest_step_size(two_level(), L=L, I=I, G=G_max)
        rule = f"the largest step size H-SGD's condition {limiting} allows at G = {G_max}"
    else:
        rule = "given"
    common = dict(gamma=gamma, L=L, sigma=sigma, n=n, T=T, F0=F0)
    condition = condition_holds(two_level(), dict(gamma=gamma, L=L, I=I, G=G_max), name=f"H-SGD at G = {G_max}")

    def ordered(k: int, g: int):
        return bounds_ordered("local SGD (period I) <= H-SGD (random grouping) <= local SGD (period G)", [
            ("local SGD (period I)", local, dict(common, P=I, eps=eps)),
            ("H-SGD (random grouping)", hsgd, dict(common, N=k, I=I, G=g, eps=eps)),
            ("local SGD (period G)", local, dict(common, P=g, eps=eps))]).to_json()

    vs_G = {
        "G": Gs,
        "local_I": [local.evaluate(strict=False, **common, P=I, eps=eps) for _ in Gs],
        "hsgd": [hsgd.evaluate(strict=False, **common, N=N, I=I, G=g, eps=eps) for g in Gs],
        "local_G": [local.evaluate(strict=False, **common, P=g, eps=eps) for g in Gs],
        "verdicts": [ordered(N, g) for g in Gs],
    }
    Ns = [k for k in range(1, n + 1) if n % k == 0]
    lo, hi = (local.evaluate(strict=False, **common, P=P, eps=eps) for P in (I, G))
    vs_N = {
        "N": Ns,
        "local_I": [lo] * len(Ns),
        "hsgd": [hsgd.evaluate(strict=False, **common, N=k, I=I, G=G, eps=eps) for k in Ns],
        "local_G": [hi] * len(Ns),
        "weight_on_G": [(k - 1) / (n - 1) for k in Ns],
        "verdicts": [ordered(k, G) for k in Ns],
    }
    return {"params": dict(common, N=N, I=I, G=G, eps=eps), "gamma_rule": rule,
            "condition": condition.to_json(), "vs_G": vs_G, "vs_N": vs_N}


def draw_f2(data: dict[str, Any]):
    """Draw F2 from :func:`f2_data`'s output; returns the matplotlib figure."""
    plt = pyplot()
    p = data["params"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6))
    g = data["vs_G"]
    left.plot(g["G"], g["local_G"], "s-", color="tab:blue", label="local SGD, period G")
    left.plot(g["G"], g["hsgd"], "o-", color="tab:orange", label=f"H-SGD (I = {p['I']}, N = {p['N']}), random grouping")
    left.plot(g["G"], g["local_I"], "^-", color="tab:green", label=f"local SGD, period I = {p['I']}")
    left.set_xlabel("global period G")
    left.set_ylabel("bound on the average of $\\|\\nabla f(u^t)\\|^2$")
    left.set_title(wrap("H-SGD's bound between the local SGD bounds as G grows\nordered: "
                        + tally(g["verdicts"], "values of G", yes="yes", limit=50), 75), fontsize=9)
    left.legend(fontsize=8)
    v = data["vs_N"]
    right.plot(v["N"], v["local_G"], "--", color="tab:blue", label=f"local SGD, period G = {p['G']}")
    right.plot(v["N"], v["hsgd"], "o-", color="tab:orange", label=f"H-SGD (I = {p['I']}, G = {p['G']}), random grouping")
    right.plot(v["N"], v["local_I"], ":", color="tab:green", label=f"local SGD, period I = {p['I']}")
    right.set_xlabel(f"number of groups N (n = {p['n']} workers)")
    right.set_ylabel("bound on the average of $\\|\\nabla f(u^t)\\|^2$")
    right.set_title(wrap("a straight line in N from local SGD (period I) to local SGD (period G)\nordered: "
                         + tally(v["verdicts"], "values of N", yes="yes", limit=50), 75), fontsize=9)
    right.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, 0.9))
    fig.suptitle(f"F2: the H-SGD bound with random grouping interpolates (docs/theory.md §6.3 Corollary 1); "
                 f"illustrative constants\ngamma = {p['gamma']:.4g}, L = {p['L']:g}, sigma = {p['sigma']:g}, "
                 f"eps = {p['eps']:g}, T = {p['T']}, F0 = {p['F0']:g}; step-size condition met: "
                 f"{verdict_words(data['condition'])}" + ("" if data["condition"]["holds"] else
                 "\nwhere a condition fails the theorem says nothing: those curves are formulas, not bounds"),
                 fontsize=10)
    fig.tight_layout()
    return fig


def summary(data: dict[str, Any]) -> str:
    """One line: what F2 shows and its verdicts, in words with their basis."""
    p = data["params"]
    return (f"F2 (bounds against G and N, random grouping, illustrative constants, gamma = {p['gamma']:.4g}): "
            f"H-SGD bound {tally(data['vs_G']['verdicts'], 'values of G', yes='between the local SGD bounds')}; "
            f"{tally(data['vs_N']['verdicts'], 'values of N', yes='between them')}")


def build_f2(out_dir: str | Path, quick: bool = False) -> list[Path]:
    """Compute, draw and save F2 (``f2_interpolation.png/.pdf/.json``) into ``out_dir``."""
    data = f2_data(G_multiples=(1, 2, 10) if quick else (1, 2, 4, 5, 10, 20))
    return publish(draw_f2(data), data, Path(out_dir) / "f2_interpolation")
