"""Checks of parameter values against the domain of a bound, with errors that name the rule.

Two kinds of rules:

* per symbol, read off its sympy assumptions: ``gamma``, ``L`` positive; ``sigma``, ``F0``,
  every ``eps`` non-negative; ``n``, ``T``, periods and group counts positive integers;
* structural, read off the bound's levels (docs/theory.md §1.1 Workers, hierarchy,
  periods): each period divides the next, group counts do not increase from fine to coarse
  (``N <= n``), and where Lemma 2 needs equal groups each count divides the finer one and ``n >= 2``.

The horizon ``T`` is any positive integer: it need not be a multiple of the top period,
since the theorem also covers a final partial window (docs/theory.md §5.5 Any horizon).

All checks are vectorised: they take float arrays (scalars are 0-d arrays), so the same code
serves :meth:`bounds.Bound.evaluate` and :meth:`bounds.Bound.lambdify`.
"""

from __future__ import annotations

import math
import numbers
import threading
from typing import Any, Mapping, Protocol, Sequence

import numpy as np
import sympy as sp
from numpy.typing import NDArray

from bounds.compiled import compiled

__all__ = ["BoundStructure", "BlockDomainCheck", "as_parameter_arrays", "check_domain", "check_structure_numbers"]


class BoundStructure(Protocol):
    """What the domain checks read of a bound: its keywords, its levels and whether it needs
    equal groups (:class:`bounds.Bound` has all three; this module does not import it)."""

    parameters: Mapping[str, Any]
    levels: Sequence[Any]
    equal_groups: bool



def _as_real_array(name: str, value: Any) -> NDArray[np.float64]:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"parameter {name} must be a real number, got the boolean {value!r}")
    if isinstance(value, sp.Basic):
        if not (value.is_number and value.is_real):
            raise ValueError(f"parameter {name} must be a real number, got {value}")
        value = float(value)
    try:
        arr = np.asarray(value)
    except Exception as err:  # pragma: no cover - numpy raises many kinds here
        raise ValueError(f"parameter {name} must be a real number or array, got {value!r}") from err
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"parameter {name} must be a real number or array of them, got {value!r}")
    return arr.astype(np.float64, copy=False)


def as_parameter_arrays(
    title: str, parameters: Mapping[str, sp.Symbol | tuple[sp.Symbol, ...]], values: Mapping[str, Any]
) -> dict[sp.Symbol, NDArray[np.float64]]:
    """Map keyword ``values`` onto symbols, as float arrays.

    Raises:
        ValueError: for an unknown or missing keyword, a per-level keyword that is not a
            sequence of the right length, or a value that is not a finite real number.
    """
    unknown = sorted(set(values) - set(parameters))
    if unknown:
        raise ValueError(
            f"unknown parameter {unknown[0]!r} for {title}; expected: {', '.join(parameters)}"
        )
    out: dict[sp.Symbol, NDArray[np.float64]] = {}
    for name, spec in parameters.items():
        if name not in values:
            raise ValueError(f"missing parameter {name!r} for {title}")
        value = values[name]
        if isinstance(spec, tuple):
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) and np.ndim(value) == 0:
                raise ValueError(
                    f"parameter {name} must be a sequence of {len(spec)} values, one per level "
                    f"(finest first), got {value!r}"
                )
            items = list(value)
            if len(items) != len(spec):
                raise ValueError(
                    f"parameter {name} must have {len(spec)} values, one per level (finest "
                    f"first), got {len(items)}"
                )
            for i, (sym, item) in enumerate(zip(spec, items)):
                out[sym] = _as_real_array(f"{name}[{i}]", item)
        else:
            out[spec] = _as_real_array(name, value)
    return out


def _first(arr: NDArray[Any], mask: NDArray[np.bool_]) -> str:
    """The first offending entry, for an error message."""
    if arr.ndim == 0:
        return f"{arr.item():g}"
    idx = tuple(int(i[0]) for i in np.nonzero(mask))
    return f"{arr[idx]:g} at index {idx if len(idx) > 1 else idx[0]}"


