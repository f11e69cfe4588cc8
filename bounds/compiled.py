"""One place that turns sympy expressions into numpy functions, and keeps them alive.

``sympy.lambdify`` registers each generated function's source in :mod:`linecache` and
removes it when the function is garbage-collected. If that happens while
``linecache.checkcache()`` walks the cache (pdb and doctest call it), Python raises
``KeyError: '<lambdifygenerated-N>'`` (sympy/sympy#27223, #27232). Compiling every
expression once, here, and never dropping the function avoids the race and the repeated
compilation cost; the number of distinct expressions a program uses is small.

Three evaluators live here: :func:`compiled` (sympy's own), :func:`fused` (the same nodes as
numpy ufunc calls into ``out=`` buffers, for cache-sized blocks) and, when numba is installed
(``pip install -e ".[fast]"``, never required), :func:`accelerated`: the fused evaluator's
operations and the domain checks as one compiled loop over the points, with the same
rounding as numpy. :class:`bounds.VectorizedBound` takes it for arrays of at least
:data:`ACCELERATE_MIN_POINTS` points; :func:`use_engine` forces either path.
"""

from __future__ import annotations

import contextlib
import threading
import types
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

import sympy as sp

from bounds.jit import NJIT_OPTIONS, cache_dir, load_source, numba_available_in, switched

__all__ = ["compiled", "fused", "FusedEvaluator", "block_scratch", "ENGINES", "ACCELERATE_MIN_POINTS", "AcceleratedKernel",
           "accelerated", "cache_dir", "current_engine", "kernel_source", "numba_available", "use_engine"]

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


# ------------------------------------------------------------------ fused block evaluators
class FusedEvaluator:
    """A sympy expression compiled to numpy ufunc calls that write into preallocated buffers.

    ``sympy.lambdify`` evaluates one numpy operation per node and allocates a fresh array
    for each; this evaluator runs the same nodes (common subexpressions shared) with
    ``out=`` into block-sized scratch arrays, so a block of a few thousand points stays in
    cache and nothing is allocated per node. Call it block by block:
    ``fn(args, scratch, out)`` with ``args`` the block of every symbol (an array, or a
    float for a scalar), ``scratch`` a list of :attr:`buffers` float arrays of the
    block's length (none: the function takes its :attr:`scratch_buffers` arrays from
    :func:`block_scratch`, reused by the thread from call to call) and ``out`` the block
    of the result.

    Attributes:
        symbols: the argument order.
        buffers: how many scratch arrays the caller passes ``fn`` (0: it keeps its own).
        scratch_buffers: how many scratch arrays ``fn`` works in.
        source: the generated Python source (for reading and debugging).
        fn: the generated function.
        constants: value -> the name it has in :attr:`source` and :attr:`ops`.
        ops: the same calls as data, ``(ufunc, operands, destination)`` in order (the
            numba path of :func:`accelerated` translates them to scalar code).
    """

    def __init__(self, symbols: tuple[sp.Symbol, ...], buffers: int, source: str,
                 constants: Mapping[float, str] | None = None,
                 ops: Sequence[tuple[str, tuple[str, ...], str]] = ()) -> None:
        self.symbols = symbols
        self.buffers = 0
        self.scratch_buffers = buffers
        self.source = source
        self.constants: dict[float, str] = dict(constants or {})
        self.ops: tuple[tuple[str, tuple[str, ...], str], ...] = tuple(ops)
        namespace: dict[str, Any] = {name: getattr(np, name) for name in _NUMPY_NAMES}
        namespace.update({name: np.array(value) for value, name in (constants or {}).items()})
        namespace["block_scratch"] = block_scratch
        exec(compile(source, "<hsgd-fused>", "exec"), namespace)  # noqa: S102 - our own generated code
        self.fn: Callable[..., None] = namespace["_fused"]


_SCRATCH = threading.local()  # per thread: count -> (length, arrays)


