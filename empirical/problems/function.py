"""Your own objective as a problem: :func:`from_gradient_fn` makes a :class:`FunctionProblem` of
plain functions (per-worker gradients, the global gradient, optional loss and noise), checks
their shapes once at ``x0``, and takes the constants given or estimates the missing ones
(labelled *estimated*) along a pilot trajectory (:mod:`empirical.smoothness`,
:mod:`empirical.problems.sampled_constants`).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bounds.divergence import validate_levels
from empirical.constants import EXACT, GIVEN, LOWER, UPPER, Constant, Constants
from empirical.problems.protocol import ProblemBase
from empirical.problems.sampled_constants import sampled_divergences, sampled_sigma
from empirical.smoothness import estimate_smoothness, pilot_trajectory
from empirical.streams import SeedStreams

__all__ = ["FunctionProblem", "from_gradient_fn"]


def _gaussian_noise(sigma: float, rng: np.random.Generator, out: NDArray[np.float64]) -> None:
    """Add N(0, sigma^2/d I) to ``out`` in place: E||xi||^2 = sigma^2 exactly."""
    if sigma > 0:
        noise = rng.standard_normal(out.shape)
        noise *= sigma / np.sqrt(out.shape[-1])
        out += noise


_CONSTANT_KEYS = ("L", "sigma", "eps", "eps_levels", "f_star", "kind", "note", "levels")

DECLARED_KINDS = ("exact", "certified", "given", "estimated")
"""What ``constants=dict(..., kind=...)`` may declare for its numbers (default ``"given"``):
``"certified"`` means a certified upper bound (a lower bound for ``f_star``)."""


def _grouping_key(levels: list[NDArray[np.intp]]) -> tuple[bytes, ...]:
    """A grouping as a partition: each level's labels renumbered by first appearance.

    Example:
        >>> _grouping_key([np.array([1, 1, 0, 0])]) == _grouping_key([np.array([0, 0, 1, 1])])
        True
    """
    key = []
    for lab in levels:
        _, first, inverse = np.unique(lab, return_index=True, return_inverse=True)
        rank = np.empty(first.size, dtype=np.int64)
        rank[np.argsort(first)] = np.arange(first.size)
        key.append(rank[inverse.reshape(-1)].tobytes())
    return tuple(key)


def _as_constant(name: str, value: Any, kind: str, note: str = "") -> Constant:
    """``value`` (a number or a :class:`Constant`) as a :class:`Constant`, checked for its range.

    A number gets the declared ``kind`` of the dict it came in (:data:`DECLARED_KINDS`;
    ``"certified"`` is an upper bound, a lower bound for ``f_star``) and its ``note``; a
    :class:`Constant` keeps its own.
    """
    if isinstance(value, Constant):
        number, kind, note = value.value, value.kind, value.note
    else:
        number, kind = value, (LOWER if name == "f_star" else UPPER) if kind == "certified" else kind
    if isinstance(number, bool) or not isinstance(number, (int, float, np.integer, np.floating)):
        raise ValueError(f"constants['{name}'] must be a number or a Constant, got {type(number).__name__}")
    number = float(number)
    if not np.isfinite(number):
        raise ValueError(f"constants['{name}'] must be finite, got {number!r}")
    if name == "L" and number <= 0:
        raise ValueError(f"constants['L'] must be positive, got {number!r}")
    if name not in ("L", "f_star") and number < 0:
        raise ValueError(f"constants['{name}'] must be non-negative, got {number!r}")
    return Constant(number, kind, note)


def _probe(name: str, fn: Callable, args: tuple, shape: tuple[int, ...], what: str) -> NDArray[np.float64]:
    """Call ``fn(*args)`` once and check that it returns a finite array of exactly ``shape``."""
    try:
        value = np.asarray(fn(*args), dtype=np.float64)
    except Exception as exc:  # the user's function: say which one failed, on what
        raise ValueError(f"{name} failed on {what}: {type(exc).__name__}: {exc}") from exc
    if value.shape != shape:
        raise ValueError(f"{name} must return an array of shape {shape} for {what}, got shape {value.shape}")
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{name} returned a non-finite value for {what}")
    return value


class FunctionProblem(ProblemBase):
    """A problem made of plain functions; see :func:`from_gradient_fn` (which documents every argument)."""

    def __init__(self, worker_grads: Callable, grad: Callable, n: int, d: int, loss: Callable | None,
                 noise: float | Callable | None, constants: Constants | dict | None, x0: ArrayLike | None,
                 estimate: bool = False) -> None:
        for name, value in (("n", n), ("d", d)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name, fn in (("worker_grads", worker_grads), ("grad", grad)):
            if not callable(fn):
                raise ValueError(f"{name} must be a function, got {type(fn).__name__}")
        if loss is not None and not callable(loss):
            raise ValueError(f"loss must be None or a function (..., d) -> (...), got {type(loss).__name__}")
        if noise is not None and not callable(noise) and (
                isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating))
                or not (np.isfinite(noise) and noise >= 0)):
            raise ValueError(f"noise must be None, a non-negative sigma, or a function (rng, shape) -> array; got {noise!r}")
        if not isinstance(estimate, bool):
            raise ValueError(f"estimate must be True or False, got {estimate!r}")
        self.n, self.d = int(n), int(d)
        self._worker_grads, self._grad, self._loss, self._noise = worker_grads, grad, loss, noise
        self._estimate = estimate
        if x0 is None:
            self._x0 = np.zeros(self.d)
        else:
            start = np.asarray(x0, dtype=np.float64)
            if start.shape not in ((), (self.d,)) or not np.all(np.isfinite(start)):
                raise ValueError(f"x0 must be a finite number or a finite array of shape ({self.d},), got shape {start.shape}")
            self._x0 = np.broadcast_to(start, (self.d,)).copy()
        self._given, self._eps_levels, self._bound_key = self._parse_constants(constants)
        self._has_constants = constants is not None
        self._estimates: dict[str, Any] = {}
        self._check_functions()
        self.params = dict(n=self.n, d=self.d, kind="from_gradient_fn")

    # ------------------------------------------------------------------ setup checks
    def _parse_constants(self, constants: Constants | dict | None
                         ) -> tuple[dict[str, Constant], Callable | tuple[Constant, ...] | None, tuple[bytes, ...] | None]:
        """Given constants by name, the ``eps_levels`` (a function or values) and the grouping they belong to."""
        self._kind, self._note = GIVEN, ""
        if constants is None:
            return {}, None, None
        if isinstance(constants, Constants):
            given = {"L": constants.L, "sigma": constants.sigma, "eps": constants.eps, "f_star": constants.f_star}
            for name, c in given.items():
                _as_constant(name, c, c.kind)
            return given, tuple(constants.eps_levels), None
        if not isinstance(constants, dict):
            raise ValueError(f"constants must be None, a Constants or a dict, got {type(constants).__name__}")
        if "label" in constants:
            raise ValueError("constants['label'] is no longer read: declare how the numbers are known with "
                             f"kind= (one of {', '.join(map(repr, DECLARED_KINDS))}) and describe it in note=...")
        unknown = sorted(set(constants) - set(_CONSTANT_KEYS))
        if unknown:
            raise ValueError(f"constants has unknown keys {', '.join(map(repr, unknown))}; "
                             f"allowed: {', '.join(_CONSTANT_KEYS)}")
        kind, note = constants.get("kind", GIVEN), constants.get("note", "")
        if kind not in DECLARED_KINDS:
            raise ValueError(f"constants['kind'] must be one of {', '.join(map(repr, DECLARED_KINDS))}, got {kind!r}")
        if not isinstance(note, str):
            raise ValueError(f"constants['note'] must be a string, got {type(note).__name__}")
        self._kind, self._note = kind, note
        given = {k: _as_constant(k, constants[k], kind, note) for k in ("L", "sigma", "eps", "f_star") if k in constants}
        spec = constants.get("eps_levels")
        bound_key = None
        if spec is not None and not callable(spec):
            if isinstance(spec, (str, bytes)) or not hasattr(spec, "__len__"):
                raise ValueError(f"constants['eps_levels'] must be a list of numbers or a function levels -> list, "
                                 f"got {type(spec).__name__}")
            spec = tuple(_as_constant(f"eps_levels[{i}]", v, kind, note) for i, v in enumerate(spec))
            if not spec:
                raise ValueError("constants['eps_levels'] must not be empty")
        if "levels" in constants:
            if spec is None or callable(spec):
                raise ValueError("constants['levels'] names the grouping a list constants['eps_levels'] was "
                                 "computed for: give that list too")
            labs = validate_levels(constants["levels"], self.n)
            if len(spec) != len(labs) + 1:
                raise ValueError(f"constants['eps_levels'] must have {len(labs) + 1} values for the "
                                 f"{len(labs) + 1}-level grouping constants['levels'], got {len(spec)}")
            bound_key = _grouping_key(labs)
        return given, spec, bound_key

    def _check_functions(self) -> None:
        """Call every function once at ``x0`` and check the shapes (and that ``grad`` averages ``worker_grads``)."""
        n, d, x0 = self.n, self.d, self._x0
        many = _probe("worker_grads", self._worker_grads, (np.broadcast_to(x0, (2, n, d)).copy(),), (2, n, d),
                      f"x of shape (2, {n}, {d}) (a leading seed axis)")
        _probe("worker_grads", self._worker_grads, (np.broadcast_to(x0, (n, d)).copy(),), (n, d),
               f"x of shape ({n}, {d})")
        g = _probe("grad", self._grad, (np.broadcast_to(x0, (2, d)).copy(),), (2, d), f"u of shape (2, {d})")
        _probe("grad", self._grad, (x0.copy(),), (d,), f"u of shape ({d},)")
        mean = many[0].mean(axis=0)
        gap = float(np.max(np.abs(g[0] - mean)))
        if gap > 1e-6 * (1.0 + float(np.max(np.abs(many[0])))):
            raise ValueError(f"grad must be the average of worker_grads (f = (1/n) sum_j F_j, docs/theory.md "
                             f"§1.1 Workers, hierarchy, periods): at x0 they differ by {gap:.3g}")
        if self._loss is not None:
            _probe("loss", self._loss, (np.broadcast_to(x0, (2, d)).copy(),), (2,), f"u of shape (2, {d})")
            _probe("loss", self._loss, (x0.copy(),), (), f"u of shape ({d},)")
        if callable(self._noise):
            _probe("noise", self._noise, (SeedStreams(0, 2), (2, n, d)), (2, n, d),
                   f"rng = SeedStreams(seed, 2), shape = (2, {n}, {d}): one noise vector per seed and worker, "
                   f"not broadcast")

    # ------------------------------------------------------------------ the Problem interface
    def default_x0(self) -> NDArray[np.float64]:
        """The start given as ``x0`` (zeros by default)."""
        return self._x0

    def worker_grads(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """The user's ``worker_grads(x)`` as a float array."""
        return np.asarray(self._worker_grads(x), dtype=np.float64)

    def stochastic_grads(self, x: NDArray[np.float64], rng: np.random.Generator,
                         out: NDArray[np.float64]) -> NDArray[np.float64]:
        """``worker_grads(x)`` plus the noise, written into ``out`` (shapes checked, never broadcast)."""
        g = self._worker_grads(x)
        if np.shape(g) != out.shape:
            raise ValueError(f"worker_grads returned shape {np.shape(g)} for x of shape {x.shape}")
        out[...] = g
        if callable(self._noise):
            xi = self._noise(rng, out.shape)
            if np.shape(xi) != out.shape:
                raise ValueError(f"noise returned shape {np.shape(xi)}, expected {out.shape}")
            out += xi
        elif self._noise:
            _gaussian_noise(float(self._noise), rng, out)
        return out

    def loss(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """The user's ``loss(u)``, or NaN where none was given."""
        if self._loss is None:
            return np.full(np.shape(u)[:-1], np.nan)
        return np.asarray(self._loss(u), dtype=np.float64)

    def grad(self, u: NDArray[np.float64]) -> NDArray[np.float64]:
        """The user's ``grad(u)`` as a float array."""
        return np.asarray(self._grad(u), dtype=np.float64)

    # ------------------------------------------------------------------ constants
    def _pilot(self) -> Any:
        if "pilot" not in self._estimates:
            self._estimates["pilot"] = pilot_trajectory(self, seed=0)
        return self._estimates["pilot"]

    def _estimated(self, name: str, levels: list[NDArray[np.intp]]) -> Any:
        """An estimated constant, sampled along the pilot trajectory (cached where independent of the grouping)."""
        pilot = self._pilot()
        if name == "L":
            if "L" not in self._estimates:
                self._estimates["L"] = estimate_smoothness(self, pilot)
            return self._estimates["L"]
        if name == "sigma":
            if "sigma" not in self._estimates:
                self._estimates["sigma"] = sampled_sigma(self, pilot.shared, np.random.default_rng(1),
                                                         source="pilot-trajectory")
            return self._estimates["sigma"]
        return sampled_divergences(self, pilot.points(), levels, source="pilot-trajectory")  # (eps, eps_levels)

    def constants(self, levels: Sequence[ArrayLike] = ()) -> Constants:
        """The constants for the grouping ``levels`` (see :func:`from_gradient_fn` for where each comes from).

        Raises:
            ValueError: naming the constants that are missing (without ``estimate=True``), or
                when ``eps_levels`` were given for another grouping.
        """
        labs = validate_levels(levels, self.n)
        M = len(labs) + 1
        if not self._has_constants and not self._estimate:
            raise ValueError("this problem was made without constants: pass constants=... (or estimate=True) "
                             "to from_gradient_fn")
        given = dict(self._given)
        if "sigma" not in given and not callable(self._noise):
            sigma = float(self._noise or 0.0)
            given["sigma"] = Constant(sigma, EXACT, "no noise" if sigma == 0 else
                                      "Gaussian noise with E||xi||^2 = sigma^2")
        missing = [k for k in ("L", "sigma", "eps", "f_star") if k not in given]
        if missing and (not self._estimate or "f_star" in missing):
            hint = [] if self._estimate else ["give them, or pass estimate=True to estimate L, sigma and eps by "
                                              "sampling (labelled 'estimated')"]
            if "f_star" in missing:
                hint.append("f_star (f* or a lower bound of it, e.g. 0 for a non-negative loss) is never estimated: "
                            "a sampled minimum lies above f*, the wrong direction")
            named = missing if not self._estimate else ["f_star"]  # the others will be estimated
            raise ValueError(f"constants is missing {', '.join(named)}: {'; '.join(hint)}")
        L = given["L"] if "L" in given else self._estimated("L", labs)
        sigma = given["sigma"] if "sigma" in given else self._estimated("sigma", labs)
        sampled = None
        if "eps" in given:
            eps = given["eps"]
        else:
            sampled = self._estimated("divergences", labs)
            eps = sampled[0]
        return Constants(L=L, sigma=sigma, eps=eps, eps_levels=self._eps_levels_for(labs, M, eps, sampled),
                         f_star=given["f_star"])

    def _eps_levels_for(self, labs: list[NDArray[np.intp]], M: int, eps: Constant,
                        sampled: tuple[Constant, tuple[Constant, ...]] | None) -> tuple[Constant, ...]:
        spec = self._eps_levels
        if callable(spec):
            values = spec(labs)
            if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or len(values) != M:
                raise ValueError(f"constants['eps_levels'] (a function) must return {M} values for a {M}-level "
                                 f"grouping, got {values!r}")
            return tuple(_as_constant(f"eps_levels[{i}]", v, self._kind, self._note) for i, v in enumerate(values))
        if M == 1:
            return (eps,)  # one level: A3 at the top is the total divergence, eps_1 = eps
        if spec is not None:
            key = _grouping_key(labs)
            if self._bound_key is None:
                self._bound_key = key  # a list without constants['levels'] belongs to the first grouping asked for
            if key == self._bound_key:
                if len(spec) != M:
                    raise ValueError(f"constants['eps_levels'] has {len(spec)} values; this grouping has {M} levels")
                return spec
            if not self._estimate:
                raise ValueError("constants['eps_levels'] were given for another grouping (A3's eps_l belong to one "
                                 "grouping): pass eps_levels as a function levels -> list, or estimate=True")
        elif not self._estimate:
            raise ValueError(f"constants is missing eps_levels (A3's eps_l, {M} values for this grouping): give a "
                             f"list (with levels=... naming its grouping) or a function levels -> list, or pass "
                             f"estimate=True")
        if sampled is None:
            sampled = self._estimated("divergences", labs)
        return sampled[1]


def from_gradient_fn(worker_grads: Callable, grad: Callable, n: int, d: int, loss: Callable | None = None,
                     noise: float | Callable | None = None, constants: Constants | dict | None = None,
                     x0: ArrayLike | None = None, *, estimate: bool = False) -> FunctionProblem:
    """A problem from plain functions, for plugging in your own objective.

    Every function is called once at ``x0`` when the problem is made, and a wrong output
    shape (a scalar noise, a gradient missing the seed axis, ...) is a ``ValueError`` naming
    the function, instead of being broadcast through the run.

    Args:
        worker_grads: maps ``x`` of shape ``(..., n, d)`` to the per-worker true gradients,
            the same shape.
        grad: maps ``u`` of shape ``(..., d)`` to the global gradient; it must be the average
            of ``worker_grads`` (``f = (1/n) sum_j F_j``; checked at ``x0``).
        n, d: number of workers and dimension.
        loss: optional global loss ``(..., d) -> (...)`` (the checker needs it for ``F0``).
        noise: ``None`` (deterministic run), a number ``sigma`` (Gaussian noise with
            ``E||xi||^2 = sigma^2``), or a function ``(rng, shape) -> array`` of exactly
            ``shape``; ``rng`` is the run's :class:`~empirical.streams.SeedStreams`
            (``standard_normal``, ``normal``, ``random``, ``uniform``, ``integers``, each
            drawing along the leading seed axis).
        constants: the constants of docs/theory.md §1.3 Assumptions A1-A3: a :class:`Constants`,
            or a dict with ``L``, ``sigma``, ``eps``, ``eps_levels``, ``f_star`` (numbers or
            :class:`Constant`), an optional ``kind`` declaring how the numbers are known
            (``"exact"``, ``"certified"``, ``"given"`` (default) or ``"estimated"``; a
            :class:`Constant` keeps its own kind), an optional ``note`` saying how, and an
            optional ``levels``. Verdicts at ``"given"`` constants say that they rest on them;
            at ``"estimated"`` ones they are not applicable. ``sigma`` may be left out when ``noise`` is ``None``
            or a number (it is then exact). ``eps_levels`` (A3's ``eps_l``, finest first)
            belong to one grouping: give a function ``levels -> list`` to compute them for
            any grouping, or a list together with ``levels``, the grouping it is for (a list
            without ``levels`` belongs to the first grouping :meth:`constants` is asked for).
            Another grouping is then an error, never a silent reuse. With one level
            (``levels = ()``) ``eps_levels`` is ``(eps,)``.
        x0: default start (zeros), a number or shape ``(d,)``.
        estimate: what to do with missing constants. ``False`` (default): asking for
            :meth:`constants` raises, naming them. ``True``: ``L``, ``sigma``, ``eps`` and
            ``eps_levels`` that are not given are estimated along a pilot trajectory from
            ``x0`` (:func:`empirical.smoothness.pilot_trajectory`): ``L`` by Hessian power
            iteration with a 1.1 margin (:func:`empirical.smoothness.estimate_smoothness`),
            ``sigma`` and the divergences by sampling (:func:`sampled_sigma`,
            :func:`sampled_divergences`); each is labelled ``"estimated (...)"`` with its
            sampling, of kind ``"estimated"``, so :meth:`Constants.estimated` lists it. ``f_star`` is never estimated
            (a sampled minimum lies above ``f*``): it must be given.

    Raises:
        ValueError: a non-callable function, a wrong output shape or non-finite output at
            ``x0``, ``grad`` not the average of ``worker_grads``, unknown or out-of-range
            constants.

    Example:
        >>> import numpy as np
        >>> b = np.arange(4.0)[:, None]                      # F_j(x) = (x - b_j)^2 / 2
        >>> p = from_gradient_fn(lambda x: x - b, lambda u: u - b.mean(), n=4, d=1,
        ...                      constants=dict(L=1, eps=float(b.std()), f_star=0.625))
        >>> p.worker_grads(np.zeros((4, 1)))[:, 0].tolist()
        [0.0, -1.0, -2.0, -3.0]
        >>> p.constants().sigma.label                        # no noise: sigma = 0 is exact
        'exact (no noise)'
        >>> p.constants([[0, 0, 1, 1]])
        Traceback (most recent call last):
        ...
        ValueError: constants is missing eps_levels (A3's eps_l, 2 values for this grouping): give a list (with levels=... naming its grouping) or a function levels -> list, or pass estimate=True
    """
    return FunctionProblem(worker_grads, grad, n, d, loss, noise, constants, x0, estimate)

