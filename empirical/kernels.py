"""Optional compiled step of :class:`empirical.problems.HeterogeneousNonconvex` (numba).

The numpy step of :meth:`empirical.problems.HeterogeneousNonconvex.stochastic_grads` makes a
dozen elementwise passes per cache block. When numba is installed (``pip install -e
".[fast]"``, never required) and the environment variable ``HSGD_NUMBA`` is not ``0``, the
step can instead run as one compiled loop per block: the noise is still drawn by numpy from
the same streams, in the same order, into the same scratch block, and the loop then does,
per element, exactly the numpy path's floating-point operations in the same order (``u = x -
c``, ``s = u*u``, ``s + 1``, ``s*s``, ``2 lam / s``, ``+ a``, ``u*s``, ``+ a(c - b)``, ``+
z*scale``, ``*lr``, ``x - g``), with ``fastmath`` off (no reassociation, no fused
multiply-add) and numpy's error model (``x / 0`` is ``inf``), so every number is bit for bit
the numpy path's (tests/empirical/test_kernels.py compares whole simulations with ``==``).

The same extra compiles two parts of a record (:data:`RECORD_SOURCE`, :func:`record_kernels`):
the sums over workers of ``phi`` and ``phi'`` at the average and the level-1 group means and
deviations, again with numpy's operations in its order (``einsum`` and numpy's pairwise sums
stay numpy's), so records are bit for bit the same too.

The kernel is compiled on its first use, not at import, and cached on disk in
``$HSGD_CACHE_DIR/numba`` (else ``~/.cache/hsgd/numba``) when that is writable. Any failure
to import or compile falls back to numpy silently. :func:`use_kernel` forces either path;
:data:`STATS` counts the calls of each (tests and ``hsgd bench engine`` read it).
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import numpy as np
from numpy.typing import NDArray

from bounds.jit import NJIT_OPTIONS, cache_dir, load_source, numba_available_in, switched

__all__ = ["AUTO_MIN_ELEMENTS", "MODES", "STATS", "KERNEL_SOURCE", "cache_dir", "current_mode", "kernel_ready",
           "mark_broken", "numba_available", "record_kernels", "RECORD_SOURCE", "step_kernel", "use_kernel"]

MODES: tuple[str, ...] = ("auto", "numpy", "numba")
"""Which path :meth:`~empirical.problems.HeterogeneousNonconvex.stochastic_grads` takes:
``auto`` (numba when it imports, once the process has stepped :data:`AUTO_MIN_ELEMENTS`
elements with numpy), ``numpy`` (never numba), ``numba`` (numba whenever it imports). Without
numba every mode runs numpy; the results are the same in every mode."""

AUTO_MIN_ELEMENTS = 10**8
"""Elements (``seeds * n * d`` per call, summed over the process) the numpy step handles
before ``auto`` turns to numba: importing numba and loading the cached kernel take about 0.7 s
in a fresh process, about what the compiled loop saves over 10^8 elements, so short runs such
as ``hsgd check``'s never pay it."""

STATS: dict[str, int] = {"numba": 0, "numpy": 0, "numpy_elements": 0}
"""Calls of the step per path since import (one per ``stochastic_grads`` call), and the
elements the numpy path stepped (``auto`` reads it)."""

def _step_source() -> str:
    """The source of the compiled step: one loop per case (noise or not, fused step or not,
    gradient stored or not), each written out from the one body below so that the branches
    stay outside the loops (numba vectorises a loop without them)."""
    head = '''\
def _step(x, out, z, c, acb, lo, hi, a, two_lam, scale, lr, noisy, fused, store):
    """One block of HeterogeneousNonconvex.stochastic_grads: elements lo <= i < hi of every row
    of x and out (rows, n*d); z[r] holds the block's normals of row r; c and acb are (n*d,).
    The numpy path's operations, in its order; the branches are outside the loops. With fused
    and not store, out is not written (the caller only needs x: one array less through memory)."""
    cs = c[lo:hi]
    acs = acb[lo:hi]
    m = hi - lo
    for r in range(x.shape[0]):
        xr = x[r, lo:hi]
        orow = out[r, lo:hi]
        zr = z[r]
'''
    body = ["xi = xr[i]", "u = xi - cs[i]", "s = u * u", "s = s + 1.0", "s = s * s", "s = two_lam / s",
            "s = s + a", "g = u * s", "g = g + acs[i]"]
    cases = [("noisy and fused and not store", True, True, False), ("noisy and fused", True, True, True),
             ("noisy", True, False, True), ("fused", False, True, True), (None, False, False, True)]
    lines = []
    for k, (test, noise, step, store) in enumerate(cases):
        lines.append(f"        {'if' if k == 0 else 'elif'} {test}:" if test else "        else:")
        lines.append("            for i in range(m):")
        ops = body + (["g = g + zr[i] * scale"] if noise else []) + (["g = g * lr", "xr[i] = xi - g"] if step else [])
        ops += ["orow[i] = g"] if store else []
        lines += ["                " + op for op in ops]
    return head + "\n".join(lines) + "\n"


