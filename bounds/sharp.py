r"""Theorem S and Theorem S': sharper constants from the same proof chain (derived for this project).

Neither statement is in the paper: both were derived for this project from the derivation of
Theorem 2 (docs/theory.md §9.1 Theorem S, §9.2 Theorem S'), and every algebraic step is checked
with sympy in ``tests/bounds/test_sharp_derivation.py``.

Notation per level ``l`` (``K_0 = n``, ``K_M = 1``):

* ``N_l = (K_{l-1} - K_l) sigma^2 / n`` (the level's noise share),
* ``Q_l = P_l (P_l - 1)/2``, ``kappa_l = max(0, (P_l - 2)(P_l + 1)/2)``,
  ``R_l = P_l (P_l - 1)(P_l - 2)/3``,
* free Young parameters ``alpha_l, beta_l > 0`` and
  ``c_l = (1 + 1/alpha_l)(1 + 1/beta_l) gamma^2 L^2 kappa_l``.

**Theorem S.** Under A1-A3, ``gamma L <= 1`` and ``c_l < 1`` for every ``l``,

.. math::
    \frac1T\sum_{t<T}\mathbb E\|\nabla f(u^t)\|^2 \le \frac{2F_0}{\gamma T} + \frac{\gamma L\sigma^2}{n}
    + \sum_{l} \frac{\gamma^2L^2}{P_l\prod_{m\ge l}(1 - c_m)}\Big[(Q_l + \alpha_l\kappa_l)N_l
    + \big(Q_l + \kappa_l/\alpha_l + (1 + 1/\alpha_l)(1 + \beta_l)R_l\big)\varepsilon_l^2\Big].

Levels with ``P_l = 1`` contribute nothing (``Q = kappa = R = 0``). The bound holds for every
admissible ``alpha, beta``; :meth:`SharpBound.optimise` picks them per instance by a smooth
minimisation (scipy). At ``alpha = beta = 1`` each level's constants are at most Theorem 2's
and Theorem 2's condition gives ``prod (1 - c_m) >= 1/2``, so Theorem 2 follows from S.

**Theorem S'** (:func:`recursion_bound`): the forward recursion of the same chain, the sharpest
it gives; needs only ``gamma L <= 1``. For ``t`` in one top period, ``k = t mod P_l``,
``s = t - k``: ``D_l(t) = 0`` at ``k = 0``, ``gamma^2 (N_l + eps_l^2)`` at ``k = 1``, and for
``k >= 2``

    D_l(t) = (1 + alpha_l) gamma^2 k N_l + (1 + 1/alpha_l) gamma^2 k [ (1 + (k-1)(1+beta_l)) eps_l^2
             + (1 + 1/beta_l) L^2 sum_{tau=s+1}^{t-1} sum_{m<=l} D_m(tau) ];

the bound is ``2F0/(gamma T) + gamma L sigma^2/n + (L^2/T) sum_{t<T} sum_l D_l(t mod P_M)``
(for ``T`` a multiple of ``P_M`` this is the one-period average ``(L^2/P_M) sum_{t<P_M}``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping, Sequence

import numpy as np
import sympy as sp

from bounds import symbols as s
from bounds.bound import Bound, Condition

__all__ = ["SharpBound", "SharpOptimum", "sharp", "recursion_bound", "kappa", "kappa_of", "window_sums", "sharp_terms",
           "sharp_condition"]

LOG_LIMIT = 35.0
"""The optimiser searches ``log alpha``, ``log beta`` in ``[-LOG_LIMIT, LOG_LIMIT]`` (``alpha = inf``
is only needed when ``sigma = 0`` or ``eps_l = 0``, where ``e^35`` is as good to 15 digits)."""


def kappa(P: Any) -> sp.Expr:
    """``kappa = max(0, (P - 2)(P + 1)/2)``: the largest coupling weight ``(P(P-1) - j(j+1))/2``
    over ``j >= 1`` (0 for ``P <= 2``)."""
    return sp.Max(0, (P - 2) * (P + 1) / 2)


def kappa_of(P: int) -> Fraction:
    """The number ``kappa = max(0, (P - 2)(P + 1)/2)`` of an integer period, exactly (the same
    as :func:`kappa` at a number)."""
    return max(Fraction(0), Fraction((int(P) - 2) * (int(P) + 1), 2))


def window_sums(P: Any) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """``(Q, kappa, R) = (P(P-1)/2, max(0, (P-2)(P+1)/2), P(P-1)(P-2)/3)``."""
    return P * (P - 1) / 2, kappa(P), P * (P - 1) * (P - 2) / 3


class SharpBound(Bound):
    """Theorem S for a hierarchy (see the module docstring): a :class:`~bounds.Bound` whose
    keywords also include ``alpha`` and ``beta`` (one per level, finest first).

    Build one with :func:`sharp` from any Theorem 2 bound. :meth:`evaluate` without ``alpha``
    and ``beta`` optimises them (:meth:`optimise`); with them, it evaluates at those values.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        M = len(self.levels)
        alphas = tuple(sp.Symbol(f"alpha_{l}", positive=True) for l in range(1, M + 1))
        betas = tuple(sp.Symbol(f"beta_{l}", positive=True) for l in range(1, M + 1))
        self.parameters.setdefault("alpha", alphas)
        self.parameters.setdefault("beta", betas)
        alphas, betas = self.parameters["alpha"], self.parameters["beta"]
        gamma, L, n = s.gamma, s.L, s.n
        c = [(1 + 1 / a) * (1 + 1 / b) * gamma**2 * L**2 * kappa(lev.period)
             for lev, a, b in zip(self.levels, alphas, betas)]
        self.closure = tuple(c)
        terms = {name: self.terms[name] for name in ("init", "noise")}
        for l, (lev, a, b) in enumerate(zip(self.levels, alphas, betas)):
            P = lev.period
            Q, K, R = window_sums(P)
            noise_share = (lev.finer_count - lev.count) * s.sigma**2 / n
            product = sp.Mul(*(1 - c[m] for m in range(l, M)))
            terms[lev.term] = (gamma**2 * L**2 / (P * product)) * (
                (Q + a * K) * noise_share + (Q + K / a + (1 + 1 / a) * (1 + b) * R) * lev.eps_sq)
        self.terms = terms
        self.conditions = (
            Condition("gamma*L <= 1", gamma * L, sp.Integer(1)),
            *(Condition(f"c_{l + 1} = (1+1/alpha_{l + 1})(1+1/beta_{l + 1}) gamma^2 L^2 kappa_{l + 1} < 1",
                        c[l], sp.Integer(1), strict=True) for l in range(M)),
        )
        self.title = self.title.replace("Theorem 2", "Theorem S").replace("Theorem 1", "Theorem S")
        if not self.title.startswith("Theorem S"):
            self.title = f"Theorem S ({self.title})"
        self.source = "docs/theory.md §9.1 Theorem S (derived for this project, not in the paper)"
        self._vectorized = None

    def evaluate(self, *, strict: bool = True, **values: Any) -> float:
        """Theorem S at ``values``; without ``alpha`` and ``beta`` they are optimised first."""
        if "alpha" not in values and "beta" not in values:
            return self.optimise(**values).value
        return super().evaluate(strict=strict, **values)

    def optimise(self, *, require_step_condition: bool = True, **values: Any) -> "SharpOptimum":
        """Choose ``alpha``, ``beta`` (per level) to minimise the bound at ``values``.

        The bound holds for every admissible choice, so the result is a valid bound whatever
        the optimiser finds; the minimisation is of the level terms alone (the others do not
        depend on ``alpha``, ``beta``), over ``log alpha``, ``log beta`` with L-BFGS-B from
        several starts, keeping the best.

        Args:
            require_step_condition: refuse ``gamma L > 1`` (the theorem's condition); with
                ``False`` the formula is minimised anyway (for mutants with a looser condition).

        Raises:
            ValueError: when no choice meets the conditions (``gamma L > 1`` or
                ``gamma^2 L^2 kappa_l >= 1`` for some level), naming the condition.
        """
        M = len(self.levels)
        base = {k: v for k, v in values.items() if k not in ("alpha", "beta")}
        fixed = self.values_to_arrays(dict(base, alpha=[1.0] * M, beta=[1.0] * M))
        g, L = float(base["gamma"]), float(base["L"])
        if g * L > 1 and require_step_condition:
            raise ValueError(f"Theorem S needs gamma*L <= 1, got {g * L:.6g}")
        periods = [float(lev.period.xreplace({sym: fixed[sym] for sym in lev.period.free_symbols}))
                   for lev in self.levels]
        for l, P in enumerate(periods, start=1):
            kap = float(kappa_of(P))
            if g * g * L * L * kap >= 1:
                raise ValueError(f"Theorem S needs gamma^2 L^2 kappa_{l} < 1 for some alpha, beta; got "
                                 f"{g * g * L * L * kap:.6g} at P_{l} = {P:g}")
        from bounds.compiled import compiled

        level_names = [lev.term for lev in self.levels]
        symbols = self.symbols
        levels_fn = compiled(symbols, sp.Add(*(self.terms[name] for name in level_names)))
        alpha_syms, beta_syms = self.parameters["alpha"], self.parameters["beta"]

        def level_sum(z: np.ndarray) -> float:
            arrays = dict(fixed)
            for l in range(M):
                arrays[alpha_syms[l]] = np.float64(math.exp(z[l]))
                arrays[beta_syms[l]] = np.float64(math.exp(z[M + l]))
            if np.any(self._closure_values(arrays) >= 1):
                return math.inf
            with np.errstate(all="ignore"):
                value = float(levels_fn(*(arrays[sym] for sym in symbols)))
            return value if math.isfinite(value) else math.inf

        # Only the level terms depend on alpha, beta: minimise them alone, scaled to 1 at the
        # start, so that they are not lost beside a large init or noise term.
        best_z, best = np.zeros(2 * M), math.inf
        for start in (0.0, -8.0, 8.0, 3.0, -3.0):
            z0 = np.full(2 * M, start)
            scale = level_sum(z0)
            if not math.isfinite(scale):
                continue
            if scale == 0.0:
                best_z, best = z0, 0.0
                break

            def scaled(z: np.ndarray, scale: float = scale) -> float:
                value = level_sum(z)
                return value / scale if math.isfinite(value) else 1e300

            from scipy.optimize import minimize  # imported here: keeps `hsgd ... --help` light

            res = minimize(scaled, z0, method="L-BFGS-B", bounds=[(-LOG_LIMIT, LOG_LIMIT)] * (2 * M))
            for z in (res.x, z0):
                value = level_sum(z)
                if value < best:
                    best_z, best = np.array(z), value
        if not math.isfinite(best):
            z0 = np.full(2 * M, LOG_LIMIT)  # alpha = beta = e^35: the loosest closure
            best_z, best = z0, level_sum(z0)
        if not math.isfinite(best):
            raise ValueError("Theorem S: no alpha, beta meet c_l < 1 at these values")
        alpha = [math.exp(v) for v in best_z[:M]]
        beta = [math.exp(v) for v in best_z[M:]]
        value = super().evaluate(strict=False, **base, alpha=alpha, beta=beta)
        return SharpOptimum(alpha=alpha, beta=beta, value=value)

    def optimised_values(self, **values: Any) -> dict[str, Any]:
        """``values`` with the ``alpha`` and ``beta`` that :meth:`optimise` chooses, ready for
        :meth:`evaluate`, :meth:`evaluate_terms` and :meth:`check_condition`."""
        opt = self.optimise(**values)
        return dict(values, alpha=opt.alpha, beta=opt.beta)

    def _closure_values(self, arrays: Mapping[sp.Symbol, np.ndarray]) -> np.ndarray:
        from bounds.compiled import compiled

        syms = sorted(set().union(*(c.free_symbols for c in self.closure)), key=lambda x: x.name)
        return np.asarray(compiled(syms, sp.Tuple(*self.closure))(*(arrays[sym] for sym in syms)), dtype=float)