def block_scratch(count: int, n: int) -> list[NDArray[np.float64]]:
    """``count`` float64 scratch arrays of length ``n`` for the calling thread, reused from
    call to call (no allocation per block; each thread has its own, so concurrent
    evaluations do not share them). Their starting addresses are spread over a 4096-byte
    page: when an operation writes one array while reading another that starts a few bytes
    below it modulo 4096, the processor takes the loads for reloads of the pending stores
    ("4K aliasing") and the operation runs up to twice as slowly; consecutive heap arrays
    of a block's size start 16 bytes apart modulo 4096, which is that case.

    Example:
        >>> a = block_scratch(3, 1000)
        >>> len(a), a[0].shape, block_scratch(3, 1000)[2] is a[2]
        (3, (1000,), True)
        >>> sorted({x.ctypes.data % 4096 for x in block_scratch(3, 1024)}) == [0, 1344, 2688]
        True
    """
    cache = _SCRATCH.__dict__
    entry = cache.get(count)
    if entry is not None and entry[0] == n:
        return entry[1]
    if entry is not None and entry[0] > n:  # a shorter (last) block: views of the same arrays
        return [a[:n] for a in entry[1]]
    step = 4096 // max(count, 1) // 64 * 64  # bytes between the starts modulo 4096 (cache lines)
    stride = -(-n * 8 // 4096) * 4096 + step  # bytes from one array's start to the next
    raw = np.empty(count * stride + 4096, dtype=np.uint8)
    first = -raw.ctypes.data % 4096
    arrays = [raw[first + i * stride:first + i * stride + n * 8].view(np.float64) for i in range(count)]
    cache[count] = (n, arrays)
    return arrays


class _Unsupported(Exception):
    """A node the fused generator does not translate (the caller falls back to lambdify)."""


_NUMPY_NAMES = ("add", "subtract", "multiply", "divide", "positive", "negative", "power", "sqrt", "maximum", "minimum",
                "exp", "log", "abs", "sin", "cos", "copyto")
_UNARY = {sp.exp: "np.exp", sp.log: "np.log", sp.Abs: "np.abs", sp.sin: "np.sin", sp.cos: "np.cos"}


class _Emitter:
    """Turns a cse'd sympy expression into ufunc calls on buffers (see :class:`FusedEvaluator`)."""

    def constant(self, value: float) -> tuple[str, bool]:
        """A number as a name bound to a 0-d array (a Python float is converted on every call)."""
        name = self.constants.setdefault(value, f"c{len(self.constants)}")
        return name, False

    def __init__(self, symbols: Sequence[sp.Symbol], uses: dict[sp.Symbol, int]) -> None:
        self.constants: dict[float, str] = {}
        self.args = {sym: f"a{i}" for i, sym in enumerate(symbols)}
        self.cse: dict[sp.Symbol, str] = {}  # cse variable -> buffer holding it
        self.uses = uses  # cse variable -> remaining uses
        self.lines: list[str] = []
        self.ops: list[tuple[str, tuple[str, ...], str]] = []  # (ufunc, operands, dest), in order
        self.free: list[str] = []
        self.count = 0

    def buffer(self) -> str:
        if self.free:
            return self.free.pop()
        self.count += 1
        return f"b{self.count - 1}"

    def release(self, operand: tuple[str, bool]) -> None:
        name, owned = operand
        if owned and name != "out":
            self.free.append(name)

    def op(self, ufunc: str, x: tuple[str, bool], y: tuple[str, bool] | None, dest: str | None) -> tuple[str, bool]:
        """Emit ``ufunc(x, y)`` into ``dest``, else into an operand's own buffer, else a new one."""
        if dest is None:
            for operand in (x, y):
                if operand is not None and operand[1]:
                    dest = operand[0]
                    break
        if dest is None:
            dest = self.buffer()
        for operand in (x, y):
            if operand is not None and operand[1] and operand[0] != dest:
                self.release(operand)
        self.ops.append((ufunc.removeprefix("np."), (x[0],) if y is None else (x[0], y[0]), dest))
        operands = x[0] if y is None else f"{x[0]}, {y[0]}"
        keyword = "out=" if ufunc in ("np.maximum", "np.minimum") else ""  # numpy wants out= for these
        self.lines.append(f"    {ufunc.removeprefix('np.')}({operands}, {keyword}{dest})")
        return dest, True

    def emit(self, e: sp.Expr, dest: str | None = None) -> tuple[str, bool]:
        """Emit ``e``; returns ``(operand, owned)``: owned buffers may be overwritten."""
        result = self._emit(e, dest)
        if dest is not None and result[0] != dest:
            self.lines.append(f"    copyto({dest}, {result[0]})")
            self.ops.append(("copyto", (result[0],), dest))
            self.release(result)
            return dest, True
        return result

    def _emit(self, e: sp.Expr, dest: str | None) -> tuple[str, bool]:
        if e.is_Number:
            if not e.is_real or not e.is_finite:
                raise _Unsupported(str(e))
            return self.constant(float(e))
        if e.is_Symbol:
            if e in self.args:
                return self.args[e], False
            if e in self.cse:
                self.uses[e] -= 1
                return self.cse[e], self.uses[e] == 0
            raise _Unsupported(str(e))
        if e.is_Add:
            return self._add(e, dest)
        if e.is_Mul:
            return self._mul(e, dest)
        if e.is_Pow:
            return self._pow(e, dest)
        if isinstance(e, (sp.Max, sp.Min)):
            ufunc = "np.maximum" if isinstance(e, sp.Max) else "np.minimum"
            acc = self.emit(e.args[0])
            for arg in e.args[1:]:
                acc = self.op(ufunc, acc, self.emit(arg), dest)
            return acc
        for fn, ufunc in _UNARY.items():
            if isinstance(e, fn) and len(e.args) == 1:
                return self.op(ufunc, self.emit(e.args[0]), None, dest)
        raise _Unsupported(type(e).__name__)

    def _add(self, e: sp.Expr, dest: str | None) -> tuple[str, bool]:
        constant, plus, minus = 0.0, [], []
        for term in e.args:
            if term.is_Number:
                constant += float(term)
            elif term.is_Mul and term.args[0].is_Number and term.args[0].is_negative:
                minus.append(-term)
            else:
                plus.append(term)
        if not plus and constant:  # c - x - ...: start from the constant
            plus, constant = [sp.Float(constant)], 0.0
        steps: list[tuple[str, Any]] = [("np.add", term) for term in plus[1:]]
        steps += [("np.subtract", term) for term in minus]
        if constant:
            steps.append(("np.add", sp.Float(constant)))
        if not plus:  # -x - y - ...
            acc = self.op("np.negative", self.emit(steps[0][1]), None, dest if len(steps) == 1 else None)
            steps = steps[1:]
        else:
            acc = self.emit(plus[0])
        for i, (ufunc, term) in enumerate(steps):
            acc = self.op(ufunc, acc, self.emit(term), dest if i == len(steps) - 1 else None)
        return acc

    def _mul(self, e: sp.Expr, dest: str | None) -> tuple[str, bool]:
        coefficient, numerator, denominator = 1.0, [], []
        for factor in e.args:
            if factor.is_Number:
                coefficient *= float(factor)
            elif factor.is_Pow and factor.exp.is_Number and factor.exp.is_negative:
                denominator.append(factor.base ** -factor.exp)
            else:
                numerator.append(factor)
        if coefficient != 1.0:  # c*(k*x + m) as (c*k)*x + c*m: the multiplication by c is free
            for i, factor in enumerate(numerator):
                if factor.is_Add and sum(1 for term in factor.args if not term.is_Number) == 1:
                    numerator[i] = sp.expand(sp.Float(coefficient) * factor)
                    coefficient = 1.0
                    break
        squares = [f for f in numerator if f.is_Pow and f.exp == 2]
        if len(squares) > 1:  # x**2 * y**2 as (x*y)**2: one multiplication fewer per extra square
            numerator = [f for f in numerator if not (f.is_Pow and f.exp == 2)]
            numerator.insert(0, sp.Pow(sp.Mul(*(f.base for f in squares), evaluate=False), 2, evaluate=False))
        if numerator:
            acc = self.emit(numerator[0])
            for factor in numerator[1:]:
                acc = self.op("np.multiply", acc, self.emit(factor), None)
            if coefficient != 1.0:
                acc = self.op("np.multiply", acc, self.constant(coefficient), None)
        else:
            acc = self.constant(coefficient)
        if denominator:
            den = self.emit(denominator[0])
            for factor in denominator[1:]:
                den = self.op("np.multiply", den, self.emit(factor), None)
            acc = self.op("np.divide", acc, den, None)
        if not acc[1]:  # a bare symbol or number (1 * x): copy it so the caller owns a buffer
            acc = self.op("np.positive", acc, None, None)
        return acc

    def _pow(self, e: sp.Expr, dest: str | None) -> tuple[str, bool]:
        base, exponent = e.base, e.exp
        if exponent == 2:
            b = self.emit(base)
            return self.op("np.multiply", b, b, None)
        if exponent == sp.Rational(1, 2):
            return self.op("np.sqrt", self.emit(base), None, None)
        if exponent == -1:
            return self.op("np.divide", self.constant(1.0), self.emit(base), None)
        if exponent.is_Number and exponent.is_real:
            return self.op("np.power", self.emit(base), self.constant(float(exponent)), None)
        raise _Unsupported(f"power {exponent}")


_FUSED: dict[tuple[tuple[sp.Symbol, ...], sp.Expr], FusedEvaluator | None] = {}


def fused(symbols: Sequence[sp.Symbol], expr: sp.Expr) -> FusedEvaluator | None:
    """A :class:`FusedEvaluator` of ``expr`` over ``symbols``, cached; ``None`` when the
    expression has a node the generator does not translate (use :func:`compiled` then).

    It computes the same nodes as ``sympy.lambdify`` (Add, Mul, powers, Max/Min and a few
    functions), so it agrees with it to rounding (tests/bounds/test_vectorized.py).

    Example:
        >>> x, y = sp.symbols("x y")
        >>> ev = fused((x, y), x**2 + 3 * x / y)
        >>> out = np.empty(2)
        >>> ev.fn([np.array([1.0, 2.0]), 3.0], [np.empty(2) for _ in range(ev.buffers)], out)
        >>> out
        array([2., 6.])
    """
    key = (tuple(symbols), sp.sympify(expr))
    if key in _FUSED:
        return _FUSED[key]
    try:
        replacements, (reduced,) = sp.cse(key[1])
        uses: dict[sp.Symbol, int] = {}
        for sub in [r for _, r in replacements] + [reduced]:
            for node in sp.preorder_traversal(sub):
                if node.is_Symbol:
                    uses[node] = uses.get(node, 0) + 1
        em = _Emitter(key[0], uses)
        for var, sub in replacements:
            name, owned = em.emit(sub)
            if not owned:
                name, owned = em.op("np.positive", (name, owned), None, None)
            em.cse[var] = name
            if uses.get(var, 0) == 0:
                em.release((name, True))
        em.emit(reduced, dest="out")
    except _Unsupported:
        _FUSED[key] = None
        return None
    header = "def _fused(a, b, out):\n"
    if key[0]:
        header += f"    {', '.join(f'a{i}' for i in range(len(key[0])))}, = a\n"
    if em.count:  # the caller's scratch when it passes some, else this thread's staggered buffers
        header += f"    {', '.join(f'b{i}' for i in range(em.count))}, = b or block_scratch({em.count}, len(out))\n"
    source = header + "\n".join(em.lines) + "\n"
    _FUSED[key] = FusedEvaluator(key[0], em.count, source, em.constants, em.ops)
    return _FUSED[key]


# ------------------------------------------------------------------ optional numba path
ENGINES: tuple[str, ...] = ("auto", "numpy", "numba")
"""Which evaluator :func:`accelerated` lets :class:`bounds.VectorizedBound` use: ``auto``
(numba when it is importable and the arrays have at least :data:`ACCELERATE_MIN_POINTS`
points), ``numpy`` (never numba) or ``numba`` (numba at any size, when importable)."""

ACCELERATE_MIN_POINTS = 1 << 18
"""Smallest number of points ``auto`` hands to numba: below it the numpy blocks take about
a millisecond or less, and importing numba and loading a compiled kernel cost far more."""

_STATE: dict[str, Any] = {"engine": "auto", "numba": None}
# IEEE semantics as numpy's: no fast-math reassociation, and x / 0 is inf or NaN (numba's
# default "python" error model raises ZeroDivisionError instead)
_NJIT_OPTIONS = NJIT_OPTIONS
_KERNELS: dict[tuple[tuple[sp.Symbol, ...], sp.Expr, tuple[bool, ...]], "AcceleratedKernel | None"] = {}


def numba_available() -> bool:
    """Whether the optional numba path can run (``pip install -e ".[fast]"``, and ``HSGD_NUMBA``
    is not ``0``: :func:`bounds.jit.numba_importable`). Imports numba on the first call only."""
    return numba_available_in(_STATE)


@contextlib.contextmanager
def use_engine(engine: str) -> Iterator[None]:
    """Within the block, :func:`accelerated` follows ``engine`` (one of :data:`ENGINES`).

    Example:
        >>> with use_engine("numpy"):
        ...     current_engine()
        'numpy'
        >>> use_engine("fortran").__enter__()
        Traceback (most recent call last):
        ...
        ValueError: engine must be one of auto, numpy, numba, got 'fortran'
    """
    with switched(_STATE, "engine", engine, ENGINES, "engine"):
        yield


def current_engine() -> str:
    """The engine :func:`use_engine` set (``auto`` outside any such block)."""
    return str(_STATE["engine"])


class AcceleratedKernel:
    """A bound and its domain checks compiled by numba into one loop over the points.

    Per point the loop checks the rules of :class:`bounds.validation.BlockDomainCheck`
    (:meth:`~bounds.validation.BlockDomainCheck.point_conditions`) and evaluates the
    operations of the :class:`FusedEvaluator` in the same order, as IEEE scalar operations
    (``fastmath`` off, so ``+ - * /`` and ``sqrt`` round exactly as numpy's ufuncs do). It
    only reports whether every point passed and every value is finite; the caller then
    raises with :func:`bounds.validation.check_domain`, as the numpy path does, so the
    errors are the same. Compiled on the first call (not at construction), cached on disk
    when a cache directory is writable (:func:`cache_dir`).

    Attributes:
        symbols: the argument order.
        scalar: which arguments are floats (the others are arrays of the points).
        source: the generated Python source numba compiles.
        cached: whether numba caches the compiled code on disk.
        calls: how many times it ran (tests read it to see which path ran).
    """

    def __init__(self, symbols: tuple[sp.Symbol, ...], scalar: tuple[bool, ...], source: str) -> None:
        self.symbols = symbols
        self.scalar = scalar
        self.source = source
        self.cached = False
        self.calls = 0
        self._fn: Callable[..., tuple[bool, bool]] | None = None
        self._broken = False

    def _compile(self, cache: bool) -> Callable[..., tuple[bool, bool]]:
        import numba

        module = _load_source(self.source)
        self.cached = False
        if cache:
            try:
                fn = numba.njit(cache=True, **_NJIT_OPTIONS)(module._kernel)
                self.cached = True
                return fn
            except Exception:  # no writable cache location: compile in memory only
                pass
        return numba.njit(cache=False, **_NJIT_OPTIONS)(module._kernel)

    def __call__(self, args: Sequence[Any], out: NDArray[np.float64], validate: bool) -> tuple[bool, bool] | None:
        """Fill ``out`` (1-D) from ``args`` (floats or 1-D arrays of ``out``'s length, in
        :attr:`symbols` order); returns ``(every point in the domain, every value finite)``,
        the first ``True`` when ``validate`` is false, or ``None`` when numba cannot compile
        the kernel (the caller falls back to numpy)."""
        if self._broken:
            return None
        call_args: list[Any] = []
        for a, is_scalar in zip(args, self.scalar):
            if is_scalar:
                call_args.append(float(a))
            else:  # one numba signature: C-contiguous, read-only, float64
                view = np.ascontiguousarray(a, dtype=np.float64).view()
                view.flags.writeable = False
                call_args.append(view)
        for cache in (True, False):  # a stale or unreadable cache: compile afresh in memory
            try:
                if self._fn is None:
                    self._fn = self._compile(cache)
                good, finite = self._fn(*call_args, out, bool(validate))
                break
            except Exception:
                self._fn = None
        else:  # numba cannot compile this kernel: numpy it is, from now on
            self._broken = True
            return None
        self.calls += 1
        return bool(good) or not validate, bool(finite)


def _load_source(source: str) -> types.ModuleType:
    """The generated kernel as a module (:func:`bounds.jit.load_source`)."""
    return load_source(source, "hsgd_kernel_")[0]


_SCALAR_OPS = {"add": "{0} + {1}", "subtract": "{0} - {1}", "multiply": "{0} * {1}", "divide": "{0} / {1}",
               "positive": "{0}", "negative": "-{0}", "copyto": "{0}", "power": "{0} ** {1}",
               "sqrt": "sqrt({0})", "exp": "exp({0})", "log": "log({0})", "abs": "abs({0})",
               "sin": "sin({0})", "cos": "cos({0})",
               # numpy's maximum/minimum return NaN when either side is NaN
               "maximum": "({0} if ({0} >= {1} or {0} != {0}) else {1})",
               "minimum": "({0} if ({0} <= {1} or {0} != {0}) else {1})"}


def kernel_source(evaluator: FusedEvaluator, scalar: Sequence[bool], conditions: Sequence[str]) -> str:
    """The scalar loop of :class:`AcceleratedKernel` for ``evaluator``'s operations, with
    ``conditions`` (per-point boolean expressions in ``x0, x1, ...``) as the domain test.

    Example:
        >>> x, y = sp.symbols("x y")
        >>> print(kernel_source(fused((x, y), x * y + 1), [False, True], ["(x1 > 0.0)"]))
        from math import inf, isfinite, sqrt, exp, log, sin, cos
        from numpy import floor
        <BLANKLINE>
        def _kernel(a0, a1, out, validate):
            good = True
            finite = True
            for i in range(out.shape[0]):
                x0 = a0[i]
                x1 = a1
                if validate:
                    good &= (x1 > 0.0)
                b0 = x0 * x1
                o = b0 + 1.0
                out[i] = o
                finite &= isfinite(o)
            return good, finite
        <BLANKLINE>
    """
    names = {name: repr(float(value)) for value, name in evaluator.constants.items()}
    names.update({f"a{i}": f"x{i}" for i in range(len(evaluator.symbols))})
    names["out"] = "o"
    args = ", ".join(f"a{i}" for i in range(len(evaluator.symbols)))
    lines = ["from math import inf, isfinite, sqrt, exp, log, sin, cos", "from numpy import floor", "",
             f"def _kernel({args + ', ' if args else ''}out, validate):",
             "    good = True", "    finite = True", "    for i in range(out.shape[0]):"]
    for i, is_scalar in enumerate(scalar):
        lines.append(f"        x{i} = a{i}" + ("" if is_scalar else "[i]"))
    if conditions:
        lines += ["        if validate:", f"            good &= {' and '.join(conditions)}"]  # and: faster than &
    for ufunc, operands, dest in evaluator.ops:
        value = _SCALAR_OPS[ufunc].format(*(names.get(op, op) for op in operands))
        lines.append(f"        {names.get(dest, dest)} = {value}")
    if not evaluator.ops:
        lines.append("        o = 0.0")
    lines += ["        out[i] = o", "        finite &= isfinite(o)", "    return good, finite", ""]
    return "\n".join(lines)


def accelerated(bound: Any, expr: sp.Expr, scalar: Sequence[bool], size: int) -> AcceleratedKernel | None:
    """The numba kernel for ``bound``'s ``expr`` at arguments shaped as ``scalar`` says, or
    ``None`` when the numpy path should run: the engine is ``numpy``, numba is not
    importable, ``size`` is below :data:`ACCELERATE_MIN_POINTS` (engine ``auto``), or the
    expression or a domain rule has no scalar translation. Nothing is compiled here
    (see :class:`AcceleratedKernel`).

    Example:
        >>> from bounds import local_sgd
        >>> b = local_sgd()
        >>> with use_engine("numpy"):
        ...     accelerated(b, b.expr, [False] * len(b.symbols), 10**7) is None
        True
    """
    engine = _STATE["engine"]
    if engine == "numpy" or (engine == "auto" and size < ACCELERATE_MIN_POINTS) or not numba_available():
        return None
    symbols = tuple(bound.symbols)
    key = (symbols, sp.sympify(expr), tuple(bool(flag) for flag in scalar))
    if key in _KERNELS:
        return _KERNELS[key]
    from bounds.validation import BlockDomainCheck  # validation imports this module

    evaluator = fused(symbols, expr)
    conditions = BlockDomainCheck(bound, expr).point_conditions([f"x{i}" for i in range(len(symbols))])
    kernel = None
    if evaluator is not None and conditions is not None and all(op in _SCALAR_OPS for op, _, _ in evaluator.ops):
        kernel = AcceleratedKernel(symbols, key[2], kernel_source(evaluator, key[2], conditions))
    _KERNELS[key] = kernel
    return kernel
