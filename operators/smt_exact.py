"""Exact arithmetic for certifying z3 counterexamples without trusting the solver.

A z3 model is only a *candidate*: its values are read out (algebraic ones approximated by
rationals), snapped to small-denominator rationals, and the property's margin is recomputed
from scratch in sympy. Rational margins are decided by exact comparison; irrational
(algebraic) margins by their minimal polynomial and an isolating interval, so the sign never
rests on floating point.

>>> import sympy
>>> fmt(sympy.Rational(-1, 12))
'-1/12'
"""

from __future__ import annotations

from fractions import Fraction

import sympy
import z3

from .exact import exact_sign

__all__ = ["exact_sign", "fmt", "normalise", "snap", "snap_positive", "to_fraction"]


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


def fmt(x: Fraction | sympy.Expr | int) -> str:
    """An exact value as a string: ``"3/7"`` for rationals, sympy's form for algebraics."""
    if isinstance(x, Fraction):
        return str(x)
    x = sympy.sympify(x)
    if x.is_Rational:
        return str(Fraction(int(x.p), int(x.q)))
    return sympy.sstr(x)
