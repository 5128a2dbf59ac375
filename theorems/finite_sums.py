"""A canonical form for nested finite sums, so that sympy can see that two of them are equal.

sympy leaves ``sum_i (sum_k w_k Q_ki) log s_i`` and ``sum_k w_k sum_i Q_ki log s_i`` as different
objects. Both are the same double sum; bringing every term to one flat ``Sum`` with its limits in
a fixed order (linearity plus exchanging the order of a finite double sum, both valid because
every bound here is a constant such as ``1``, ``K`` or ``V``) lets ordinary ``Add`` cancellation
decide equality.

>>> import sympy as sp
>>> K, V = sp.symbols("K V", integer=True, positive=True)
>>> i, k = sp.symbols("i k", integer=True, positive=True)
>>> Q, w, s = sp.IndexedBase("Q"), sp.IndexedBase("w"), sp.IndexedBase("s")
>>> a = sp.Sum(sp.Sum(w[k] * Q[k, i], (k, 1, K)) * s[i], (i, 1, V))
>>> b = sp.Sum(w[k] * sp.Sum(Q[k, i] * s[i], (i, 1, V)), (k, 1, K))
>>> canonical_sums(a - b)
0
"""

from __future__ import annotations

import sympy as sp


def _bound_symbols(limits: tuple[tuple[sp.Basic, ...], ...]) -> set[sp.Basic]:
    return {limit[0] for limit in limits}


def _check_constant_bounds(s: sp.Sum) -> None:
    # Exchanging summation order is only valid for rectangular index sets.
    bound = _bound_symbols(s.limits)
    for _, lo, hi in s.limits:
        if (lo.free_symbols | hi.free_symbols) & bound:
            raise ValueError(f"non-rectangular sum {s}: cannot reorder its limits")


def _canonical_sum(summand: sp.Expr, limits: tuple[tuple[sp.Basic, ...], ...]) -> sp.Expr:
    """``Sum(summand, *limits)`` flattened: constants pulled in, nested sums merged, limits sorted."""
    summand = sp.expand(summand)
    if isinstance(summand, sp.Add):
        return sp.Add(*(_canonical_sum(term, limits) for term in summand.args))
    factors = sp.Mul.make_args(summand)
    inner = [f for f in factors if isinstance(f, sp.Sum)]
    if len(inner) == 1:
        inner_sum = inner[0]
        _check_constant_bounds(inner_sum)
        rest = sp.Mul(*(f for f in factors if f is not inner_sum))
        if rest.free_symbols & _bound_symbols(inner_sum.limits):
            raise ValueError(f"bound variable of {inner_sum} also occurs outside it")
        return _canonical_sum(rest * inner_sum.function, inner_sum.limits + limits)
    if len(inner) > 1:
        raise ValueError(f"product of sums in {summand}: not supported")
    ordered = tuple(sorted(limits, key=lambda limit: str(limit[0])))
    # Numeric coefficients stay outside, so that Sum(f) and Sum(-f) cancel as c*S - c*S.
    coeff, rest = summand.as_coeff_Mul()
    return coeff * sp.Sum(rest, *ordered)


def canonical_sums(expr: sp.Expr) -> sp.Expr:
    """Rewrite ``expr`` so that equal finite (possibly nested) sums become identical terms.

    Raises ``ValueError`` for shapes it cannot rewrite soundly (products of two sums, sums whose
    bounds depend on another index), rather than returning an unsimplified answer silently.
    """
    expr = sp.expand(expr)
    out = []
    for term in sp.Add.make_args(expr):
        factors = sp.Mul.make_args(term)
        sums = [f for f in factors if isinstance(f, sp.Sum)]
        if not sums:
            out.append(term)
            continue
        if len(sums) > 1:
            raise ValueError(f"product of sums in {term}: not supported")
        (the_sum,) = sums
        _check_constant_bounds(the_sum)
        rest = sp.Mul(*(f for f in factors if f is not the_sum))
        if rest.free_symbols & _bound_symbols(the_sum.limits):
            raise ValueError(f"bound variable of {the_sum} also occurs outside it")
        out.append(_canonical_sum(rest * the_sum.function, the_sum.limits))
    return sp.Add(*out)
