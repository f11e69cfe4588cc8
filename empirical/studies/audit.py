r"""Proof-step audit: both sides of every inequality of Theorem 2's derivation, measured along a run.

docs/theory.md, "Derivation of Theorem 2" proves the bound by a chain of inequalities. This
module runs the project's engine (:func:`empirical.engine.simulate` with its ``observer``
hook) and measures, at every step ``t < T`` and for every seed, the left and the right side of
each link, with the problem's own constants (``problem.constants(hierarchy.levels)``):

* ``descent`` (step 1, descent), per step. The inequality
  :math:`\mathbb E f(u^{t+1})\le f(u^t)-\frac\gamma2\lVert\nabla f(u^t)\rVert^2+\frac{\gamma L^2}2\sum_l\Delta_l(t)+\frac{L\gamma^2\sigma^2}{2n}`
  is stored rearranged so that both sides are a size of the same thing: left
  :math:`\frac\gamma2\lVert\nabla f(u^t)\rVert^2`, right
  :math:`f(u^t)-f(u^{t+1})+\frac{\gamma L^2}2\sum_l\Delta_l(t)+\frac{L\gamma^2\sigma^2}{2n}`.
  ``right - left`` is exactly the original right side minus the original left side, and
  ``right / left`` is the factor by which the measured decrease (plus the budget) exceeds the
  decrease the proof counts on.
* ``descent_summed`` (step 1, summed, equation (1)), at every prefix horizon ``t + 1``: left the
  average of :math:`\lVert\nabla f(u^\tau)\rVert^2` over :math:`\tau\le t`, right
  :math:`\frac{2F_0}{\gamma(t+1)}+\frac{\gamma L\sigma^2}n+\frac{L^2}{t+1}\sum_{\tau\le t}\sum_l\Delta_l(\tau)`.
* ``gradient_gap`` (step 1, A1 and Jensen), per step: left
  :math:`\lVert\nabla f(u^t)-\frac1n\sum_j\nabla F_j(x_j^t)\rVert^2`, right
  :math:`\frac{L^2}n\sum_j\lVert x_j^t-u^t\rVert^2` (which is :math:`L^2\sum_l\Delta_l(t)`,
  Lemma 1). The middle of the chain, :math:`\frac1n\sum_j\lVert\nabla F_j(u^t)-\nabla F_j(x_j^t)\rVert^2`,
  is kept too (:attr:`Audit.gap_middle`): left to middle is Jensen, middle to right is A1.
* ``level_l_lemma`` (step 2, equation (2)), per step: left the measured :math:`\Delta_l(t)`,
  right :math:`b_l(k)+4\gamma^2L^2k\,C_w` with :math:`k=t-s` the steps since the last level-``l``
  reset, :math:`b_l(k)=2\gamma^2kN_l+4\gamma^2k^2\varepsilon_l^2`, and the coupling
  :math:`C_w=\sum_{\tau\in w}\sum_{m\le l}\Delta_m(\tau)` over the window (cut at ``T - 1``),
  with the measured divergences.
* ``level_l_closed_form``, per step: left :math:`\Delta_l(t)`, right :math:`2b_l(k)`: what
  Theorem 2 charges for step ``k`` of a level-``l`` window (the window sum :math:`a_l` of
  the :math:`b_l(k)`, doubled by the coupling). It is *not* a per-step inequality of the
  proof (the doubling bounds the sum over all windows and levels), so it has no verdict; its
  ratio says how much of Theorem 2's per-step charge the run uses.
* ``level_l_window`` (step 3, the window sum before the closure), per level-``l`` window:
  left :math:`\sum_{t\in w}\Delta_l(t)`, right :math:`\frac r{P_l}a_l+c_lC_w` with
  :math:`c_l=2\gamma^2L^2P_l(P_l-1)` and ``r`` the window's length (``P_l`` unless cut by ``T``).
* ``coupling`` (step 3), per seed: left the coupling charge summed over all windows and levels,
  :math:`\sum_lc_l\sum_{m\le l}W_m` (:math:`W_m=\sum_{t<T}\Delta_m(t)`), right :math:`W/2`,
  the share of the total :math:`W=\sum_lW_l` that the step-size condition allows
  (:math:`c=\sum_lc_l\le\frac12`).
* ``doubling`` (steps 3-4), per seed: left :math:`W`, right :math:`2A` with
  :math:`A=\sum_l\frac T{P_l}a_l`: the closure :math:`W\le A+cW` solved as
  :math:`W\le A/(1-c)\le2A`. :attr:`Audit.totals` also holds :math:`A/(1-c)`, :math:`A+cW`.

**Exact or in expectation.** ``gradient_gap`` holds for every realisation (A1 and Jensen, pointwise),
and so does ``coupling`` (it only uses :math:`c_l\le c\le\frac12`). Every other link holds for
every realisation when :math:`\sigma=0` (no step of the derivation then takes an expectation:
the smoothness inequality, the split, Cauchy-Schwarz and A3's supremum are pointwise) and only in
expectation when :math:`\sigma>0` (the noise enters through its conditional mean and variance).
:meth:`Inequality.summary` decides accordingly: exact links with a floating-point tolerance on
every seed and step; expectation links on the mean over seeds of the whole run's sum of
``right - left``, at 3 standard errors (and it counts the single steps whose mean is more
than 3 standard errors below 0, a number that is not a verdict: many steps are compared).

Example:
    >>> from empirical.problems.witness import QuadraticProblem
    >>> from empirical.hierarchy import Hierarchy
    >>> a = audit_run(QuadraticProblem(L=2.0), Hierarchy.local_sgd(1, 1), lr=0.5, steps=4, seeds=1, x0=[1.0])
    >>> float(a.inequalities["descent"].ratio()[0])   # the tight case: no slack at all
    1.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from empirical.engine import simulate
from empirical.hierarchy import Hierarchy
from empirical.problems.protocol import problem_params
from empirical.statistics import confidence_band

__all__ = ["Inequality", "Audit", "audit_run", "RTOL", "Z"]

RTOL = 1e-9
"""Relative floating-point tolerance of an exact link: ``right - left >= -RTOL * scale``."""

Z = 3.0
"""Standard errors below 0 at which an expectation link is declared violated."""


@dataclass(frozen=True)
class Inequality:
    """Both sides of one link of the derivation, per seed and per step (or window).

    Attributes:
        name: key (``"descent"``, ``"gradient_gap"``, ``"level_1_lemma"``, ...).
        title: the link in plain words.
        where: the step of docs/theory.md, "Derivation of Theorem 2" it audits.
        kind: ``"exact"`` (holds for every realisation), ``"expectation"`` (holds for the
            means) or ``"charge"`` (not an inequality of the proof: compared, never decided).
        index: the step ``t`` (or the window's first step) of each column, ``(K,)``.
        left, right: the two sides, ``(seeds, K)``; the link claims ``left <= right``.
        scale: the size of the numbers that were subtracted, ``(seeds, K)``, for the
            floating-point tolerance of an exact link.
    """

    name: str
    title: str
    where: str
    kind: str
    index: NDArray[np.int64]
    left: NDArray[np.float64]
    right: NDArray[np.float64]
    scale: NDArray[np.float64]

    def mean_left(self) -> NDArray[np.float64]:
        """The left side averaged over seeds, ``(K,)``."""
        return self.left.mean(axis=0)

    def mean_right(self) -> NDArray[np.float64]:
        """The right side averaged over seeds, ``(K,)``."""
        return self.right.mean(axis=0)

    def zero(self) -> NDArray[np.bool_]:
        """Columns whose mean left side is 0 up to rounding (at most :data:`RTOL` times the mean
        scale): a reset, where both sides vanish, or a level with no divergence at all."""
        return self.mean_left() <= RTOL * self.scale.mean(axis=0)

    def ratio(self) -> NDArray[np.float64]:
        """``mean right / mean left`` per column; ``nan`` where the left side is 0 up to
        rounding (:meth:`zero`)."""
        left, right = self.mean_left(), self.mean_right()
        ok = ~self.zero()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(ok, right / np.where(ok, left, 1.0), np.nan)

    def difference(self) -> NDArray[np.float64]:
        """``right - left`` averaged over seeds, ``(K,)``."""
        return (self.right - self.left).mean(axis=0)

    def difference_band(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """``right - left``: mean over seeds and its 95% band, each ``(K,)`` (``nan`` bands with one seed)."""
        return confidence_band(self.right - self.left)

    def summary(self) -> dict[str, Any]:
        """The slack over the run and the verdict, as JSON.

        Returns:
            ``median_ratio`` and ``worst_ratio`` (the median and the smallest of
            :meth:`ratio` over the columns where it is defined, ``None`` if nowhere),
            ``compared`` (that number of columns), ``median_difference`` and
            ``worst_difference`` (of :meth:`difference`), ``kind``, ``holds`` (``True``,
            ``False`` or ``None`` when not decided) with ``basis`` and ``detail`` in words,
            and for expectation links ``steps_below`` (columns whose mean is more than
            :data:`Z` standard errors below 0).
        """
        ratio = self.ratio()
        finite = ratio[np.isfinite(ratio)]
        diff = self.difference()
        out: dict[str, Any] = {
            "name": self.name, "title": self.title, "where": self.where, "kind": self.kind,
            "median_ratio": float(np.median(finite)) if finite.size else None,
            "worst_ratio": float(finite.min()) if finite.size else None,
            "compared": int(finite.size), "columns": int(ratio.size),
            "median_difference": float(np.median(diff)), "worst_difference": float(diff.min()),
        }
        gap = self.right - self.left
        seeds = gap.shape[0]
        if self.kind == "charge":
            out.update(holds=None, basis="not applicable",
                       detail="Theorem 2's per-step charge, not a per-step inequality: it bounds the "
                              "divergence only summed over all windows and levels")
        elif self.kind == "exact":
            bad = gap < -RTOL * np.maximum(self.scale, 1e-300)
            out.update(holds=not bool(bad.any()), basis="exact",
                       detail=f"right >= left on every seed and column (relative tolerance {RTOL:g}); "
                              f"{int(bad.sum())} of {bad.size} fail")
        elif seeds < 2:
            out.update(holds=None, basis="not applicable",
                       detail="holds in expectation only, and one seed gives no standard error")
        else:
            totals = gap.sum(axis=1)
            mean, se = float(totals.mean()), float(totals.std(ddof=1) / math.sqrt(seeds))
            per = gap.std(axis=0, ddof=1) / math.sqrt(seeds) + RTOL * self.scale.mean(axis=0)
            slack = Z * se + RTOL * float(self.scale.sum(axis=1).mean())
            out.update(holds=bool(mean >= -slack), basis="statistical",
                       detail=f"sum over the run of right - left: mean {mean:.4g}, standard error {se:.4g} "
                              f"over {seeds} seeds (violated below -{Z:g} SE)",
                       steps_below=int(np.sum(diff < -Z * per)))
        return out


@dataclass
class Audit:
    """What :func:`audit_run` measured.

    Attributes:
        config: the run (problem parameters, periods, group counts, ``gamma``, ``T``, seeds, seed, ``x0``).
        constants: ``L``, ``sigma``, ``eps_levels``, ``f_star``, ``F0``, ``n`` and their labels.
        steps: ``t = 0 .. T-1``.
        grad_norm_sq: ``||grad f(u^t)||^2``, ``(seeds, T)``.
        loss: ``f(u^t)`` for ``t = 0 .. T``, ``(seeds, T + 1)``.
        divergence: ``Delta_l(t)``, ``(seeds, T, M)``.
        gap: ``||grad f(u^t) - (1/n) sum_j grad F_j(x_j^t)||^2``, ``(seeds, T)``.
        gap_middle: ``(1/n) sum_j ||grad F_j(u^t) - grad F_j(x_j^t)||^2``, ``(seeds, T)``.
        spread: ``(1/n) sum_j ||x_j^t - u^t||^2``, ``(seeds, T)``.
        mean_grad_sq: ``||(1/n) sum_j grad F_j(x_j^t)||^2`` (the ``||h||^2`` step 1 drops), ``(seeds, T)``.
        inequalities: every link, by name (see the module docstring).
        totals: the run's totals and Theorem 2's factor split into its links (:meth:`factors`).
    """

    config: dict[str, Any]
    constants: dict[str, Any]
    steps: NDArray[np.int64]
    grad_norm_sq: NDArray[np.float64]
    loss: NDArray[np.float64]
    divergence: NDArray[np.float64]
    gap: NDArray[np.float64]
    gap_middle: NDArray[np.float64]
    spread: NDArray[np.float64]
    mean_grad_sq: NDArray[np.float64]
    inequalities: dict[str, Inequality] = field(default_factory=dict)
    totals: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[str, Any]]:
        """:meth:`Inequality.summary` of every link, by name."""
        return {name: ineq.summary() for name, ineq in self.inequalities.items()}

    def factors(self) -> dict[str, float]:
        """Theorem 2's factor over the measured value, split into the links that lose it.

        ``theorem_over_measured = divergence_chain * descent_chain``, where
        ``descent_chain`` is (right side of (1) with the measured divergences) / measured,
        and ``divergence_chain`` is Theorem 2 / (that right side). ``descent_chain`` splits
        further into ``telescoping`` (``F0`` against the measured ``f(u^0) - f(u^T)``) and
        ``per_step`` (the rest: the ``gamma/2``, the dropped ``||h||^2`` term, the gradient gap,
        the noise); ``doubling_total = 2A / W`` splits into ``windows`` (``A + cW`` over ``W``
        with the measured ``W``: the window sums' slack) and ``doubling`` (``2A`` over
        ``A + cW``: what solving the closure with ``c <= 1/2`` gives away beyond the coupling
        the run actually needed).
        """
        t = self.totals
        return {
            "theorem_over_measured": t["theorem2"] / t["measured"],
            "descent_chain": t["descent_rhs"] / t["measured"],
            "telescoping": t["descent_rhs"] / t["descent_rhs_telescoped"],
            "per_step": t["descent_rhs_telescoped"] / t["measured"],
            "divergence_chain": t["theorem2"] / t["descent_rhs"],
            "doubling_total": 2 * t["A"] / t["W"] if t["W"] > 0 else math.inf,
            "windows": t["closure_measured"] / t["W"] if t["W"] > 0 else math.inf,
            "doubling": 2 * t["A"] / t["closure_measured"] if t["closure_measured"] > 0 else math.nan,
        }

    def descent_slack(self) -> dict[str, float]:
        """Where the descent step's slack goes, averaged over seeds and steps (step 1).

        ``right - left`` of ``descent`` is exactly the sum of ``dropped`` (the term
        ``(gamma/2)(1 - gamma L)||h||^2`` step 1 drops), ``gradient_gap`` (``gamma/2`` times the
        gradient gap's slack ``L^2 spread - ||grad f - h||^2``) and ``rest`` (the slack of the
        smoothness inequality plus the noise's deviation from its conditional mean and variance;
        0 in expectation on a quadratic with curvature ``L``). ``total`` is their sum.
        """
        ineq = self.inequalities["descent"]
        gamma, L = self.config["gamma"], self.constants["L"]
        total = float((ineq.right - ineq.left).mean())
        dropped = float((gamma / 2 * (1 - gamma * L) * self.mean_grad_sq).mean())
        gap = float((gamma / 2 * (L**2 * self.spread - self.gap)).mean())
        return {"total": total, "dropped": dropped, "gradient_gap": gap, "rest": total - dropped - gap}

    def to_json(self, sides: bool = True, digits: int = 6) -> dict[str, Any]:
        """The audit as JSON: config, constants, totals, factors, the descent step's slack split
        (:meth:`descent_slack`) and, per link, its summary and per column the ratio of the mean
        sides (and, with ``sides``, the mean left and right sides), to ``digits`` significant
        digits; ``index`` (the step of each column) only where it is not ``0, 1, 2, ...``."""
        links = {}
        for name, ineq in self.inequalities.items():
            links[name] = {**ineq.summary(), "ratio": _floats(ineq.ratio(), digits)}
            if not np.array_equal(ineq.index, np.arange(ineq.index.size)):
                links[name]["index"] = ineq.index.tolist()
            if sides:
                links[name].update(left=_floats(ineq.mean_left(), digits), right=_floats(ineq.mean_right(), digits))
        return {"config": self.config, "constants": self.constants, "totals": self.totals,
                "factors": self.factors(), "descent_slack": self.descent_slack(), "inequalities": links}


def _floats(values: ArrayLike, digits: int = 17) -> list[float | None]:
    return [None if not np.isfinite(v) else float(f"{v:.{digits}g}") for v in np.asarray(values, dtype=float)]


def _check(lr: Any, steps: Any, seeds: Any) -> None:
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating, np.integer)) or not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    for name, value in (("steps", steps), ("seeds", seeds)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _windows(T: int, P: int) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """Per step: its window's number and ``k``; per window: its length (cut at ``T``)."""
    t = np.arange(T)
    starts = np.arange(0, T, P)
    return t // P, t % P, np.minimum(starts + P, T) - starts


def audit_run(problem: Any, hierarchy: Hierarchy, lr: float, steps: int, seeds: int = 1, seed: int = 0,
              x0: ArrayLike | None = None) -> Audit:
    """Run H-SGD with the project's engine and measure both sides of every link of Theorem 2's proof.

    Args:
        problem: a problem with ``worker_grads``, ``grad``, ``loss`` and ``constants``
            (:class:`empirical.problems.Problem`); its constants for ``hierarchy.levels`` are
            the ones the links use.
        hierarchy: the hierarchy (:meth:`empirical.Hierarchy.two_level`, ...), same ``n`` as the problem.
        lr: the step size ``gamma``. Outside Theorem 2's step-size condition the audit still
            runs; ``totals["condition"]`` says so, and the closure's ``A/(1-c)`` is ``inf``
            when ``c >= 1``.
        steps: ``T`` (the engine runs one more step to measure ``f(u^T)``).
        seeds, seed: independent runs and the root seed of their noise.
        x0: the common start (``None``: the problem's default).

    Returns:
        An :class:`Audit` (see the module docstring for every link).

    Raises:
        ValueError: for a non-positive ``lr``, ``steps`` or ``seeds``, or when the run diverges.
    """
    _check(lr, steps, seeds)
    T, S, n, M = int(steps), int(seeds), problem.n, hierarchy.M
    gamma = float(lr)
    c = problem.constants(hierarchy.levels)
    L, sigma = c.L.value, c.sigma.value
    eps = np.array([e.value for e in c.eps_levels], dtype=float)
    if eps.size != M:
        raise ValueError(f"problem.constants gave {eps.size} eps_levels for a hierarchy of M = {M} levels")
    gap, middle, spread, hsq, xsq = (np.empty((S, T)) for _ in range(5))

    def observe(t: int, x: NDArray[np.float64], u: NDArray[np.float64]) -> None:
        if t >= T:
            return
        gx = problem.worker_grads(x)
        h = gx.mean(axis=1)
        a = problem.grad(u)
        gu = problem.worker_grads(np.repeat(u[:, None, :], n, axis=1))
        gap[:, t] = np.einsum("sd,sd->s", a - h, a - h)
        diff = gu - gx
        middle[:, t] = np.einsum("sjd,sjd->s", diff, diff) / n
        dx = x - u[:, None, :]
        spread[:, t] = np.einsum("sjd,sjd->s", dx, dx) / n
        hsq[:, t] = np.einsum("sd,sd->s", h, h)
        xsq[:, t] = np.einsum("sjd,sjd->s", x, x) / n     # the size of what Delta's rounding cancels

    result = simulate(problem, hierarchy, gamma, T + 1, seeds=S, seed=seed, x0=x0, observer=observe,
                      record_every=1)  # the observer at every step
    if result.diverged is not None:
        raise ValueError(f"the run diverged at step {result.diverged['step']} (seed {result.diverged['seed']}): "
                         f"lower lr")
    start = np.asarray(result.config["x0"], dtype=float)
    F0 = float(problem.loss(start)) - c.f_star.value
    grad_sq, loss, div = result.grad_norm_sq[:, :T], result.loss, result.divergence[:, :T]
    counts = hierarchy.group_counts  # K_0 = n, ..., K_M = 1
    N = np.array([(counts[l - 1] - counts[l]) * sigma**2 / n for l in range(1, M + 1)])
    periods = hierarchy.periods
    exact_all = sigma == 0
    kind = "exact" if exact_all else "expectation"
    t_idx = np.arange(T)
    ineq: dict[str, Inequality] = {}

    # step 1: descent, per step (rearranged; see the module docstring)
    total_div = div.sum(axis=-1)
    budget = gamma * L**2 / 2 * total_div + L * gamma**2 * sigma**2 / (2 * n)
    left = gamma / 2 * grad_sq
    right = loss[:, :T] - loss[:, 1:] + budget
    scale = np.abs(loss[:, :T]) + np.abs(loss[:, 1:]) + np.abs(budget) + left
    ineq["descent"] = Inequality("descent", "descent step: the measured decrease plus the budget against "
                                 "(gamma/2)||grad f||^2", "step 1 (descent), per step", kind, t_idx, left, right, scale)

    # step 1 summed, equation (1), at every prefix horizon t + 1
    horizon = t_idx + 1.0
    left = np.cumsum(grad_sq, axis=1) / horizon
    right = 2 * F0 / (gamma * horizon) + gamma * L * sigma**2 / n + L**2 * np.cumsum(total_div, axis=1) / horizon
    ineq["descent_summed"] = Inequality("descent_summed", "summed descent (1): the average of ||grad f||^2 so far "
                                        "against 2F0/(gamma t) + noise + L^2 x average divergence",
                                        "step 1 (descent), summed", kind, t_idx, left, right,
                                        np.abs(left) + np.abs(right))

    # step 1: gradient gap (A1 and Jensen, pointwise)
    right = L**2 * spread
    ineq["gradient_gap"] = Inequality("gradient_gap", "gradient gap: ||grad f(u) - mean of worker gradients||^2 "
                                      "against L^2 x divergence", "step 1 (descent), A1 and Jensen", "exact",
                                      t_idx, gap.copy(), right, grad_sq + hsq + L**2 * xsq + right)

    # steps 2-3, per level
    W_levels = div.sum(axis=1)                                     # (S, M)
    A = 0.0
    coupling = np.zeros(S)
    cs = []
    for l in range(1, M + 1):
        P = periods[l - 1]
        win, k, lengths = _windows(T, P)
        b = 2 * gamma**2 * k * N[l - 1] + 4 * gamma**2 * k**2 * eps[l - 1] ** 2     # b_l(k), (T,)
        D = div[:, :, :l].sum(axis=-1)                                                # sum_{m <= l}, (S, T)
        Cw = np.zeros((S, lengths.size))
        np.add.at(Cw, (slice(None), win), D)                                          # per window, (S, windows)
        delta = div[:, :, l - 1]
        right = b + 4 * gamma**2 * L**2 * k * Cw[:, win]
        ineq[f"level_{l}_lemma"] = Inequality(
            f"level_{l}_lemma", f"level {l}: measured divergence against its lemma (2), b_{l}(k) + coupling "
            f"with the measured divergences", "step 2 (one level inside a window), equation (2)", kind, t_idx,
            delta, right, xsq + np.abs(right))
        charge = np.broadcast_to(2 * b, delta.shape).copy()
        ineq[f"level_{l}_closed_form"] = Inequality(
            f"level_{l}_closed_form", f"level {l}: measured divergence against Theorem 2's per-step charge 2 b_{l}(k)",
            "steps 3-4 (window sum and doubling), per step", "charge", t_idx, delta, charge, xsq + charge)
        a_l = gamma**2 * P * (P - 1) * N[l - 1] + 2 / 3 * gamma**2 * P * (P - 1) * (2 * P - 1) * eps[l - 1] ** 2
        c_l = 2 * gamma**2 * L**2 * P * (P - 1)
        cs.append(c_l)
        Sw, Xw = np.zeros((S, lengths.size)), np.zeros((S, lengths.size))
        np.add.at(Sw, (slice(None), win), delta)
        np.add.at(Xw, (slice(None), win), xsq)
        right = lengths / P * a_l + c_l * Cw
        ineq[f"level_{l}_window"] = Inequality(
            f"level_{l}_window", f"level {l}: window sum of the divergence against a_{l} + c_{l} C_w",
            "step 3 (windows and the coupling), per window", kind, np.arange(0, T, P), Sw, right,
            Xw + np.abs(right))
        A += T / P * a_l
        coupling += c_l * W_levels[:, :l].sum(axis=1)
    W = W_levels.sum(axis=1)
    c_total = float(sum(cs))
    one = np.zeros(1, dtype=np.int64)
    ineq["coupling"] = Inequality("coupling", "coupling: the coupling charge summed over windows and levels "
                                  "against W/2, the share the step-size condition allows", "step 3 (the coupling)",
                                  "exact", one, coupling[:, None], W[:, None] / 2, (np.abs(coupling) + W)[:, None])
    ineq["doubling"] = Inequality("doubling", "doubling: the total divergence W against 2A",
                                  "steps 3-4 (W <= A/(1-c) <= 2A)", kind, one, W[:, None],
                                  np.full((S, 1), 2 * A), (xsq.sum(axis=1) + 2 * A)[:, None])

    measured = float(grad_sq.mean())
    noise = gamma * L * sigma**2 / n
    init = 2 * F0 / (gamma * T)
    totals = {
        "measured": measured, "init": init, "noise": noise, "W": float(W.mean()), "A": float(A), "c": c_total,
        "closure": float(A / (1 - c_total)) if c_total < 1 else math.inf,
        "closure_measured": float(A + c_total * W.mean()),
        "descent_rhs": init + noise + L**2 / T * float(W.mean()),
        "descent_rhs_telescoped": 2 * float((loss[:, 0] - loss[:, T]).mean()) / (gamma * T) + noise
        + L**2 / T * float(W.mean()),
        "theorem2": init + noise + L**2 / T * 2 * A,
        "condition": bool(gamma * L <= 1 and 4 * gamma**2 * L**2 * sum(P * (P - 1) for P in periods) <= 1),
    }
    config = {"problem": problem_params(problem),
              "periods": list(periods), "groups": list(counts[1:-1]), "gamma": gamma, "T": T, "seeds": S,
              "seed": int(seed), "x0": start.tolist()}
    constants = {"L": L, "sigma": sigma, "eps_levels": eps.tolist(), "f_star": c.f_star.value, "F0": F0, "n": n,
                 "labels": {"L": c.L.label, "sigma": c.sigma.label, "eps_levels": [e.label for e in c.eps_levels],
                            "f_star": c.f_star.label}}
    return Audit(config=config, constants=constants, steps=t_idx, grad_norm_sq=grad_sq, loss=loss, divergence=div,
                 gap=gap, gap_middle=middle, spread=spread, mean_grad_sq=hsq, inequalities=ineq, totals=totals)
