"""A precise-form context whose numbers are sympy expressions over *symbols*: tracing a formula.

Running an operator's precise form ``precise(P, T, w, ctx)`` with :class:`Symbolic` and symbolic
inputs executes the user's code once per size and returns the operator's exact formula. The
context simplifies as it goes, using only identities valid for positive reals (the open domain):
``log`` splits products, quotients and powers (``log(Q**T / n) = T log Q - log n``) and ``exp``
turns ``exp(c log x)`` into ``x**c``, so temperature scaling written as ``exp(log(p) / T)``
normalised over the row collapses to ``Q`` (the bijection lemma's substitution, see
:mod:`mtkd.theorems.tracing`).

Branches: ``is_zero`` and comparisons are answered from sympy's assumptions. A question the
assumptions do not settle raises :class:`BranchUndecided`, with the condition; when it is about
one weight (``w_k = 0`` is a face of the simplex) the exception names the weight, and the tracer
re-runs with that weight in ``positive_weights`` (the generic case) and checks the face separately.
No state is kept in the context, so a trace can run in another process (the sandbox).

>>> import sympy
>>> x, t = sympy.symbols("x t", positive=True)
>>> ctx = Symbolic()
>>> ctx.exp(ctx.log(x ** t / 3) / t)
x/3**(1/t)
>>> ctx.is_zero(x)
False
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Iterable

import sympy as sp


class TracedMax(sp.Function):
    """``ctx.max`` kept unevaluated: sympy's ``Max`` compares its arguments under assumptions,
    which costs seconds per call on traced expressions. It is real (of real arguments), so
    ``log(exp(m)) = m`` still simplifies; :func:`evaluated` turns it back into ``Max``."""

    is_real = True
    is_extended_real = True


def evaluated(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every :class:`TracedMax` replaced by sympy's ``Max`` (for numbers)."""
    return expr.replace(lambda e: isinstance(e, TracedMax), lambda e: sp.Max(*e.args))


class BranchUndecided(ArithmeticError):
    """The traced code branches on a condition the open domain does not decide.

    ``weight`` is the weight symbol when the condition is ``w_k > 0`` vs ``w_k = 0``.
    """

    def __init__(self, message: str, weight: sp.Expr | None = None) -> None:
        super().__init__(message, weight)
        self.weight = weight

    def __str__(self) -> str:
        return str(self.args[0])


class Symbolic:
    """sympy expressions with simplification at ``exp``/``log``; records generic-case branches."""

    certifying = False
    dps = 0
    name = "symbolic trace (sympy)"

    def __init__(self, weights: Iterable[sp.Expr] = (), unit_sums: Iterable[sp.Expr] = (),
                 positive_weights: Iterable[sp.Expr] = ()) -> None:
        """``weights``: the weight symbols (a branch on one of them names it, see the module doc);
        ``unit_sums``: expressions known to equal 1 (the rows of ``Q``), replaced as they appear;
        ``positive_weights``: weights taken to be > 0 (the generic case of a traced branch)."""
        self.unit_sums = {s: sp.S.One for s in unit_sums}
        self.weights = frozenset(weights)
        self.positive_weights = frozenset(positive_weights)

    def num(self, x: Fraction | int | str | float) -> sp.Expr:
        x = Fraction(x)
        return sp.Rational(x.numerator, x.denominator)

    def exp(self, x: Any) -> sp.Expr:
        factors = []
        for term in sp.Add.make_args(sp.expand(sp.sympify(x))):
            logs = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.log)]
            # exp(c log b) = b**c for b > 0: every logged quantity is positive on the open domain.
            factors.append(logs[0].args[0] ** (term / logs[0]) if len(logs) == 1 else sp.exp(term))
        return sp.Mul(*factors)

    def log(self, x: Any) -> sp.Expr:
        # Pulling common factors out of sums first lets a shift (a max, a row normaliser) split
        # off and cancel: log(e^-m Q_i / (e^-m sum_j Q_j)) = log Q_i - log sum_j Q_j.
        x = self.simplify(sp.sympify(x))
        return sp.expand(sp.expand_log(sp.log(x), force=True)).xreplace(self.unit_sums)

    def simplify(self, x: sp.Expr) -> sp.Expr:
        """Common factors out of every sum, then the known unit sums replaced by 1."""
        return sp.factor_terms(x).xreplace(self.unit_sums)

    def max(self, xs: Iterable[Any]) -> sp.Expr:
        xs = list(xs)
        return xs[0] if len(xs) == 1 else TracedMax(*xs)

    def is_zero(self, x: Any) -> bool:
        return self.decide(sp.sympify(x), "is_zero") == 0

    def decide(self, x: sp.Expr, what: str = "comparison") -> int:
        """The sign of ``x`` (-1, 0, 1) when the domain fixes it; see the module doc otherwise."""
        x = sp.sympify(x)
        if x.is_zero:
            return 0
        if x.is_positive:
            return 1
        if x.is_negative:
            return -1
        if x in self.positive_weights:
            return 1
        raise BranchUndecided(f"the code branches ({what}) on the sign of {x}, which the open domain does not "
                              "decide; data-dependent branches are not traced",
                              x if x in self.weights else None)

    def sign(self, x: Any) -> int | None:
        try:
            return self.decide(x)
        except BranchUndecided:
            return None
