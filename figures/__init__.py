"""The sandwich checker, verdicts, verification power, this project's figures and the ``hsgd`` command line.

The checker, for one's own problem and hierarchy (docs/theory.md §4.2 Theorem 2 and §6
The sandwich):

* :func:`run_check` runs local SGD (``P_1``), H-SGD and local SGD (``P_M``) with the same
  seeds, evaluates the three bounds with the problem's constants, and returns a
  :class:`CheckResult` whose verdicts are :class:`Verdict` objects (each says its basis:
  exact, statistical, floating point, or not applicable and why);
* :func:`draw_check` draws a :class:`CheckResult` (matplotlib, imported only then).

These names are loaded on first use (a module ``__getattr__``), so ``import figures`` stays
light: it imports neither matplotlib, nor sympy, nor the simulator.

Example:
    >>> import figures
    >>> figures.Verdict.__module__, figures.run_check.__module__
    ('figures.verdicts', 'figures.checker')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load on first use
    from figures.checker import CheckResult, draw_check, run_check
    from figures.verdicts import Verdict

_EXPORTS = {
    "CheckResult": "figures.checker",
    "Verdict": "figures.verdicts",
    "draw_check": "figures.checker",
    "run_check": "figures.checker",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Load an exported name from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'figures' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's names, including the exports not loaded yet."""
    return sorted({*globals(), *_EXPORTS})