@dataclass(frozen=True)
class SharpOptimum:
    """The Young parameters :meth:`SharpBound.optimise` chose and the bound's value there."""

    alpha: list[float]
    beta: list[float]
    value: float


def sharp(bound: Bound) -> SharpBound:
    """Theorem S for the hierarchy of a Theorem 2 bound (two-level, local SGD, multi-level, or
    with random grouping): same levels and keywords, plus ``alpha`` and ``beta``.

    Example:
        >>> from bounds import local_sgd
        >>> b = sharp(local_sgd())
        >>> list(b.parameters)
        ['gamma', 'L', 'sigma', 'n', 'T', 'F0', 'P', 'eps', 'alpha', 'beta']
        >>> v = dict(gamma=0.01, L=1, sigma=1, n=8, T=1000, F0=1, P=5, eps=1)
        >>> bool(b.evaluate(**v) < local_sgd().evaluate(**v))
        True
    """
    if isinstance(bound, SharpBound):
        raise ValueError("this bound is already Theorem S")
    return SharpBound(title=bound.title, source=bound.source, levels=bound.levels, parameters=bound.parameters,
                      coefficients=bound.coefficients, equal_groups=bound.equal_groups,
                      term_order=tuple(bound.terms))


def recursion_bound(*, gamma: float, L: float, sigma: float, n: int, T: int, F0: float, periods: Sequence[int],
                    counts: Sequence[int], eps: Sequence[float], alpha: Sequence[float],
                    beta: Sequence[float]) -> float:
    """Theorem S' (the forward recursion of the module docstring) at numbers.

    Args:
        periods: ``P_1 | ... | P_M``; counts: ``(K_0 = n, K_1, ..., K_M = 1)``; eps: ``eps_l``
            per level; alpha, beta: Young parameters per level (any positive numbers).

    Example:
        >>> v = dict(gamma=0.01, L=1.0, sigma=1.0, n=8, T=1000, F0=1.0, periods=[5], counts=[8, 1], eps=[1.0])
        >>> s1 = sharp(__import__("bounds").local_sgd()).evaluate(**{k: v[k] for k in ("gamma", "L", "sigma", "n", "T", "F0")},
        ...                                                       P=5, eps=1.0, alpha=[1.0], beta=[1.0])
        >>> bool(recursion_bound(**v, alpha=[1.0], beta=[1.0]) <= s1)
        True
    """
    M = len(periods)
    if not (len(counts) == M + 1 and len(eps) == M and len(alpha) == M and len(beta) == M):
        raise ValueError("recursion_bound needs M periods, M + 1 counts, and M values of eps, alpha and beta")
    if gamma * L > 1:
        raise ValueError(f"Theorem S' needs gamma*L <= 1, got {gamma * L:.6g}")
    top = int(periods[-1])
    g2 = gamma * gamma
    noise = [(counts[l] - counts[l + 1]) * sigma * sigma / n for l in range(M)]
    D = np.zeros((top, M))
    cum = np.zeros((top + 1, M))  # cum[t, l] = sum_{tau < t} sum_{m <= l} D[tau, m]
    for t in range(top):
        for l in range(M):
            P = int(periods[l])
            k, start = t % P, t - t % P
            if k == 0:
                value = 0.0
            elif k == 1:
                value = g2 * (noise[l] + eps[l] ** 2)
            else:
                a, b = alpha[l], beta[l]
                coupling = cum[t, l] - cum[start + 1, l]
                value = ((1 + a) * g2 * k * noise[l]
                         + (1 + 1 / a) * g2 * k * ((1 + (k - 1) * (1 + b)) * eps[l] ** 2
                                                   + (1 + 1 / b) * L * L * coupling))
            D[t, l] = value
        cum[t + 1] = cum[t] + np.cumsum(D[t])
    per_step = D.sum(axis=1)
    full, rest = divmod(int(T), top)
    total = full * per_step.sum() + per_step[:rest].sum()
    return 2 * F0 / (gamma * T) + gamma * L * sigma * sigma / n + L * L * total / T


