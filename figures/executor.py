"""One executor for the parallel work of ``hsgd``: a process pool, this process, or a Dask cluster.

The figure build, the sweeps of F3 and F8 (:func:`figures.sweep.run_sweep`), ``hsgd power`` and
the three runs of ``hsgd check`` (:func:`figures.checker.run_check`) all take their executor from
:func:`executor`, so one option chooses where every job runs:

* ``workers=None`` (default): a :class:`~concurrent.futures.ProcessPoolExecutor` with one
  process per CPU this process may use (:func:`default_workers`; this process alone when that
  is one);
* ``workers=1``: an :class:`InlineExecutor`, which runs each call in this process when it is
  submitted (no pickling, no processes; the order of the calls is the order of submission);
* ``workers=k``: a process pool of at most ``k`` processes (below);
* ``scheduler="tcp://host:8786"``: the executor of a ``dask.distributed`` client connected to
  that scheduler (the cluster's workers do the work). Dask is optional: it is imported only
  here, and a one-line error says how to install it when it is missing.

**The pool never has more processes than CPUs or tasks.** Its size is
:func:`pool_size`: ``workers`` (default one per CPU), capped at the CPUs this process may use
(:func:`default_workers`) and, when the caller says how many tasks it will submit
(``executor(..., tasks=n)``), at that number; a size of 1 is this process
(:class:`InlineExecutor`). So ``hsgd check --workers 100000`` starts at most one process per
CPU (it started over 1200), and three tasks never start more than three. More processes than
CPUs would only share the same cores; the numbers do not depend on the count.

Every job submitted is a top-level (picklable) function of picklable arguments, so the pool
works with any start method (``fork``, ``spawn``, ``forkserver``) and on a Dask cluster. Every
job is seeded by its arguments, so its result does not depend on where it ran or on how many
workers there were; results are collected by the caller in a fixed order (``Executor.map``
keeps the order of its inputs), never in the order they finish.

Each process of the pool runs one BLAS thread (:func:`one_blas_thread`): the pool already uses
every core, and BLAS threads competing for them made the small dense solves of Theorem S's
optimiser (scipy's L-BFGS-B) 2.5-6x slower on 2 cores. The ``hsgd`` command does the same in its
own process (``OPENBLAS_NUM_THREADS=1`` and the like, unless set).

Each executor is a context manager, shut down (and a Dask client closed) on exit. **Ctrl-C**
reaches the ``hsgd`` process only: the pool's processes ignore ``SIGINT`` (:func:`worker_setup`),
so none of them prints a traceback, and a pool left by ``KeyboardInterrupt`` stops its
processes at once instead of waiting for their calls to finish (:class:`ProcessPool`).

Example:
    >>> with executor(workers=1) as pool:
    ...     list(pool.map(abs, [-2, 3, -5]))
    [2, 3, 5]
    >>> executor(workers=0)
    Traceback (most recent call last):
    ValueError: workers must be an integer >= 1 (or None: one per CPU), got 0
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from types import TracebackType
from typing import Any, Callable

__all__ = ["executor", "default_workers", "pool_size", "workers_option", "one_blas_thread", "keep_freed_memory",
           "worker_setup", "InlineExecutor",
           "DaskExecutor", "ProcessPool", "is_inline"]

DASK_MISSING = 'needs dask.distributed, which is not installed (pip install "hsgd[dask]")'

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""The environment variables that size the BLAS and OpenMP thread pools when a library loads."""


def one_blas_thread() -> None:
    """One BLAS/OpenMP thread in this process: for the libraries loaded later, through the
    environment (a variable already set is kept), and for those already loaded, through
    ``threadpoolctl`` (installed with scikit-learn; skipped if absent). The work that runs in
    parallel is split between processes, never inside BLAS."""
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - installed with scikit-learn
        return
    threadpool_limits(1)


KEEP_BELOW = 1 << 26
"""Bytes: blocks up to this size are served from the heap and freed memory up to it is kept (:func:`keep_freed_memory`)."""


def keep_freed_memory() -> bool:
    """Keep freed memory in this process instead of returning it to the system (glibc's ``mallopt``:
    ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` raised to :data:`KEEP_BELOW`); ``False`` where
    there is no glibc (nothing changes there).

    A numpy step that makes a few temporaries of a few hundred kilobytes (above glibc's 128 KiB
    default, which its dynamic threshold does not always lift) otherwise gets fresh pages from the
    kernel for each of them and frees them again: on ``hsgd replay``'s digits runs (about 600 KB
    per ``(seeds, n, d)`` array) that was 640 page faults per step and 40% of the run's time in the
    kernel. Idempotent; the numbers a run computes do not change.
    """
    import ctypes

    try:  # glibc only (its version string), then its mallopt among this process's own symbols
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, ValueError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(mallopt(M_MMAP_THRESHOLD, KEEP_BELOW)) and bool(mallopt(M_TRIM_THRESHOLD, 2 * KEEP_BELOW))


