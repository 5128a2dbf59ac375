"""Exact arithmetic for certifying z3 counterexamples without trusting the solver.

A z3 model is only a *candidate*: its values are read out (algebraic ones approximated by
rationals), snapped to small-denominator rationals, and the property's margin is recomputed
from scratch in sympy. Rational margins are decided by exact comparison; irrational
(algebraic) margins by their minimal polynomial and an isolating interval, so the sign never
rests on floating point.

>>> import sympy
>>> exact_sign(sympy.sqrt(2) - sympy.Rational(141, 100))
1
>>> exact_sign(sympy.sqrt(8) - 2 * sympy.sqrt(2))
0
>>> fmt(sympy.Rational(-1, 12))
'-1/12'
"""

from __future__ import annotations

from fractions import Fraction

import sympy
import z3


def to_fraction(value: z3.ExprRef, digits: int = 40) -> Fraction:
    """A model value as a Fraction: exact for rationals, ``digits``-accurate for algebraics."""
    if z3.is_algebraic_value(value):
        value = value.approx(digits)
    if not z3.is_rational_value(value):
        raise ValueError(f"not a numeral: {value}")
    return Fraction(value.numerator_as_long(), value.denominator_as_long())


def snap(x: Fraction, max_den: int | None) -> Fraction:
    """``x`` rounded to a denominator at most ``max_den`` (unchanged when ``max_den`` is None)."""
    return x if max_den is None else x.limit_denominator(max_den)


def snap_positive(x: Fraction, max_den: int | None) -> Fraction:
    """Like :func:`snap` but never returns a value <= 0 for a positive ``x`` (open domain)."""
    y = snap(x, max_den)
    return y if y > 0 else (x if max_den is None else Fraction(1, 10 * max_den))


def normalise(row: list[Fraction]) -> list[Fraction]:
    """Scale a positive vector onto the simplex, exactly."""
    total = sum(row)
    return [x / total for x in row]


def exact_sign(expr: sympy.Expr) -> int:
    """The sign (-1, 0, 1) of a real algebraic number given as a sympy expression, exactly.

    Rationals compare directly. Otherwise the minimal polynomial decides: degree 1 gives the
    rational value; an irreducible polynomial of degree >= 2 has no rational root, so the
    number is not 0, and its sign is that of the isolating interval (rational endpoints, exact
    Sturm-style isolation) that contains the high-precision numerical value.
    """
    expr = sympy.sympify(expr)
    if expr.is_Rational:
        return int(sympy.sign(expr))
    x = sympy.Dummy("x")
    poly = sympy.minimal_polynomial(expr, x, polys=True)
    if poly.degree() == 1:
        return int(sympy.sign(-poly.nth(0) / poly.nth(1)))
    approx = sympy.Rational(str(expr.evalf(60)))
    eps = sympy.Rational(1, 10**20)
    for _ in range(6):
        hits = [(a, b) for (a, b), _m in poly.intervals(eps=eps) if a <= approx <= b]
        if len(hits) == 1:
            a, b = hits[0]
            if a > 0:
                return 1
            if b < 0:
                return -1
        eps /= 10**10
    raise ArithmeticError(f"could not isolate the sign of {expr}")


def fmt(x: Fraction | sympy.Expr | int) -> str:
    """An exact value as a string: ``"3/7"`` for rationals, sympy's form for algebraics."""
    if isinstance(x, Fraction):
        return str(x)
    x = sympy.sympify(x)
    if x.is_Rational:
        return str(Fraction(int(x.p), int(x.q)))
    return sympy.sstr(x)
