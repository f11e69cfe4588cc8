"""No BLAS (or other library thread pool) in the engine's step or its records.

An OpenBLAS call in the record path starts BLAS threads; when the machine's other cores are
busy those threads wait for a core and a step costs 10x more (issue 20: 9.8 ms against
0.73 ms per step under ``threadpool_limits(1)`` at 16 x 1000 x 1). ``hsgd`` pins one BLAS
thread, but a script calling :func:`empirical.simulate` does not. So the engine's step and
record functions use elementwise numpy, ``np.add.reduce`` and ``np.einsum`` without
``optimize`` (which can hand a contraction to ``tensordot``, that is to BLAS).

Two checks: runs of every engine path with numpy's BLAS entry points patched to raise, and,
because ``a @ b`` and ``a.dot(b)`` cannot be patched on ``np.ndarray``, the source of the
engine modules and of the problem's step and record methods read with :mod:`ast`.
"""

import ast
import inspect
import textwrap

import numpy as np
import pytest

import empirical as E
from empirical import aggregation, batch, engine, results, streams
from empirical.batch import simulate_batch
from empirical.problems import heterogeneous

BLAS_NAMES = ("dot", "matmul", "tensordot", "inner", "vdot")
LINALG_NAMES = ("norm", "solve", "inv", "eigh", "eigvalsh", "svd", "lstsq", "multi_dot", "matmul")


def _raiser(name):
    def blas_call(*args, **kwargs):
        raise AssertionError(f"np.{name} called in the engine's step or record path")
    return blas_call


def patch_blas(m):
    """numpy's BLAS entry points raise on ``m`` (a ``monkeypatch``); so does ``np.einsum`` when
    asked to ``optimize``."""
    for name in BLAS_NAMES:
        m.setattr(np, name, _raiser(name))
    for name in LINALG_NAMES:
        m.setattr(np.linalg, name, _raiser(f"linalg.{name}"))
    einsum = np.einsum

    def einsum_without_optimize(*operands, **kwargs):
        if kwargs.get("optimize", False) not in (False, None):
            raise AssertionError("np.einsum(..., optimize=...) can dispatch to BLAS (tensordot)")
        return einsum(*operands, **kwargs)

    m.setattr(np, "einsum", einsum_without_optimize)


RUNS = {
    "two_level": (lambda: E.Hierarchy.two_level(16, 4, 2, 6, grouping="random", seed=1), {}),
    "three_level": (lambda: E.Hierarchy.multi_level(16, [1, 2, 6], [8, 2], grouping="random", seed=2), {}),
    "three_level_unequal": (lambda: E.Hierarchy.multi_level(16, [1, 2, 4], [5, 2], grouping="random", seed=3), {}),
    "local_sgd": (lambda: E.Hierarchy.local_sgd(16, 3), {}),
    "weights": (lambda: E.Hierarchy.multi_level(16, [1, 2, 6], [8, 2], grouping="random", seed=2),
                {"weights": np.arange(1.0, 17.0)}),
    "weights_and_participation": (lambda: E.Hierarchy.multi_level(16, [1, 2, 6], [4, 2], grouping="random", seed=2),
                                  {"weights": np.arange(1.0, 17.0), "participation": 2}),
    "participation": (lambda: E.Hierarchy.two_level(16, 4, 2, 6, grouping="random", seed=1), {"participation": 3}),
}


def _run(name):
    build, kw = RUNS[name]
    p = E.HeterogeneousNonconvex(n=16, d=3, sigma=0.5, seed=4)
    return E.simulate(p, build(), lr=0.03, steps=24, seeds=3, seed=5, record_every=1, **kw)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_every_engine_path_records_every_step_without_blas(name, monkeypatch):
    expected = _run(name)  # numpy as it is
    with monkeypatch.context() as m:
        patch_blas(m)
        with pytest.raises(AssertionError, match="np.dot"):
            np.dot(np.ones(2), np.ones(2))  # the patch is in place
        r = _run(name)
    assert r.steps.tolist() == list(range(24)) and np.isfinite(r.grad_norm_sq).all()
    for field in ("grad_norm_sq", "loss", "divergence"):
        np.testing.assert_array_equal(getattr(r, field), getattr(expected, field))


def test_a_batched_sweep_records_every_step_without_blas(monkeypatch):
    patch_blas(monkeypatch)
    problems = [E.HeterogeneousNonconvex(n=8, d=3, within=w, seed=1) for w in (0.5, 2.0)]
    rs = simulate_batch(problems, E.Hierarchy.two_level(8, 2, 2, 4, grouping="random", seed=1), [0.01, 0.03],
                        steps=12, seeds=2, record_every=1)
    assert [r.grad_norm_sq.shape for r in rs] == [(2, 12), (2, 12)]


# ---------------------------------------------------------------------- the source
def blas_uses(tree: ast.AST) -> list[str]:
    """Every ``a @ b``, ``a @= b``, call or attribute named ``dot``, ``matmul``, ``tensordot``,
    ``inner``, ``vdot``, any ``linalg`` and every ``einsum(..., optimize=<not False/None>)``
    in ``tree``, as ``"line: what"``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.BinOp, ast.AugAssign)) and isinstance(node.op, ast.MatMult):
            found.append(f"{node.lineno}: @")
        elif isinstance(node, ast.Attribute) and node.attr in BLAS_NAMES + ("linalg",):
            found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in BLAS_NAMES:
            found.append(f"{node.lineno}: {node.id}")
        elif isinstance(node, ast.Call):
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            for kw in node.keywords:
                if callee == "einsum" and kw.arg == "optimize" and not (
                        isinstance(kw.value, ast.Constant) and kw.value.value in (False, None)):
                    found.append(f"{node.lineno}: einsum(optimize=...)")
    return found


ENGINE_MODULES = [engine, aggregation, batch, results, streams]
# the problem the runs above use: its step and record methods (its constants may use BLAS)
PROBLEM_PATH = [heterogeneous._gradient_block, heterogeneous._draw_normals,
                *(getattr(heterogeneous.HeterogeneousNonconvex, name)
                  for name in ("stochastic_grads", "_scratch", "_phi_scratch", "_phi_terms", "loss", "grad",
                               "_loss_from", "_grad_from"))]


@pytest.mark.parametrize("module", ENGINE_MODULES, ids=lambda m: m.__name__)
def test_the_engine_modules_contain_no_matrix_product(module):
    assert blas_uses(ast.parse(inspect.getsource(module))) == []


@pytest.mark.parametrize("fn", PROBLEM_PATH, ids=lambda f: f.__qualname__)
def test_the_problems_step_and_record_methods_contain_no_matrix_product(fn):
    assert blas_uses(ast.parse(textwrap.dedent(inspect.getsource(fn)))) == []


def test_the_source_check_finds_each_kind_of_matrix_product():
    source = """
def f(a, b, x):
    y = a @ b
    y @= b
    z = np.dot(a, b) + a.dot(b) + np.matmul(a, b) + np.linalg.norm(a) + np.tensordot(a, b, 1)
    w = np.einsum("ij,jk->ik", a, b, optimize=True) + np.einsum("ij,jk->ik", a, b, optimize="greedy")
    fine = np.einsum("ij,jk->ik", a, b) + np.einsum("ij,jk->ik", a, b, optimize=False) + np.add.reduce(a * b)
    return y, z, w, fine
"""
    found = blas_uses(ast.parse(source))
    assert sorted(f.split(": ")[1] for f in found) == sorted(
        ["@", "@", ".dot", ".dot", ".matmul", ".linalg", ".tensordot", "einsum(optimize=...)", "einsum(optimize=...)"])
