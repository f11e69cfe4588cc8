"""The interface every problem of the simulator has (docs/theory.md §1.3 Assumptions A1-A3).

A problem is anything with this small interface (:class:`Problem`):

* ``n``, ``d``: number of workers and dimension;
* ``worker_grads(x)``: true per-worker gradients, ``x`` of shape ``(..., n, d)``;
* ``stochastic_grads(x, rng, out)``: the same plus noise satisfying A2, for a whole
  ``(seeds, n, d)`` array at once, written into ``out``. The engine passes ``rng`` as an
  :class:`empirical.streams.SeedStreams` (one stream per seed, Generator-like draws with the
  seed axis first: ``rng.standard_normal(out=buf)``, ``rng.integers(0, m, size=(seeds, ...))``);
* ``loss(u)``, ``grad(u)``: the global objective and its gradient, ``u`` of shape ``(..., d)``;
* ``default_x0()``: the common start;
* ``constants(levels)``: :class:`Constants` for a grouping (``levels`` as in
  :mod:`bounds.divergence`, finest first), each value labelled *exact*, *certified upper
  bound*, *certified lower bound* or *estimated (how it was sampled)*; a label whose first
  word is "estimated" marks a sampled value, not a certificate (:meth:`Constants.estimated`
  lists them; ``L`` is estimated from worker Hessians by :mod:`empirical.smoothness`).

Problems know nothing of hierarchies beyond the labels passed to ``constants``.
"""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from empirical.constants import Constants

__all__ = ["Problem"]


class Problem(Protocol):
    """The interface the simulator needs (see the module docstring)."""

    n: int
    d: int

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]: ...
    def stochastic_grads(self, x: NDArray[np.float64], rng: np.random.Generator,
                         out: NDArray[np.float64]) -> NDArray[np.float64]: ...
    def loss(self, u: NDArray[np.float64]) -> NDArray[np.float64]: ...
    def grad(self, u: NDArray[np.float64]) -> NDArray[np.float64]: ...
    def default_x0(self) -> NDArray[np.float64]: ...
    def constants(self, levels: Sequence[ArrayLike] = ()) -> Constants: ...
