"""The registry of theorems: every statement the toolkit checks, by name.

Each theorem is one builder file here (docs/theory.md gives the statement and its derivation):

* ``theorem2``: docs/theory.md §4.2 Theorem 2 (its cases: Theorem 1, local SGD), constants
  derived for this project with the paper's structure (:mod:`bounds.theorems.theorem2`);
* ``sharp``: docs/theory.md §9.1 Theorem S, derived for this project (:mod:`bounds.theorems.sharp`);
* ``sharp_recursion``: docs/theory.md §9.2 Theorem S' (the forward recursion; no closed form: its
  level terms are implemented functions), derived for this project (:mod:`bounds.theorems.recursion`);
* ``theorem_p``: docs/theory.md §10.3 Theorem P (Theorem W at full participation; Theorem 2 at
  equal weights too), derived for this project (:mod:`bounds.theorems.participation`).

:func:`theorem` resolves what a user types after ``--theorem``: a registered name, or a user's
own theorem as ``path/to/file.py:attr`` or ``module:attr`` (an attribute holding a
:class:`~bounds.statement.Theorem`).
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from bounds.statement import Theorem
from bounds.theorems.participation import THEOREM_P, theorem_p
from bounds.theorems.recursion import THEOREM_S_PRIME, theorem_s_prime
from bounds.theorems.sharp import THEOREM_S, theorem_s
from bounds.theorems.theorem2 import THEOREM_2, theorem2

__all__ = ["REGISTRY", "theorem", "theorem2", "theorem_s", "theorem_s_prime", "theorem_p", "THEOREM_2", "THEOREM_S",
           "THEOREM_S_PRIME", "THEOREM_P"]

REGISTRY: dict[str, Theorem] = {t.name: t for t in (THEOREM_2, THEOREM_S, THEOREM_S_PRIME, THEOREM_P)}
"""Registered theorems by name."""

_LOADED: dict[str, Theorem] = {}
"""User theorems already loaded, by what named them: the same object every time (what is compiled
for a theorem is kept by the object)."""


def theorem(spec: str | Theorem) -> Theorem:
    """The theorem ``spec`` names: a registered name (:data:`REGISTRY`), ``path/to/file.py:attr``
    or ``module:attr``; a :class:`~bounds.statement.Theorem` is returned as it is.

    Raises:
        ValueError: naming what was not found and what would be accepted.

    Example:
        >>> theorem("sharp").title
        'Theorem S'
        >>> theorem("nonsense")
        Traceback (most recent call last):
        ...
        ValueError: unknown theorem 'nonsense': give one of theorem2, sharp, sharp_recursion, theorem_p, or path/to/file.py:attr or module:attr
    """
    if isinstance(spec, Theorem):
        return spec
    if not isinstance(spec, str):
        raise ValueError(f"theorem must be a name or a Theorem, got {spec!r}")
    if spec in REGISTRY:
        return REGISTRY[spec]
    if ":" not in spec:
        raise ValueError(f"unknown theorem {spec!r}: give one of {', '.join(REGISTRY)}, or path/to/file.py:attr "
                         "or module:attr")
    if spec in _LOADED:
        return _LOADED[spec]
    where, _, attr = spec.rpartition(":")
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise ValueError(f"theorem file {where!r} does not exist")
        module_spec = importlib.util.spec_from_file_location(f"hsgd_user_theorem_{path.stem}", path)
        if module_spec is None or module_spec.loader is None:
            raise ValueError(f"cannot load {where!r} as Python")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as err:
            raise ValueError(f"cannot import the theorem module {where!r}: {err}") from None
    if not hasattr(module, attr):
        raise ValueError(f"theorem {spec!r}: {where} has no attribute {attr!r}")
    found = getattr(module, attr)
    if not isinstance(found, Theorem):
        raise ValueError(f"theorem {spec!r} must name a bounds.statement.Theorem, got {type(found).__name__}")
    _LOADED[spec] = found
    return found