KERNEL_SOURCE = _step_source()
"""The compiled step's source (:func:`_step_source`)."""

RECORD_SOURCE = '''\
def _phi_block(u, c, sq, acc):
    """One block of HeterogeneousNonconvex._phi_terms for rows u (B, d) and workers c (nb, d):
    sq[b, j] = v^2/(1 + v^2) with v = u[b] - c[j] (numpy then sums it pairwise), and
    acc[b] = sum over j, in order from +0.0, of 2v/(1 + v^2)^2: numpy's operations in its order
    (the sum over the workers' axis runs worker by worker there too when d > 1)."""
    B, d = u.shape
    nb = c.shape[0]
    for b in range(B):
        for k in range(d):
            acc[b, k] = 0.0  # numpy's sums start from +0.0 (so a sum of -0.0 is +0.0)
        for j in range(nb):
            for k in range(d):
                v = u[b, k] - c[j, k]
                q = v * v
                s = q + 1.0
                sq[b, j, k] = q / s
                s = s * s
                w = v * 2.0
                w = w / s
                acc[b, k] = acc[b, k] + w


def _group_deviations(x, members, group_of_worker, means, work):
    """Level-1 group means of x (B, n, d) for equal groups, members[g] listing group g's workers
    in sorted order (summed in that order, then divided by their number), and
    work = x - the mean of each worker's group: SortedLevels' operations in its order."""
    B, n, d = x.shape
    K, m = members.shape
    for b in range(B):
        for g in range(K):
            for k in range(d):
                means[b, g, k] = 0.0  # numpy's sums start from +0.0
            for i in range(m):
                j = members[g, i]
                for k in range(d):
                    means[b, g, k] = means[b, g, k] + x[b, j, k]
            for k in range(d):
                means[b, g, k] = means[b, g, k] / m
        for j in range(n):
            g = group_of_worker[j]
            for k in range(d):
                work[b, j, k] = x[b, j, k] - means[b, g, k]
'''
"""Compiled parts of a record (:mod:`empirical.recording`): the gradient sums of
:meth:`empirical.problems.HeterogeneousNonconvex._phi_terms` and the level-1 means and
deviations of :meth:`empirical.aggregation.SortedLevels.divergences`, each with numpy's
operations in numpy's order (the pairwise sums and ``einsum`` stay numpy's), so records are
bit for bit the numpy path's; used when ``d > 1`` (with ``d = 1`` numpy sums the workers'
axis pairwise). One exception, never in a result: where NaNs of both signs meet in one sum,
which NaN's sign survives depends on numpy's SIMD loop; such a record is non-finite, so the
run stops there and drops it."""

_NJIT_OPTIONS = NJIT_OPTIONS
_STATE: dict[str, Any] = {"mode": "auto", "numba": None, "kernel": None, "broken": False, "record": None}


def numba_available() -> bool:
    """Whether the compiled path can run (:func:`bounds.jit.numba_importable`), asked once."""
    return numba_available_in(_STATE)


@contextlib.contextmanager
def use_kernel(mode: str) -> Iterator[None]:
    """Within the block, the step follows ``mode`` (one of :data:`MODES`).

    Example:
        >>> with use_kernel("numpy"):
        ...     current_mode()
        'numpy'
        >>> use_kernel("fortran").__enter__()
        Traceback (most recent call last):
        ...
        ValueError: mode must be one of auto, numpy, numba, got 'fortran'
    """
    with switched(_STATE, "mode", mode, MODES, "mode"):
        yield