def _numeric(expr: sp.Expr, arrays: Mapping[sp.Symbol, NDArray[np.float64]]) -> NDArray[np.float64]:
    if expr.is_number:
        return np.asarray(float(expr))
    if isinstance(expr, sp.Symbol):
        return arrays[expr]
    syms = sorted(expr.free_symbols, key=lambda sym: sym.name)
    fn = compiled(syms, expr)
    return np.asarray(fn(*(arrays[sym] for sym in syms)), dtype=np.float64)


def _is_integer(arr: NDArray[np.float64]) -> NDArray[np.bool_]:
    return np.equal(np.floor(arr), arr)


def _all_integer(arr: NDArray[np.float64]) -> bool:
    return bool((np.floor(arr) == arr).all())


def _symbol_rules(sym: sp.Symbol, name: str, arr: NDArray[np.float64], integer: bool = True) -> None:
    # Two reductions and no boolean temporaries: NaN reaches both, inf one of them.
    low, high = (arr.min(), arr.max()) if arr.size else (0.0, 0.0)
    if not (np.isfinite(low) and np.isfinite(high)):
        raise ValueError(f"parameter {name} must be finite, got {_first(arr, ~np.isfinite(arr))}")
    if sym.is_positive and not low > 0:
        raise ValueError(f"{name} must be positive, got {_first(arr, ~(arr > 0))}")
    if sym.is_nonnegative and not low >= 0:
        raise ValueError(f"{name} must be non-negative, got {_first(arr, ~(arr >= 0))}")
    if integer and sym.is_integer and not _all_integer(arr):
        raise ValueError(f"{name} must be an integer, got {_first(arr, ~_is_integer(arr))}")


def _multiple_rule(big: NDArray, small: NDArray, big_name: str, small_name: str, why: str) -> None:
    # Both are positive integers here (checked before), far below 2**52, so big/small is
    # an exact integer exactly when small divides big: no slow floating-point modulo.
    if _all_integer(np.divide(big, small)):
        return
    if not _all_integer(big):
        raise ValueError(f"{big_name} must be an integer, got {_first(big, ~_is_integer(big))}")
    bad = np.mod(big, small) != 0
    if np.any(bad):
        b, sm = np.broadcast_arrays(big, small)
        raise ValueError(
            f"{big_name} must be a multiple of {small_name}{why} (got {big_name} = "
            f"{_first(b, bad)}, {small_name} = {_first(sm, bad)})"
        )


def check_domain(bound: BoundStructure, arrays: Mapping[sp.Symbol, NDArray[np.float64]]) -> None:
    """Raise ``ValueError`` naming the first rule of the bound's domain that ``arrays`` break."""
    names = {}
    for key, spec in bound.parameters.items():
        for i, sym in enumerate(spec if isinstance(spec, tuple) else (spec,)):
            names[sym] = f"{key}[{i}]" if isinstance(spec, tuple) else key
    # A later period is an integer multiple of an integer period, so its integrality follows
    # from the nesting rule below: skip the extra pass. T is checked on its own (any T >= 1).
    if any(arr.size == 0 for arr in arrays.values()):
        return  # the broadcast result is empty: nothing to check
    implied = {lev.period for lev in bound.levels[1:] if lev.period.is_Symbol}
    implied.discard(bound.levels[0].period)  # a symbol repeated from P_1 must be checked itself
    for sym, arr in arrays.items():
        _symbol_rules(sym, names[sym], arr, integer=sym not in implied)

    periods = [_numeric(level.period, arrays) for level in bound.levels]
    labels = [level.period_label for level in bound.levels]
    for level, p in zip(bound.levels, periods):
        if level.period.is_Symbol and level.period.is_positive and level.period.is_integer:
            continue  # checked by the symbol's own rules above
        bad = ~((p >= 1) & _is_integer(p))
        if np.any(bad):
            raise ValueError(f"{level.period_label} must be a positive integer, got {_first(p, bad)}")
    for l in range(1, len(periods)):
        _multiple_rule(periods[l], periods[l - 1], labels[l], labels[l - 1], " (periods must nest)")

    counts = [_numeric(bound.levels[0].finer_count, arrays)] + [_numeric(lev.count, arrays) for lev in bound.levels]
    count_labels = ["n"] + [lev.count_label for lev in bound.levels]
    for l in range(1, len(counts)):
        fine, coarse = counts[l - 1], counts[l]
        level = bound.levels[l - 1]
        checked = level.count.is_Symbol and level.count.is_positive and level.count.is_integer
        if not checked and not (coarse.min() >= 1 and _all_integer(coarse)):
            bad = ~((coarse >= 1) & _is_integer(coarse))
            raise ValueError(f"{count_labels[l]} must be a positive integer, got {_first(coarse, bad)}")
        if not np.all(np.less_equal(coarse, fine)):
            bad = coarse > fine
            c, f = np.broadcast_arrays(coarse, fine)
            raise ValueError(
                f"{count_labels[l]} must be at most {count_labels[l - 1]} (group counts cannot "
                f"grow from fine to coarse; got {count_labels[l]} = {_first(c, bad)}, "
                f"{count_labels[l - 1]} = {_first(f, bad)})"
            )
        if bound.equal_groups:
            _multiple_rule(fine, coarse, count_labels[l - 1], count_labels[l],
                           " (Lemma 2's random grouping needs equal nested groups)")
    if bound.equal_groups and not np.all(counts[0] >= 2):
        raise ValueError(
            f"n must be at least 2 for Lemma 2's random grouping (its shares divide by n - 1), "
            f"got {_first(counts[0], ~(counts[0] >= 2))}"
        )


