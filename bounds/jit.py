"""What the optional numba paths share (the ``fast`` extra): whether numba may be used, the
compile options that keep numpy's IEEE semantics, and where generated kernels and numba's
cache live.

Two modules compile with numba: :mod:`bounds.compiled` (the bound evaluator) and
:mod:`empirical.kernels` (HeterogeneousNonconvex's step). Each keeps its own state; the rules
here are the same for both.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import sys
import types
from typing import Any, Iterator, MutableMapping, Sequence

__all__ = ["NJIT_OPTIONS", "numba_importable", "numba_available_in", "switched", "cache_dir", "load_source"]

NJIT_OPTIONS: dict[str, Any] = {"fastmath": False, "error_model": "numpy", "nogil": True}
"""IEEE semantics as numpy's: no fast-math reassociation or contraction, and ``x / 0`` is inf or
NaN (numba's default "python" error model raises ZeroDivisionError instead)."""


def numba_importable() -> bool:
    """Whether a numba path may run: ``HSGD_NUMBA`` is not ``0`` and ``import numba`` works
    (a few tenths of a second the first time; callers cache the answer)."""
    if os.environ.get("HSGD_NUMBA", "1") == "0":
        return False
    try:
        import numba  # noqa: F401 - optional
    except ImportError:
        return False
    return True


def numba_available_in(state: MutableMapping[str, Any]) -> bool:
    """:func:`numba_importable`, asked once and kept in ``state["numba"]`` (each numba module's
    own state, so tests can reset one without the other)."""
    if state["numba"] is None:
        state["numba"] = numba_importable()
    return bool(state["numba"])


@contextlib.contextmanager
def switched(state: MutableMapping[str, Any], key: str, value: str, allowed: Sequence[str],
             noun: str) -> Iterator[None]:
    """Within the block ``state[key]`` is ``value``, restored afterwards; a ``value`` not in
    ``allowed`` raises ``ValueError("<noun> must be one of ..., got ...")`` before any change."""
    if value not in allowed:
        raise ValueError(f"{noun} must be one of {', '.join(allowed)}, got {value!r}")
    previous = state[key]
    state[key] = value
    try:
        yield
    finally:
        state[key] = previous


def cache_dir() -> str | None:
    """Where generated kernels and numba's cache go: ``$HSGD_CACHE_DIR``, else
    ``~/.cache/hsgd``, under ``numba/``; ``None`` when it cannot be created or written."""
    root = os.environ.get("HSGD_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "hsgd")
    path = os.path.join(root, "numba")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def load_source(source: str, prefix: str) -> tuple[types.ModuleType, bool]:
    """``source`` as a module named ``prefix`` + its hash: from a file in :func:`cache_dir` when
    possible (numba caches only functions defined in files; ``True`` then), else from memory
    (``False``). The file is written atomically, since another process may write the same one."""
    name = prefix + hashlib.sha1(source.encode()).hexdigest()[:20]
    directory = cache_dir()
    if directory is not None:
        path = os.path.join(directory, name + ".py")
        try:
            if not os.path.exists(path):
                tmp = f"{path}.{os.getpid()}.tmp"
                with open(tmp, "w", encoding="utf-8") as fh:
                    fh.write(source)
                os.replace(tmp, path)
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is not None and spec.loader is not None:
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                sys.modules[name] = module  # numba's cache finds the function's module by name
                return module, True
        except OSError:
            pass
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # noqa: S102 - our own generated code
    return module, False