def current_mode() -> str:
    """The mode :func:`use_kernel` set (``auto`` outside any such block)."""
    return str(_STATE["mode"])


def _njit_from_source(source: str, prefix: str, names: tuple[str, ...],
                      warm_up: Callable[..., None]) -> tuple[Callable[..., Any], ...]:
    """The functions ``names`` of ``source`` compiled with numba (cached on disk when the source
    can live in a file, :func:`bounds.jit.load_source`), and ``warm_up(*functions)`` called so
    that they are compiled now, before any noise is drawn; without the disk cache if it fails."""
    import numba

    module, from_file = load_source(source, prefix)
    for cache in (True, False) if from_file else (False,):
        try:
            functions = tuple(numba.njit(cache=cache, **_NJIT_OPTIONS)(getattr(module, name)) for name in names)
            warm_up(*functions)
            return functions
        except Exception:
            if not cache:
                raise
    raise AssertionError("unreachable")


def _warm_up_step(step: Callable[..., None]) -> None:
    """Call the step once with the argument types the engine passes."""
    x, c = np.zeros((1, 1)), np.zeros(1)
    step(x, np.zeros_like(x), np.zeros_like(x), c, c.copy(), 0, 1, 1.0, 2.0, 1.0, 0.5, True, True, True)


def _warm_up_record(phi: Callable[..., None], deviations: Callable[..., None]) -> None:
    """Call the record parts once with the argument types the records pass."""
    phi(np.zeros((1, 2)), np.zeros((1, 2)), np.zeros((1, 1, 2)), np.zeros((1, 2)))
    deviations(np.zeros((1, 1, 2)), np.zeros((1, 1), dtype=np.intp), np.zeros(1, dtype=np.intp),
               np.zeros((1, 1, 2)), np.zeros((1, 1, 2)))


def _compiled(slot: str, compile_them: Callable[[], Any]) -> Any:
    """``_STATE[slot]``, compiled by ``compile_them`` on first use, or ``None`` when numpy
    should run: the mode is ``numpy``, ``auto`` before :data:`AUTO_MIN_ELEMENTS`, numba does
    not import, or an earlier compilation failed (which marks numba broken)."""
    mode = _STATE["mode"]
    if mode == "numpy" or _STATE["broken"] or (mode == "auto" and STATS["numpy_elements"] < AUTO_MIN_ELEMENTS):
        return None
    if not numba_available():
        return None
    compiled = _STATE[slot]
    if compiled is None:
        try:
            compiled = _STATE[slot] = compile_them()
        except Exception:
            _STATE["broken"] = True
            return None
    return compiled


def step_kernel() -> Callable[..., None] | None:
    """The compiled block step (signature of ``_step`` in :data:`KERNEL_SOURCE`), or ``None``
    when the numpy path should run (:func:`_compiled`'s rule). A failure at a later call is
    the caller's to catch (it then calls :func:`mark_broken`)."""
    return _compiled("kernel", lambda: _njit_from_source(KERNEL_SOURCE, "hsgd_step_", ("_step",), _warm_up_step)[0])


def record_kernels() -> tuple[Callable[..., None], Callable[..., None]] | None:
    """The compiled record parts ``(phi_block, group_deviations)`` of :data:`RECORD_SOURCE`, or
    ``None`` when numpy should run (the same rule as :func:`step_kernel`)."""
    return _compiled("record", lambda: _njit_from_source(RECORD_SOURCE, "hsgd_record_",
                                                         ("_phi_block", "_group_deviations"), _warm_up_record))


def mark_broken() -> None:
    """Numba could not compile or run the kernel: numpy from now on, in this process."""
    _STATE["broken"] = True
    _STATE["kernel"] = None


def kernel_ready(x: NDArray[Any], out: NDArray[Any]) -> bool:
    """Whether the arrays suit the kernel: float64, C-contiguous, the same shape, at least 2-D."""
    return (x.dtype == np.float64 and out.dtype == np.float64 and x.shape == out.shape and x.ndim >= 2
            and x.flags.c_contiguous and out.flags.c_contiguous and x.flags.writeable and out.flags.writeable)