def check_structure_numbers(periods: Sequence[Any], groups: Sequence[Any]) -> None:
    """Check the numeric entries of ``periods`` and ``groups`` when a bound is built.

    Symbolic entries are checked later, at evaluation. Numbers must be positive integers,
    consecutive numeric periods must nest, and numeric group counts must not increase.

    Example:
        >>> check_structure_numbers([5, 50, 200], [16, 4])
        >>> check_structure_numbers([5, 12], [4])
        Traceback (most recent call last):
        ...
        ValueError: periods[1] = 12 must be a multiple of periods[0] = 5 (periods must nest)
    """
    for kind, seq in (("periods", periods), ("groups", groups)):
        for i, value in enumerate(seq):
            if isinstance(value, sp.Basic) and not value.is_number:
                continue
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, sp.Basic)) \
                    or (isinstance(value, sp.Basic) and not value.is_extended_real):
                raise ValueError(f"{kind}[{i}] must be a positive integer or a sympy symbol, got {value!r}")
            number = float(value) if abs(value) < 2**53 else float("inf")
            if not math.isfinite(number) or number != int(number) or number < 1:
                raise ValueError(f"{kind}[{i}] must be a positive integer below 2**53, got {value!r}")
    for i in range(1, len(periods)):
        a, b = periods[i - 1], periods[i]
        if _is_number(a) and _is_number(b) and int(b) % int(a):
            raise ValueError(f"periods[{i}] = {b} must be a multiple of periods[{i - 1}] = {a} (periods must nest)")
    for i in range(1, len(groups)):
        a, b = groups[i - 1], groups[i]
        if _is_number(a) and _is_number(b) and int(b) > int(a):
            raise ValueError(
                f"groups[{i}] = {b} must be at most groups[{i - 1}] = {a} (groups are listed finest "
                "first, and counts cannot grow from fine to coarse)"
            )


def _is_number(value: Any) -> bool:
    return not (isinstance(value, sp.Basic) and not value.is_number)


# ------------------------------------------------------------------ checks on blocks
def _inf_reaches(expr: sp.Expr, sym: sp.Symbol) -> bool:
    """Whether ``expr``, evaluated node by node in IEEE arithmetic, is inf or NaN whenever
    ``sym`` is ±inf (whatever the other, finite, values): ``sym`` sits in a numerator of a
    sum of products (inf times anything is inf or NaN; only a division by it can absorb it)."""
    if expr == sym:
        return True
    if expr.is_Add or expr.is_Mul or isinstance(expr, (sp.Max, sp.Min)):
        if isinstance(expr, (sp.Max, sp.Min)):
            return all(_inf_reaches(arg, sym) for arg in expr.args)
        return any(_inf_reaches(arg, sym) for arg in expr.args)
    if expr.is_Pow:
        return bool(expr.exp.is_Number and expr.exp.is_positive) and _inf_reaches(expr.base, sym)
    return False


