"""Exact arithmetic for the precise form: sympy rationals and algebraic numbers.

At a rational input with rational temperature exponents and weights, the built-in pools are
algebraic numbers, so a margin's sign can be decided *exactly* rather than enclosed: rationals
compare directly, algebraic numbers by their minimal polynomial and an isolating interval.
Transcendental values (logs in KL, derivatives of the geometric pool) make :meth:`Exact.sign`
return ``None`` and certification falls back to interval arithmetic.

>>> import sympy
>>> exact_sign(sympy.sqrt(2) - sympy.Rational(141, 100))
1
>>> exact_sign(sympy.sqrt(8) - 2 * sympy.sqrt(2))
0
>>> ctx = Exact()
>>> ctx.sign(ctx.exp(ctx.log(ctx.num(2)) / 2) - ctx.num(1))   # sqrt(2) - 1
1
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Iterable

import mpmath
import sympy


def exact_sign(expr: sympy.Expr) -> int:
    """The sign (-1, 0, 1) of a real algebraic number given as a sympy expression, exactly.

    Rationals compare directly. Otherwise the minimal polynomial decides: degree 1 gives the
    rational value; an irreducible polynomial of degree >= 2 has no rational root, so the
    number is not 0, and its sign is that of the isolating interval (rational endpoints, exact
    Sturm-style isolation) that contains the high-precision numerical value. Raises
    ``sympy.polys.polyerrors.NotAlgebraic`` for transcendental input.
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


class Exact:
    """A precise-form context whose numbers are exact sympy expressions."""

    certifying = True
    dps = 0
    name = "exact arithmetic (sympy: rationals and algebraic numbers, sign by minimal polynomial)"

    def num(self, x: Fraction | int | str) -> sympy.Expr:
        x = Fraction(x)
        return sympy.Rational(x.numerator, x.denominator)

    def exp(self, x: sympy.Expr) -> sympy.Expr:
        # exp(r log a) evaluates to the algebraic a**r; sums of such logs need the expansion.
        return sympy.expand_power_exp(sympy.exp(x))

    def log(self, x: sympy.Expr) -> sympy.Expr:
        return sympy.log(x)

    def max(self, xs: Iterable[sympy.Expr]) -> sympy.Expr:
        return sympy.Max(*xs)

    def is_zero(self, x: sympy.Expr) -> bool:
        return x == 0

    def sign(self, x: sympy.Expr) -> int | None:
        """The exact sign, or ``None`` when ``x`` is not (recognisably) algebraic."""
        try:
            return exact_sign(x)
        except (ArithmeticError, NotImplementedError, ValueError, TypeError,
                sympy.polys.polyerrors.BasePolynomialError):
            return None

    def bounds(self, x: sympy.Expr) -> tuple[Any, Any]:
        v = mpmath.mpf(str(sympy.N(x, 30)))
        return v, v

    def to_str(self, x: sympy.Expr, digits: int = 20) -> str:
        if isinstance(x, sympy.Rational) and len(str(x)) <= 40:
            return str(x)
        return str(sympy.N(x, digits))
