"""``hsgd bound ...`` and ``hsgd bench bounds``: a thin layer over :mod:`bounds`.

``hsgd bound two-level|local|multi-level`` evaluates a bound and prints its value, each
term and whether the step-size condition holds (``--latex`` for the formula, ``--json`` for
the numbers); ``hsgd bound optimal-lr KIND`` minimises it over the step size;
``hsgd bound sandwich`` prints the sandwich corollary with its machine-checked proofs.
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

import numpy as np

from bounds.bound import Bound
from bounds.local_sgd import local_sgd
from bounds.multi_level import multi_level
from bounds.theorems import theorem
from bounds.optimal import optimal_lr
from bounds.random_grouping import random_grouping
from bounds.corollaries import sandwich
from bounds import symbols
from bounds.symbols import symbolic_hierarchy
from bounds.two_level import two_level
from figures.cli.options import add_theorem_option, integer_option, list_option, real_option

__all__ = ["register", "register_bench"]

# (keyword, default, help). Defaults give a valid bound in each kind.
COMMON = [
    ("gamma", 0.01, "step size"),
    ("L", 1, "smoothness constant (A1)"),
    ("sigma", 1, "gradient noise standard deviation (A2)"),
    ("n", 32, "number of workers"),
    ("T", 10000, "number of steps, any T >= 1, not necessarily a multiple of a period (docs/theory.md §5.5 Any horizon)"),
    ("F0", 10, "initial gap f(x0) - f*"),
]
KINDS: dict[str, dict[str, Any]] = {
    "two-level": {
        "help": "docs/theory.md §4.1 Theorem 1 (two-level H-SGD)",
        "params": [("N", 4, "number of groups"), ("I", 5, "local period"), ("G", 50, "global period"),
                   ("eps_g", 0.5, "upward divergence bound (A3)"),
                   ("eps_l", 1, "downward divergence bound (A3)")],
        "level_eps": ("eps_g", "eps_l"),
    },
    "local": {
        "help": "local SGD with period P (docs/theory.md §4.3 Local SGD: Theorem 2, M = 1)",
        "params": [("P", 5, "averaging period"), ("eps", 1, "total divergence bound (A3)")],
        "level_eps": (),
    },
    "multi-level": {
        "help": "docs/theory.md §4.2 Theorem 2 (M-level H-SGD); the defaults of --periods, --groups and --eps "
                "describe 3 levels, so give the others for any other depth",
        "params": [("periods", "5,25,100", "periods P_1,...,P_M, finest first"),
                   ("groups", "16,4", "group counts K_1,...,K_{M-1}, finest first"),
                   ("eps", "1,0.5,0.25", "per-level divergence bounds eps_1,...,eps_M (A3)")],
        "level_eps": ("eps",),
        "defaults": {"gamma": 0.004, "n": 64},
    },
}


MAX_LEVELS = 10  # hsgd bound sandwich: the sympy proofs take seconds beyond this
MAX_BENCH_POINTS = 10**8  # hsgd bench bounds: 11 arrays of this many floats (8.8 GB)


def _symbol_option(name: str) -> Callable[[str], Any]:
    """The parser of a scalar parameter, from its symbol's assumptions (integer, positive, ...)."""
    sym = getattr(symbols, name)
    if sym.is_integer:
        return integer_option()
    return real_option("positive" if sym.is_positive else "non-negative" if sym.is_nonnegative else "any")