def worker_setup() -> None:
    """The initializer of every pool process: one BLAS thread (:func:`one_blas_thread`), freed
    memory kept for reuse (:func:`keep_freed_memory`) and ``SIGINT`` ignored (Ctrl-C at a terminal
    reaches every process of the foreground group; the ``hsgd`` process handles it and stops the
    pool, :class:`ProcessPool`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    one_blas_thread()
    keep_freed_memory()


class ProcessPool(ProcessPoolExecutor):
    """A ``ProcessPoolExecutor`` whose ``with`` block, left by ``KeyboardInterrupt``, cancels the
    calls not started and terminates its processes (the calls running are abandoned: their
    results would be thrown away). Any other exit shuts it down as usual (waiting for the calls)."""

    inline = False

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool | None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self.terminate()
            return None
        return super().__exit__(exc_type, exc, tb)

    def terminate(self) -> None:
        """Cancel the calls not started and stop every process now."""
        processes = list((getattr(self, "_processes", None) or {}).values())
        self.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout=5)


def workers_option(text: str) -> int:
    """An argparse ``type`` for ``--workers``: an integer >= 1.

    Example:
        >>> workers_option("2")
        2
        >>> workers_option("0")
        Traceback (most recent call last):
        argparse.ArgumentTypeError: must be an integer >= 1 (processes), got '0'
    """
    import argparse

    try:
        value = int(text.strip())
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1 (processes), got {text!r}")
    return value


def default_workers() -> int:
    """The number of CPUs this process may run on, at least 1: the default size of the process
    pool and the cap on any size (:func:`pool_size`).

    ``os.process_cpu_count()`` (Python 3.13+), else ``os.sched_getaffinity`` (Linux), else
    ``os.cpu_count()``.
    """
    counter = getattr(os, "process_cpu_count", None)
    count = counter() if counter is not None else None
    if count is None:
        try:
            count = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):  # not on Linux
            count = os.cpu_count()
    return max(1, count or 1)


def pool_size(workers: int | None = None, tasks: int | None = None) -> int:
    """The number of processes :func:`executor` starts: ``workers`` (``None``: one per CPU),
    at most the CPUs this process may use (:func:`default_workers`) and at most ``tasks`` when
    given; at least 1 (1 means this process, no pool).

    Example:
        >>> pool_size(100_000, tasks=3) <= min(3, default_workers())
        True
        >>> pool_size(4, tasks=0)
        1
    """
    size = min(default_workers(), workers if workers is not None else default_workers())
    if tasks is not None:
        size = min(size, tasks)
    return max(1, size)


class InlineExecutor(Executor):
    """An executor that runs each call in this process, at once, when it is submitted.

    The future it returns is already done (its result, or the exception the call raised).
    Used for ``workers=1``: the same code path as a pool, without processes or pickling.
    """

    inline = True

    def __init__(self) -> None:
        self._shutdown = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Run ``fn(*args, **kwargs)`` now; return a done future holding its result or its error."""
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        future: Future = Future()
        try:
            result = fn(*args, **kwargs)
        except Exception as err:  # the caller sees it from future.result(), as from a pool
            future.set_exception(err)
        else:
            future.set_result(result)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No new calls after this (nothing runs in the background)."""
        self._shutdown = True


class DaskExecutor(Executor):
    """The executor of a ``dask.distributed`` client connected to ``scheduler``; shutting it
    down closes the client. Tasks are submitted with ``pure=False`` (never deduplicated by
    Dask: the sweeps deduplicate their configurations themselves)."""

    inline = False

    def __init__(self, scheduler: str) -> None:
        try:
            from dask.distributed import Client
        except ImportError:
            raise ValueError(f"scheduler {scheduler!r} {DASK_MISSING}") from None
        self.client = Client(scheduler)
        self._executor = self.client.get_executor(pure=False)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Submit ``fn(*args, **kwargs)`` to the cluster; a ``concurrent.futures.Future`` of its result."""
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop submitting, then close the client (the cluster keeps running)."""
        try:
            self._executor.shutdown(wait=wait)
        finally:
            self.client.close()


def is_inline(pool: Executor) -> bool:
    """Whether ``pool`` runs each call in this process when it is submitted (:class:`InlineExecutor`)."""
    return bool(getattr(pool, "inline", False))


def executor(workers: int | None = None, scheduler: str | None = None, *, tasks: int | None = None) -> Executor:
    """The executor for parallel work (see the module docstring for the choices).

    Args:
        workers: processes of the local pool; ``None`` for one per CPU (:func:`default_workers`),
            ``1`` to run every call in this process. Not used with ``scheduler``. The pool has
            :func:`pool_size` processes: never more than the CPUs this process may use, nor
            than ``tasks``.
        tasks: how many calls the caller will submit, when it knows (caps the pool; ``None``:
            not known).
        scheduler: the address of a Dask scheduler (e.g. ``"tcp://host:8786"``); then the
            cluster runs the calls. Needs ``dask.distributed`` (``pip install "hsgd[dask]"``).

    Returns:
        A ``concurrent.futures.Executor``; use it in a ``with`` block (or call ``shutdown()``).

    Raises:
        ValueError: if ``workers`` is not an integer >= 1 or ``None``, if both ``workers`` and
            ``scheduler`` are given, if ``scheduler`` is not a non-empty string, or if it is
            given and Dask is not installed.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be an integer >= 1 (or None: one per CPU), got {workers!r}")
    if scheduler is not None:
        if not isinstance(scheduler, str) or not scheduler.strip():
            raise ValueError(f"scheduler must be the address of a Dask scheduler (e.g. tcp://host:8786), "
                             f"got {scheduler!r}")
        if workers is not None:
            raise ValueError("workers applies to the local process pool only; with a scheduler the Dask "
                             "cluster's workers run the calls (leave workers out)")
        return DaskExecutor(scheduler.strip())
    if tasks is not None and (isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 0):
        raise ValueError(f"tasks must be an integer >= 0 (or None: not known), got {tasks!r}")
    count = pool_size(workers, tasks)
    if count == 1:
        return InlineExecutor()
    return ProcessPool(max_workers=count, initializer=worker_setup)
