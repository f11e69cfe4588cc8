"""Sign certificates: sympy proofs that an expression is non-negative (or positive) on a domain.

The method is elementary and checkable by hand. An expression built from sums, products and
powers is split along that structure (a product of non-negative factors is non-negative,
and so on). Each remaining polynomial factor is rewritten in *shift variables* that are
non-negative on the whole domain, e.g. ``G = I + d_G`` and ``I = 1 + d_I`` for
``1 <= I <= G``; if every coefficient of the expanded polynomial is then non-negative, and
every variable is non-negative, the factor is non-negative everywhere on the domain. This
is a proof, not a sampling: nothing is evaluated at points.

A :class:`Domain` holds several such *parametrisations*; each must cover the whole domain
(every admissible point has non-negative shift values that map to it), so each factor may
use whichever one certifies it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

__all__ = ["Certificate", "Domain", "ProofError", "prove_nonnegative", "prove_positive"]


class ProofError(ValueError):
    """No certificate was found (which does not prove the claim false)."""


Substitution = tuple[tuple[sp.Symbol, sp.Expr], ...]


@dataclass(frozen=True)
class Domain:
    """A domain given by parametrisations in non-negative shift variables.

    Attributes:
        description: the domain in words, e.g. ``"1 <= I <= G, 1 <= N <= n"``.
        parametrisations: each an ordered list of substitutions ``symbol -> expression``
            applied one after another; every shift variable is a non-negative symbol.
    """

    description: str
    parametrisations: tuple[Substitution, ...] = field(default=((),))

    def apply(self, expr: sp.Expr, index: int) -> sp.Expr:
        for sym, repl in self.parametrisations[index]:
            expr = expr.subs(sym, repl)
        return expr


@dataclass(frozen=True)
class Certificate:
    """A proof that ``expr >= 0`` (or ``> 0`` when ``strict``), as a tree of reasons."""

    expr: sp.Expr
    strict: bool
    reason: str
    parts: tuple["Certificate", ...] = ()

    def lines(self, depth: int = 0) -> list[str]:
        sign = ">" if self.strict else ">="
        out = ["  " * depth + f"{self.expr} {sign} 0: {self.reason}"]
        for part in self.parts:
            out.extend(part.lines(depth + 1))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def prove_nonnegative(expr: sp.Expr, domain: Domain) -> Certificate:
    """Certify ``expr >= 0`` on ``domain``.

    Raises:
        ProofError: when no certificate is found.

    Example:
        >>> from bounds import symbols as s
        >>> d = Domain("1 <= I <= G", ((( s.G, s.I + sp.Symbol("d_G", nonnegative=True)),
        ...                             (s.I, 1 + sp.Symbol("d_I", nonnegative=True))),))
        >>> print(prove_nonnegative((s.G - s.I) * (2 * s.G + 2 * s.I - 3), d))
        (G - I)*(2*G + 2*I - 3) >= 0: product of non-negative factors
          G - I >= 0: with G = I + d_G, I = d_I + 1: d_G has only non-negative coefficients
          2*G + 2*I - 3 >= 0: with G = I + d_G, I = d_I + 1: 2*d_G + 4*d_I + 1 has only non-negative coefficients
    """
    return _prove(sp.sympify(expr), domain, strict=False)


def prove_positive(expr: sp.Expr, domain: Domain) -> Certificate:
    """Certify ``expr > 0`` on ``domain`` (see :func:`prove_nonnegative`)."""
    return _prove(sp.sympify(expr), domain, strict=True)


def _prove(expr: sp.Expr, domain: Domain, strict: bool) -> Certificate:
    try:
        return _structural(expr, domain, strict)
    except ProofError:
        return _polynomial(expr, domain, strict)


def _structural(expr: sp.Expr, domain: Domain, strict: bool) -> Certificate:
    if expr.is_number:
        if expr.is_positive or (not strict and expr.is_zero):
            return Certificate(expr, strict, "a number")
        raise ProofError(f"{expr} is not {'positive' if strict else 'non-negative'}")
    if expr.is_Symbol:
        if expr.is_positive or (not strict and expr.is_nonnegative):
            return Certificate(expr, strict, "by the symbol's assumptions")
        raise ProofError(f"no assumption makes {expr} {'positive' if strict else 'non-negative'}")
    if expr.is_Mul:
        parts = tuple(_prove(factor, domain, strict) for factor in expr.args)
        return Certificate(expr, strict, f"product of {'positive' if strict else 'non-negative'} factors", parts)
    if expr.is_Pow:
        base, exp = expr.as_base_exp()
        if exp.is_Integer and exp.is_negative:
            return Certificate(expr, strict, "power of a positive base", (_prove(base, domain, True),))
        if exp.is_Integer and exp.is_even and not strict and base.is_real:
            return Certificate(expr, strict, "even power of a real number")
        if exp.is_Rational and exp.is_positive:
            return Certificate(expr, strict, "positive power of a base of that sign", (_prove(base, domain, strict),))
        raise ProofError(f"cannot sign the power {expr}")
    if expr.is_Add:
        parts = tuple(_prove(term, domain, False) for term in expr.args)
        if strict and not any(_has_strict(term, domain) for term in expr.args):
            raise ProofError(f"no term of {expr} is certified positive")
        return Certificate(expr, strict, "sum of non-negative terms", parts)
    raise ProofError(f"cannot take {expr} apart")


def _has_strict(term: sp.Expr, domain: Domain) -> bool:
    try:
        _prove(term, domain, True)
    except ProofError:
        return False
    return True


def _polynomial(expr: sp.Expr, domain: Domain, strict: bool) -> Certificate:
    for index in range(len(domain.parametrisations)):
        shifted = domain.apply(expr, index)
        # No cancel(): a common factor that vanishes somewhere on the domain must stay in the
        # denominator, where it has to be proved positive.
        num, den = sp.fraction(sp.together(shifted))
        num, den = sp.expand(num), sp.expand(den)
        if _all_coefficients(den, lambda c: c <= 0):
            num, den = -num, -den
        if _signed_polynomial(num, strict) and _signed_polynomial(den, True):
            subs = ", ".join(f"{sym} = {repl}" for sym, repl in domain.parametrisations[index])
            where = f"with {subs}: " if subs else ""
            shown = num if den == 1 else num / den
            return Certificate(expr, strict, f"{where}{shown} has only non-negative coefficients")
    raise ProofError(
        f"no certificate that {expr} is {'positive' if strict else 'non-negative'} on {domain.description}"
    )


def _all_coefficients(poly_expr: sp.Expr, predicate) -> bool:
    gens = sorted(poly_expr.free_symbols, key=lambda x: x.name)
    if not gens:
        return bool(predicate(poly_expr))
    try:
        poly = sp.Poly(poly_expr, *gens)
    except sp.PolynomialError:
        return False
    return all(predicate(c) for c in poly.coeffs())


def _signed_polynomial(poly_expr: sp.Expr, strict: bool) -> bool:
    """All coefficients >= 0 in non-negative variables; with ``strict`` also one positive term
    whose variables are all positive (the constant term counts)."""
    gens = sorted(poly_expr.free_symbols, key=lambda x: x.name)
    if not all(g.is_nonnegative for g in gens):
        return False
    if not gens:
        return bool(poly_expr.is_positive or (not strict and poly_expr.is_zero))
    try:
        poly = sp.Poly(poly_expr, *gens)
    except sp.PolynomialError:
        return False
    terms = poly.terms()
    if not all(c.is_number and c >= 0 for _, c in terms):
        return False
    if not strict:
        return True
    return any(c > 0 and all(g.is_positive for g, k in zip(gens, monom) if k) for monom, c in terms)