LIST_OPTIONS: dict[str, Callable[[str], list[Any]]] = {
    "periods": list_option(integer_option()),
    "groups": list_option(integer_option(), allow_empty=True),
    "eps": list_option(real_option("non-negative")),
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_kind_arguments(parser: argparse.ArgumentParser, kind: str, *, with_gamma: bool) -> None:
    spec = KINDS[kind]
    defaults = spec.get("defaults", {})
    for name, default, help_text in COMMON:
        if name == "gamma" and not with_gamma:
            continue
        default = defaults.get(name, default)
        parser.add_argument(_flag(name), dest=name, type=_symbol_option(name), default=default,
                            help=f"{help_text} (default {default})")
    for name, default, help_text in spec["params"]:
        multi = kind == "multi-level"
        kind_type = LIST_OPTIONS[name] if multi else _symbol_option(name)
        # per-level eps default to None so that giving them with --random-grouping is an error, and
        # multi-level lists so that their defaults (for 3 levels) are used only at that depth (_check_depth)
        parser.add_argument(_flag(name), dest=name, type=kind_type,
                            default=None if name in spec["level_eps"] or multi else kind_type(str(default)),
                            help=f"{help_text} (default {default})")
    if kind != "local":
        parser.add_argument("--random-grouping", action="store_true",
                            help="use Lemma 2's shares of a total --eps-total instead of per-level eps")
        parser.add_argument("--eps-total", dest="eps_total", type=real_option("non-negative"), default=None,
                            help="total divergence bound, only with --random-grouping (default 1)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")


def _check_eps_options(args: argparse.Namespace, kind: str) -> None:
    """Per-level eps and ``--eps-total`` exclude each other; fill in the defaults of the one used."""
    spec = KINDS[kind]
    random = getattr(args, "random_grouping", False)
    given = [name for name in spec["level_eps"] if getattr(args, name) is not None]
    if random and given:
        raise ValueError(f"{_flag(given[0])} is not used with --random-grouping, which shares --eps-total "
                         f"between the levels (Lemma 2); give --eps-total instead")
    if not random and getattr(args, "eps_total", None) is not None:
        raise ValueError("--eps-total applies only with --random-grouping; without it give the per-level "
                         + " and ".join(_flag(name) for name in spec["level_eps"]))
    if random and args.eps_total is None:
        args.eps_total = 1.0
    defaults = {name: default for name, default, _ in spec["params"]}
    for name in spec["level_eps"]:
        if getattr(args, name) is None:
            parse = LIST_OPTIONS[name] if kind == "multi-level" else _symbol_option(name)
            setattr(args, name, parse(str(defaults[name])))


def _check_depth(args: argparse.Namespace) -> None:
    """``bound multi-level``: fill in the default ``--periods``/``--groups``/``--eps`` only where
    they fit the depth the given lists set (the defaults describe 3 levels); otherwise one line
    naming the option to give and how many values it needs."""
    defaults = {name: LIST_OPTIONS[name](str(default)) for name, default, _ in KINDS["multi-level"]["params"]}
    given = {name: getattr(args, name) for name in defaults if getattr(args, name) is not None}
    if "periods" in given:
        M, source = len(given["periods"]), f"--periods {_show(given['periods'])}"
    elif "groups" in given:
        M, source = len(given["groups"]) + 1, f"--groups {_show(given['groups'])}"
    elif "eps" in given:
        M, source = len(given["eps"]), f"--eps {_show(given['eps'])}"
    else:
        M, source = len(defaults["periods"]), ""
    needs = {"periods": (M, "periods P_1 .. P_M"), "groups": (M - 1, "group counts K_1 .. K_{M-1}"),
             "eps": (M, "per-level eps")}
    for name in ("periods", "groups", "eps"):
        if name in given or (name == "eps" and getattr(args, "random_grouping", False)):
            continue
        count, what = needs[name]
        if len(defaults[name]) != count:
            raise ValueError(f"{source} describes {M} level(s): give {_flag(name)} with {count} value(s) ({what}); "
                             f"its default {_show(defaults[name])} is for {len(defaults['periods'])} levels")
        setattr(args, name, defaults[name])


def _bound_and_values(args: argparse.Namespace, kind: str) -> tuple[Bound, dict[str, Any]]:
    if kind == "multi-level":
        _check_depth(args)
    _check_eps_options(args, kind)
    values = {name: getattr(args, name) for name, _, _ in COMMON if hasattr(args, name)}
    if kind == "two-level":
        bound = two_level()
        values.update({k: getattr(args, k) for k in ("N", "I", "G", "eps_g", "eps_l")})
    elif kind == "local":
        bound = local_sgd()
        values.update({"P": args.P, "eps": args.eps})
    else:
        bound = multi_level(args.periods, args.groups)
        values["eps"] = args.eps
    if getattr(args, "random_grouping", False):
        bound = random_grouping(bound)
        for key in KINDS[kind]["level_eps"]:
            values.pop(key, None)
        values["eps"] = args.eps_total
    return bound, values


def _print_json(payload: dict[str, Any]) -> None:
    from empirical.io import json_text

    print(json_text(payload))


def _evaluate(args: argparse.Namespace) -> int:
    bound, values = _bound_and_values(args, args.kind)
    bound = bound.under(theorem(args.theorem))
    if bound.free and not args.latex:
        values = bound.optimised_values(**values)
    if args.latex:  # with --json: the formula inside JSON (it ignored --json before)
        if args.json:
            _print_json({"bound": bound.title, "source": bound.source, "latex": bound.latex()})
        else:
            print(bound.latex())
        return 0
    value = bound.evaluate(strict=False, **values)
    terms = bound.evaluate_terms(**values)
    checks = bound.check_condition(**{sym.name: float(v) for sym, v in bound.values_to_arrays(values).items()})
    holds = all(c.holds for c in checks)
    if args.json:
        _print_json({
            "bound": bound.title, "source": bound.source, "parameters": values, "value": value,
            "terms": terms, "condition_holds": holds,
            "conditions": [{"condition": c.condition.label, "lhs": c.lhs, "rhs": c.rhs, "holds": c.holds}
                           for c in checks],
        })
        return 0
    print(f"{bound.title}  [{bound.source}; constants derived for this project]")
    print("parameters: " + " ".join(f"{k}={_show(v)}" for k, v in values.items() if k not in bound.free))
    if args.kind == "multi-level":
        print(f"hierarchy: periods {_show(list(args.periods))} (P_1 .. P_M), groups {_show(list(args.groups))} "
              "(K_1 .. K_{M-1}), finest first")
    if bound.free:
        print("free parameters chosen to minimise the bound (it holds for every admissible choice): "
              + "; ".join(f"{key} = " + ", ".join(f"{v:.4g}" for v in np.atleast_1d(values[key])) for key in bound.free))
    width = max(len(k) for k in terms)
    print(f"{'bound':<{width + 2}} {value:.6g}")
    for name, term in terms.items():
        print(f"  {name:<{width}} {term:.6g}")
    for c in checks:
        print(f"condition  {c.describe()}")
    if not holds:
        print("the step-size condition fails: the value above is NOT a guaranteed bound")
    return 0


def _show(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _optimal(args: argparse.Namespace) -> int:
    bound, values = _bound_and_values(args, args.kind)
    opt = optimal_lr(bound, **values)
    payload = {"bound": bound.title, "parameters": values, "gamma": opt.gamma, "value": opt.value,
               "gamma_max": opt.gamma_max, "limiting_condition": opt.limiting_condition,
               "at_boundary": opt.at_boundary, "rule": opt.rule}
    if args.json:
        _print_json(payload)
        return 0
    print(f"{bound.title}: optimal step size")
    print("parameters: " + " ".join(f"{k}={_show(v)}" for k, v in values.items()))
    print(f"gamma      {opt.gamma:.6g}   ({opt.rule})")
    print(f"bound      {opt.value:.6g}")
    print(f"gamma_max  {opt.gamma_max:.6g}   (set by {opt.limiting_condition})")
    return 0


def _sandwich(args: argparse.Namespace) -> int:
    bound = two_level() if args.levels == 2 else multi_level(*symbolic_hierarchy(args.levels))
    sw = sandwich(bound, grouping=args.grouping)
    print(f"Sandwich for {sw.middle.title} ({'Corollaries 1-2' if args.grouping == 'random' else 'Corollary 0'})")
    print(f"domain: {sw.domain.description}")
    if sw.identity is not None:
        print(f"identity (checked exactly): {sw.identity.lhs} = {sw.identity.rhs}")
    print(f"lower gap = {sw.lower_gap_factored}")
    print(f"upper gap = {sw.upper_gap_factored}")
    print("proof that the lower gap is >= 0:")
    print(sw.lower_proof)
    print("proof that the upper gap is >= 0:")
    print(sw.upper_proof)
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hsgd bound`` with its kinds, ``optimal-lr`` and ``sandwich``."""
    bound_parser = commands.add_parser("bound", help="evaluate the symbolic bounds of docs/theory.md")
    kinds = bound_parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, spec in KINDS.items():
        p = kinds.add_parser(kind, help=spec["help"])
        _add_kind_arguments(p, kind, with_gamma=True)
        p.add_argument("--latex", action="store_true",
                       help="print the formula in LaTeX (with --json: as JSON with keys bound, source, latex)")
        add_theorem_option(p)
        p.set_defaults(handler=_evaluate)
    opt = kinds.add_parser("optimal-lr", help="the step size minimising a bound under its condition")
    opt_kinds = opt.add_subparsers(dest="kind", required=True, metavar="KIND")
    for kind, spec in KINDS.items():
        p = opt_kinds.add_parser(kind, help=spec["help"])
        _add_kind_arguments(p, kind, with_gamma=False)
        p.set_defaults(handler=_optimal)
    sw = kinds.add_parser("sandwich", help="the sandwich corollary with its sympy proofs")
    sw.add_argument("--levels", type=integer_option(2, MAX_LEVELS), default=2,
                    help=f"number of levels M, 2 <= M <= {MAX_LEVELS} (default 2)")
    sw.add_argument("--grouping", choices=("random", "any"), default="random",
                    help="random grouping (Corollaries 1-2) or any grouping (Corollary 0)")
    sw.set_defaults(handler=_sandwich)


def register_bench(targets: argparse._SubParsersAction) -> None:
    """Add ``hsgd bench bounds``."""
    from bounds.bench import run_from_args

    p = targets.add_parser("bounds", help="points per second of Bound.lambdify() against subs().evalf()")
    p.add_argument("--points", type=integer_option(1, MAX_BENCH_POINTS), default=1_000_000,
                   help=f"array size, at most {MAX_BENCH_POINTS:.0e} (default 10^6)")
    p.add_argument("--repeats", type=integer_option(1, 1000), default=5,
                   help="timing repeats, best is kept, at most 1000 (default 5)")
    p.add_argument("--subs-points", type=integer_option(1, 100_000), default=200,
                   help="points for subs().evalf(), at most 10^5 (default 200)")
    p.add_argument("--json", action="store_true", help="print the numbers as JSON")
    p.set_defaults(handler=run_from_args)

