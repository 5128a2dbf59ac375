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

import math
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


MAX_WORK = 500
"""Exact signs are attempted only when ``degree_bound * operation count`` is at most this.

sympy's minimal polynomial of a sum of radicals can take minutes, and no time limit can stop it
in a worker thread (dask), so the attempt is gated by a *work* estimate fixed by the point alone:
whether a certificate is exact then depends on the input, never on machine speed or on where it
ran. Measured on the counterexamples of ``reports/conformance.json`` (load average ~7): every
point under this bound decided in at most 1.6 s; above it, 800..3000 often took over 1.5 s
(one at 2100 took 12 s)."""


def degree_bound(expr: sympy.Expr) -> int | None:
    """An upper bound on the algebraic degree of ``expr``; ``None`` unless it is visibly algebraic.

    Visibly algebraic: rationals combined by ``+ - * /`` and rational powers (no ``log``, ``exp``,
    ``pi``, symbols). Adjoining ``b ** (1 / L)`` for each base ``b`` (``L`` the lcm of the
    denominators of its exponents) raises the degree at most ``L``-fold, so the product of the
    ``L`` bounds the degree of everything built from them.

    >>> degree_bound(sympy.sqrt(2) + sympy.Integer(3) ** sympy.Rational(1, 3))
    6
    >>> degree_bound(sympy.sqrt(2) * sympy.Integer(2) ** sympy.Rational(1, 3))
    6
    >>> degree_bound(sympy.log(2) - 1) is None
    True
    """
    expr = sympy.sympify(expr)
    if expr.atoms(sympy.Function) or expr.atoms(sympy.NumberSymbol) or expr.free_symbols:
        return None
    return radical_degree(expr)


def radical_degree(expr: sympy.Expr) -> int | None:
    """The product, over the bases of ``expr``'s rational powers, of the lcm of their exponents'
    denominators: how far its radicals raise the degree (``log``, ``exp`` and constants count 1);
    ``None`` when a power has an exponent that is not a rational number.

    >>> radical_degree(sympy.log(2) * sympy.Integer(2) ** sympy.Rational(4, 9) + sympy.cbrt(2))
    9
    """
    roots: dict[sympy.Expr, int] = {}
    for power in expr.atoms(sympy.Pow):
        if not power.exp.is_Rational:
            return None
        if not power.exp.is_Integer:
            roots[power.base] = math.lcm(roots.get(power.base, 1), int(power.exp.q))
    return math.prod(roots.values())


def within_work(expr: sympy.Expr) -> bool:
    """True when :func:`exact_sign` of ``expr`` is cheap enough to try (see :data:`MAX_WORK`).

    >>> within_work(sympy.sqrt(2) - 1), within_work(sympy.log(2) - 1)
    (True, False)
    """
    bound = degree_bound(expr)
    return bound is not None and bound * max(1, sympy.count_ops(expr)) <= MAX_WORK


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
        """The exact sign, or ``None`` when ``x`` is not (recognisably) algebraic or too costly to decide
        (:data:`MAX_WORK`): the caller then certifies with intervals."""
        if not within_work(x):
            return None
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