class BlockDomainCheck:
    """The rules of :func:`check_domain`, as a few reductions per block of points.

    The function of :meth:`compile_for` is a fast sufficient test: when it returns
    ``True``, :func:`check_domain` passes on the block; when it returns ``False`` the caller
    runs :func:`check_domain` on the whole arrays for the error (with its global index).
    Per array it makes one comparison for the sign rule (NaN fails it), an integer test
    ``floor(x) == x`` only for integer symbols, the ratio test of a multiple rule only
    where the structure needs one, and a test ``x < inf`` only for symbols whose inf would
    not reach the bound's value: for the others the caller checks that the value of the
    block is finite (:attr:`finite_output_covers`).

    Args:
        bound: the bound's structure (keywords, levels, ``equal_groups``).
        expr: the expression whose finiteness the caller checks per block (``None``: none).
    """

    def __init__(self, bound: BoundStructure, expr: sp.Expr | None = None) -> None:
        self.bound = bound
        self._compiled: dict[tuple[bool, ...], Any] = {}
        syms: list[sp.Symbol] = []
        for spec in bound.parameters.values():
            syms.extend(spec if isinstance(spec, tuple) else (spec,))
        self.symbols = tuple(syms)
        implied = {lev.period for lev in bound.levels[1:] if lev.period.is_Symbol}
        implied.discard(bound.levels[0].period)
        self.finite_output_covers = frozenset(
            sym for sym in syms if expr is not None and _inf_reaches(expr, sym))
        # (symbol, strict sign, nonneg sign, integer test, max test)
        self.symbol_rules = []
        for sym in syms:
            integer = bool(sym.is_integer) and sym not in implied
            needs_max = sym not in self.finite_output_covers
            self.symbol_rules.append((sym, bool(sym.is_positive), bool(sym.is_nonnegative), integer, needs_max))
        self.rules: list[tuple[str, sp.Expr, sp.Expr]] = []  # (kind, a, b)
        periods = [lev.period for lev in bound.levels]
        for lev in bound.levels:
            if not (lev.period.is_Symbol and lev.period.is_positive and lev.period.is_integer):
                self.rules.append(("positive integer", lev.period, sp.Integer(1)))
        for l in range(1, len(periods)):
            self.rules.append(("multiple", periods[l], periods[l - 1]))
        counts = [bound.levels[0].finer_count] + [lev.count for lev in bound.levels]
        for l in range(1, len(counts)):
            fine, coarse = counts[l - 1], counts[l]
            if not (coarse.is_Symbol and coarse.is_positive and coarse.is_integer):
                self.rules.append(("positive integer", coarse, sp.Integer(1)))
            if sp.Le(coarse, fine) is not sp.true:
                self.rules.append(("at most", coarse, fine))
            if bound.equal_groups:
                self.rules.append(("multiple", fine, coarse))
        if bound.equal_groups:
            self.rules.append(("at least", counts[0], sp.Integer(2)))

    def compile_for(self, scalar: Sequence[bool]) -> Any:
        """The test as generated straight-line code, for arguments in the order of the
        bound's symbols, ``scalar[i]`` saying whether argument ``i`` is a float (a scalar
        parameter) rather than a block array: ``ok(args, scratch, scratch2, bb) -> bool``
        (``scratch``, ``scratch2``: float arrays of the block's length). ``None`` when a
        rule involves an expression (e.g. a period ``2*P``): check such blocks with
        :func:`check_domain`. ``bb`` is a boolean array of the block's length.

        Scalars are tested in Python. Every test on a block array is one elementwise
        comparison writing a row of a boolean matrix (NaN fails every comparison), after
        at most one ``floor`` or division, and one minimum over the matrix's bytes ends the
        test: no per-test reduction (each costs about a microsecond of call overhead per
        block). Tests that read two arrays (``N <= n``, a multiple rule) come first, so
        most inputs are first read two streams at a time. The matrix is the calling thread's
        own, reused from block to block.
        """
        key = tuple(bool(flag) for flag in scalar)
        if key in self._compiled:
            return self._compiled[key]
        # x <= y (checked with NaN failing) and x > 0 give y > 0: no sign test of y needed
        sign = {sym: (positive, nonnegative) for sym, positive, nonnegative, _, _ in self.symbol_rules}
        implied_sign = {y for kind, x, y in self.rules if kind == "at most" and x in sign and y in sign
                        and (sign[x][0] or not sign[y][0] and sign[x][1])}
        names = {sym: f"a{i}" for i, sym in enumerate(self.symbols)}
        is_scalar = {sym: flag for sym, flag in zip(self.symbols, key)}
        fail = "return False"
        scalar_lines: list[str] = []  # Python tests of floats, run first
        row_lines: list[str] = []  # block tests; "{r}" is the row each writes
        rule_lines: list[str] = []
        for kind, a, b in self.rules:
            if a.is_number and b.is_number:
                if not _number_rule_holds(kind, float(a), float(b)):
                    scalar_lines.append(f"    {fail}")
                continue
            operands = []
            for e in (a, b):
                if e.is_number:
                    operands.append((repr(float(e)), True))
                elif e.is_Symbol and e in names:
                    operands.append((names[e], is_scalar[e]))
                else:
                    self._compiled[key] = None
                    return None
            (x, xs), (y, ys) = operands
            if kind == "multiple":
                if xs and ys:
                    scalar_lines.append(f"    if not _ratio_is_integer({x}, {y}): {fail}")
                else:  # an inf ratio passes: an inf x is caught as in the symbol rules
                    rule_lines += [f"    with errstate(divide='ignore', invalid='ignore'): divide({x}, {y}, s2)",
                                   "    vfloor(s2, s1)", "    equal(s2, s1, {r})"]
            elif kind == "at most":
                if xs and ys:
                    scalar_lines.append(f"    if not {x} <= {y}: {fail}")
                else:
                    rule_lines.append(f"    less_equal({x}, {y}, {{r}})")  # NaN fails
            else:  # "positive integer" (x >= 1 and an integer) or "at least" (x >= y)
                if xs:
                    scalar_lines.append(f"    if not {x} >= {y}: {fail}")
                    if kind == "positive integer":
                        scalar_lines.append(f"    if not (isfinite({x}) and {x} == floor({x})): {fail}")
                else:
                    rule_lines.append(f"    greater_equal({x}, {y}, {{r}})")
                    if kind == "positive integer":
                        rule_lines += [f"    vfloor({x}, s1)", f"    equal({x}, s1, {{r}})", f"    less({x}, inf, {{r}})"]
        for sym, positive, nonnegative, integer, needs_max in self.symbol_rules:
            v = names[sym]
            if is_scalar[sym]:
                scalar_lines.append(f"    if not isfinite({v}): {fail}")
                if integer:
                    scalar_lines.append(f"    if {v} != floor({v}): {fail}")
                if positive or nonnegative:
                    scalar_lines.append(f"    if not {v} {'>' if positive else '>='} 0.0: {fail}")
                continue
            if integer:  # NaN != NaN; inf passes here and is left to the maximum or the output
                row_lines += [f"    vfloor({v}, s1)", f"    equal({v}, s1, {{r}})"]
            if (positive or nonnegative) and sym not in implied_sign:  # NaN and -inf fail
                row_lines.append(f"    {'greater' if positive else 'greater_equal'}({v}, 0.0, {{r}})")
            if needs_max:  # +inf (and NaN)
                row_lines.append(f"    less({v}, inf, {{r}})")
            elif not (positive or nonnegative):  # NaN and -inf
                row_lines.append(f"    greater({v}, -inf, {{r}})")
        tests = rule_lines + row_lines
        rows = sum("{r}" in line for line in tests)
        lines = ["def ok(a, s1, s2, bb):", "    nb = len(bb)"]
        if self.symbols:
            lines.append(f"    {', '.join(names[sym] for sym in self.symbols)}, = a")
        lines += scalar_lines
        if rows:
            lines.append(f"    R, ({', '.join(f'r{i}' for i in range(rows))},) = test_rows({rows}, nb)")
            i = 0
            for line in tests:
                if "{r}" in line:
                    line, i = line.format(r=f"r{i}"), i + 1
                lines.append(line)
            lines.append("    return nb == 0 or vmin(R.view(uint8)) == 1")
        else:
            lines.append("    return True")
        namespace: dict[str, Any] = {
            "isfinite": math.isfinite, "floor": math.floor, "inf": math.inf, "vfloor": np.floor,
            "divide": np.divide, "vmin": np.minimum.reduce, "_ratio_is_integer": _ratio_is_integer,
            "test_rows": _test_rows, "uint8": np.uint8, "errstate": np.errstate, "equal": np.equal, "less": np.less,
            "less_equal": np.less_equal, "greater": np.greater, "greater_equal": np.greater_equal,
        }
        exec(compile("\n".join(lines) + "\n", "<hsgd-domain-check>", "exec"), namespace)  # noqa: S102
        fn = self._compiled[key] = namespace["ok"]
        fn.source = "\n".join(lines)
        return fn

    def point_conditions(self, names: Sequence[str]) -> list[str] | None:
        """The same rules, per point, as Python boolean expressions for generated scalar code.

        ``names[i]`` is the variable holding the point's value of symbol ``i`` (in the
        order of :attr:`symbols`); the expressions use ``isfinite``, ``floor`` (a float, as
        ``numpy.floor``) and ``inf``. Like :meth:`compile_for` they are a sufficient test,
        with the same economy: where all are true and the bound's value is finite
        (:attr:`finite_output_covers`: an inf there makes the value inf or NaN),
        :func:`check_domain` passes at that point. ``None`` when a rule involves an
        expression such as a period ``2*P``.

        Example:
            >>> from bounds import local_sgd
            >>> check = BlockDomainCheck(local_sgd())
            >>> check.point_conditions([f"x{i}" for i in range(len(check.symbols))])[:3]
            ['(x0 > 0.0)', '(x0 < inf)', '(x1 > 0.0)']
        """
        var = dict(zip(self.symbols, names))
        out: list[str] = []
        for sym, positive, nonnegative, integer, needs_max in self.symbol_rules:
            v = var[sym]
            if positive or nonnegative:  # NaN and -inf fail the sign; +inf below or in the value
                out.append(f"({v} {'>' if positive else '>='} 0.0)")
                if needs_max:
                    out.append(f"({v} < inf)")
            else:
                out.append(f"isfinite({v})")
            if integer:
                out.append(f"({v} == floor({v}))")
        for kind, a, b in self.rules:
            if a.is_number and b.is_number:
                if not _number_rule_holds(kind, float(a), float(b)):
                    out.append("False")
                continue
            operands = []
            for e in (a, b):
                if e.is_number:
                    operands.append(repr(float(e)))
                elif e.is_Symbol and e in var:
                    operands.append(var[e])
                else:
                    return None
            x, y = operands
            if kind == "multiple":  # x / y an integer (and finite: y = 0 must not pass)
                out.append(f"(({x} / {y}) == floor({x} / {y}))")
                out.append(f"(({x} / {y}) < inf)")
            elif kind == "at most":
                out.append(f"({x} <= {y})")
            else:
                out.append(f"({x} >= {y})")
                if kind == "positive integer":
                    out.append(f"({x} < inf)")
                    out.append(f"({x} == floor({x}))")
        return out