def _instance_bound(periods: tuple[int, ...], counts: tuple[int, ...]) -> SharpBound:
    from bounds.multi_level import multi_level

    key = (periods, counts)
    cached = _SHARP_CACHE.get(key)
    if cached is None:
        cached = _SHARP_CACHE[key] = sharp(multi_level(list(periods), list(counts[1:-1])))
    return cached


_SHARP_CACHE: dict[tuple[tuple[int, ...], tuple[int, ...]], SharpBound] = {}


def sharp_terms(x: Any) -> dict[str, float]:
    """Theorem S's terms at a :class:`bounds.instance.Instance`, at the optimised ``alpha``,
    ``beta``: ``init``, ``noise`` and per level ``level_l_noise`` and ``level_l_heterogeneity``
    (the level term is linear in ``N_l`` and ``eps_l^2`` once ``alpha``, ``beta`` are fixed).
    The formula is evaluated even where ``gamma L > 1`` (mutants with a looser condition ask);
    where no ``alpha, beta`` close (``gamma^2 L^2 kappa_l >= 1``) every term is ``inf``."""
    b = _instance_bound(tuple(x.periods), tuple(x.counts))
    values = x.values()
    try:
        opt = b.optimise(require_step_condition=False, **values)
    except ValueError:
        names = ["init", "noise"] + [f"level_{l}_{k}" for l in range(1, len(b.levels) + 1)
                                     for k in ("noise", "heterogeneity")]
        return {name: math.inf for name in names}
    with_young = dict(values, alpha=opt.alpha, beta=opt.beta)
    full = Bound.evaluate_terms(b, **with_young)
    noise_only = Bound.evaluate_terms(b, **dict(with_young, eps=[0.0] * x.M))
    out = {"init": full["init"], "noise": full["noise"]}
    for l, lev in enumerate(b.levels, start=1):
        out[f"level_{l}_noise"] = noise_only[lev.term]
        out[f"level_{l}_heterogeneity"] = full[lev.term] - noise_only[lev.term]
    return out


def sharp_condition(x: Any, loosen: int = 1) -> bool:
    """Whether some ``alpha, beta`` meet Theorem S's conditions at ``x`` (right-hand sides times
    ``loosen``): ``gamma L <= loosen`` and ``gamma^2 L^2 kappa_l < loosen`` for every level,
    decided exactly."""
    g, L = Fraction(x.gamma), Fraction(x.L)
    if g * L > loosen:
        return False
    return all(g * g * L * L * kappa_of(P) < loosen for P in x.periods)
