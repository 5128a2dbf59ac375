"""The sympy formula every symbolic proof is about is the operator the search runs.

Proofs (sympy, z3) are about :func:`~mtkd.theorems.operator_exprs.operator_expr`, assembled from each
built-in's ``score_expr``; the search and the certificates run its ``precise`` / ``batched`` code.
A ``proved`` is only about the operator if the two are the same function: here they are compared at
50 digits on rational inputs with unequal temperatures (so the tau-bijection substitution
``Q = tau_T(P)`` is exercised), for every operator of the report that has a formula.
"""

from __future__ import annotations

from fractions import Fraction as F

import mpmath
import numpy as np
import pytest
import sympy as sp

from mtkd.operators import load_operator
from mtkd.operators.formula import Q as Qs
from mtkd.operators.formula import w as ws
from mtkd.operators.precision import HighPrecision
from mtkd.reports.conformance import DEFAULT_OPERATORS
from mtkd.theorems.operator_exprs import operator_expr

POINTS = [
    ([[F(1, 2), F(1, 3), F(1, 6)], [F(1, 10), F(3, 10), F(3, 5)]], [F(1), F(2)], [F(1, 4), F(3, 4)]),
    ([[F(1, 5), F(1, 5), F(3, 5)], [F(2, 3), F(1, 6), F(1, 6)], [F(1, 4), F(1, 2), F(1, 4)]],
     [F(1, 2), F(3), F(1)], [F(1, 2), F(1, 3), F(1, 6)]),
]


def _with_formula() -> list[str]:
    return [spec for spec in DEFAULT_OPERATORS if load_operator(spec).algebraic is not None]


def _tau(P: list[list[F]], T: list[F]) -> list[list[mpmath.mpf]]:
    with mpmath.workdps(70):
        rows = []
        for row, t in zip(P, T):
            powered = [mpmath.mpf(p.numerator) / p.denominator for p in row]
            powered = [x ** (1 / (mpmath.mpf(t.numerator) / t.denominator)) for x in powered]
            rows.append([x / mpmath.fsum(powered) for x in powered])
        return rows


@pytest.mark.parametrize("spec", _with_formula())
@pytest.mark.parametrize("point", range(len(POINTS)))
def test_formula_equals_the_precise_form(spec: str, point: int) -> None:
    P, T, w = POINTS[point]
    op = load_operator(spec)
    assert op.algebraic is not None
    name, params = op.algebraic
    K, V = len(P), len(P[0])
    formula = operator_expr(name, params, K, V)
    Q = _tau(P, T)
    subs = {Qs[k, i]: sp.Float(mpmath.nstr(Q[k][i], 65), 65) for k in range(K) for i in range(V)}
    subs.update({ws[k]: sp.Rational(w[k].numerator, w[k].denominator) for k in range(K)})
    from_formula = [sp.N(e.subs(subs), 50) for e in formula]
    ctx = HighPrecision(50)
    from_code = op.evaluate_precise(P, T, [ctx.num(x) for x in w], ctx)
    for i, (a, b) in enumerate(zip(from_formula, from_code)):
        assert abs(float(a) - float(b)) < 1e-12 and abs(sp.Float(str(b), 50) - a) < sp.Float("1e-40"), (
            f"{spec}: q({i}) is {b} by its code but {a} by the formula the proofs are about")
    # and the float form, to float64 accuracy
    q = op.evaluate(np.array([[[float(x) for x in r] for r in P]]), np.array([[float(t) for t in T]]),
                    np.array([[float(x) for x in w]]))[0]
    assert np.allclose(q, [float(a) for a in from_formula], rtol=1e-9, atol=1e-12), (spec, q, from_formula)