_ROWS = threading.local()  # per thread: (rows, length) -> (matrix, its rows)


def _test_rows(rows: int, n: int) -> tuple[NDArray[np.bool_], tuple[NDArray[np.bool_], ...]]:
    """A ``rows`` x ``n`` boolean matrix (flat) and its rows, for the calling thread, reused
    from call to call (the block tests of :meth:`BlockDomainCheck.compile_for` fill it)."""
    cache = _ROWS.__dict__
    entry = cache.get((rows, n))
    if entry is None:
        if len(cache) >= 8:  # a new last-block length each call: keep the cache small
            cache.clear()
        matrix = np.empty(rows * n, dtype=np.bool_)
        entry = cache[(rows, n)] = (matrix, tuple(matrix.reshape(rows, n)))
    return entry


def _number_rule_holds(kind: str, x: float, y: float) -> bool:
    if kind == "multiple":
        return _ratio_is_integer(x, y)
    if kind == "at most":
        return x <= y
    return x >= y and (kind != "positive integer" or (math.isfinite(x) and x == math.floor(x)))


def _ratio_is_integer(x: float, y: float) -> bool:
    with np.errstate(all="ignore"):
        r = np.float64(x) / np.float64(y)
    return bool(np.isfinite(r) and r == np.floor(r))
