"""The interface every problem of the simulator has (docs/theory.md §1.3 Assumptions A1-A3).

A problem has this small interface (:class:`Problem`):

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
  lists them; ``L`` is estimated from worker Hessians by :mod:`empirical.smoothness`);

and declares its optional hooks (:data:`HOOKS`), whose defaults :class:`ProblemBase` gives:

* ``fused_step`` (default ``False``): ``True`` when ``stochastic_grads`` takes the engine's
  keyword-only ``lr=`` and then also takes the step ``x -= lr * out`` itself, block by block
  while the block is in cache (docs/theory.md §1.2 Algorithm; the same floating-point
  operations as the engine's ``out *= lr; x -= out`` afterwards);
* ``weights`` (default ``None``, equal): the data weights ``p_j`` of the global objective
  ``f = sum_j p_j F_j`` (docs/theory.md §10.1 Setting), which :func:`empirical.simulate`
  takes when it is given none;
* ``partition`` and ``labels`` (default ``None``): how a data-partitioned problem's items are
  split among the workers (an :class:`empirical.partitions.Partition`) and the class label of
  every item, for :func:`empirical.partitions.partition_report`;
* ``params`` (default ``None``): the problem's parameters as a JSON-able dict, recorded in a
  run's ``config`` (:func:`problem_params`).

Every problem of :mod:`empirical.problems` inherits :class:`ProblemBase`, and so does a
problem made by :func:`empirical.from_gradient_fn`; a problem written from scratch inherits it
too (or declares the hooks itself): :func:`empirical.simulate` names the hooks a problem lacks
instead of guessing them.

Problems know nothing of hierarchies beyond the labels passed to ``constants``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from empirical.constants import Constants
from empirical.partitions import Partition

__all__ = ["Problem", "ProblemBase", "HOOKS", "missing_hooks", "require_hooks", "problem_params"]

HOOKS = ("fused_step", "weights", "partition", "labels", "params")
"""The optional hooks of :class:`Problem`, declared by every problem (defaults: :class:`ProblemBase`)."""


class Problem(Protocol):
    """The interface the simulator needs (see the module docstring)."""

    n: int
    d: int
    fused_step: bool
    weights: NDArray[np.float64] | None
    partition: Partition | None
    labels: NDArray[np.intp] | None
    params: dict[str, Any] | None

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]: ...
    def stochastic_grads(self, x: NDArray[np.float64], rng: np.random.Generator,
                         out: NDArray[np.float64]) -> NDArray[np.float64]: ...
    def loss(self, u: NDArray[np.float64]) -> NDArray[np.float64]: ...
    def grad(self, u: NDArray[np.float64]) -> NDArray[np.float64]: ...
    def default_x0(self) -> NDArray[np.float64]: ...
    def constants(self, levels: Sequence[ArrayLike] = ()) -> Constants: ...


class ProblemBase:
    """The defaults of :class:`Problem`'s optional hooks (module docstring): a problem inherits
    them and overrides those that apply to it, as a class attribute (``fused_step = True``) or
    in ``__init__`` (``self.weights = ...``).

    A subclass inherits its parent's ``fused_step``: one that overrides ``stochastic_grads``
    without the ``lr=`` keyword sets ``fused_step = False``.

    Example:
        >>> class Quadratic(ProblemBase):
        ...     n, d = 2, 1
        >>> p = Quadratic()
        >>> p.fused_step, p.weights, p.partition, p.labels, problem_params(p)
        (False, None, None, None, {'kind': 'Quadratic'})
    """

    fused_step: ClassVar[bool] = False
    weights: NDArray[np.float64] | None = None
    partition: Partition | None = None
    labels: NDArray[np.intp] | None = None
    params: dict[str, Any] | None = None

    def __repr__(self) -> str:
        """The class and its ``params`` (its ``kind`` is the class), e.g. ``DigitsMLP(n=32, hidden=16, ...)``:
        what ``hsgd simulate`` prints of the problem (an object's address before, for every problem but one).

        Example:
            >>> class Quadratic(ProblemBase):
            ...     params = {"kind": "quadratic", "n": 2, "d": 1}
            >>> Quadratic()
            Quadratic(n=2, d=1)
        """
        shown = {k: v for k, v in (self.params or {}).items() if k != "kind"}
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v}" for k, v in shown.items()) + ")"


def missing_hooks(problem: Any) -> list[str]:
    """The optional hooks (:data:`HOOKS`) ``problem`` does not declare (a check of the input,
    with a message naming them: nothing is inferred from what is there).

    Example:
        >>> class Bare:
        ...     weights = None
        >>> missing_hooks(Bare()), missing_hooks(ProblemBase())
        (['fused_step', 'partition', 'labels', 'params'], [])
    """
    return [name for name in HOOKS if not hasattr(problem, name)]


def require_hooks(problem: Any) -> None:
    """Raise ``ValueError`` naming the optional hooks ``problem`` does not declare (the engine and
    the checker call this before reading any of them)."""
    missing = missing_hooks(problem)
    if missing:
        raise ValueError(f"problem ({type(problem).__name__}) does not declare {', '.join(missing)} of the Problem "
                         f"protocol (empirical.problems.protocol): inherit empirical.problems.ProblemBase, which "
                         f"declares the optional hooks with their defaults")


def problem_params(problem: Problem) -> dict[str, Any]:
    """What a run's ``config`` records of ``problem``: its ``params``, or ``{"kind": <its class
    name>}`` when they are ``None``."""
    return problem.params if problem.params is not None else {"kind": type(problem).__name__}
