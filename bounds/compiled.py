"""One place that turns sympy expressions into numpy functions, and keeps them alive.

``sympy.lambdify`` registers each generated function's source in :mod:`linecache` and
removes it when the function is garbage-collected. If that happens while
``linecache.checkcache()`` walks the cache (pdb and doctest call it), Python raises
``KeyError: '<lambdifygenerated-N>'`` (sympy/sympy#27223, #27232). Compiling every
expression once, here, and never dropping the function avoids the race and the repeated
compilation cost; the number of distinct expressions a program uses is small.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import sympy as sp

__all__ = ["compiled"]

_CACHE: dict[tuple[tuple[sp.Symbol, ...], sp.Expr], Callable[..., Any]] = {}


def compiled(symbols: Sequence[sp.Symbol], expr: sp.Expr) -> Callable[..., Any]:
    """``sympy.lambdify(symbols, expr)`` for numpy (with shared subexpressions), cached.

    Example:
        >>> x, y = sp.symbols("x y")
        >>> f = compiled((x, y), x**2 + y)
        >>> f(3.0, 1.0), compiled((x, y), x**2 + y) is f
        (10.0, True)
    """
    key = (tuple(symbols), sp.sympify(expr))
    fn = _CACHE.get(key)
    if fn is None:
        fn = _CACHE[key] = sp.lambdify(key[0], key[1], modules="numpy", cse=True)
    return fn
