"""The sympy vocabulary in which a built-in operator states its own formula.

Operators are written in the temperature-scaled teachers ``Q[k, i]`` (positive: the open domain)
and the weights ``w[k]``. Concrete expressions (:meth:`~mtkd.operators.builtin.BuiltinOperator.score_expr`)
use 0-based integer indices, lining up with numpy arrays; general-``K`` formulas
(:meth:`~mtkd.operators.builtin.BuiltinOperator.log_rate`) use the index symbols below, which are
the ones the property statements use (:mod:`mtkd.theorems.symbols` imports them from here).

>>> Q[0, 1] * w[0]
Q[0, 1]*w[0]
"""

from __future__ import annotations

from enum import Enum

import sympy as sp

Q = sp.IndexedBase("Q", positive=True)
"""Temperature-scaled teachers ``Q[k, i] = tau_{T_k}(p_k)(i)``; positive (open domain)."""

w = sp.IndexedBase("w", nonnegative=True)
"""Teacher weights ``w[k]`` (a point of the simplex; the sum constraint is imposed by callers)."""

K = sp.Symbol("K", integer=True, positive=True)
"""The number of teachers, generic."""

j, k, l = sp.symbols("j k l", integer=True, positive=True)
k2 = sp.Symbol("k'", integer=True, positive=True)
"""Teacher ``k'``: in the weight derivative, weight moves from ``k'`` to ``k``."""


class Shape(str, Enum):
    """How ``q`` depends on the weights: which symbolic derivations apply to an operator."""

    AFFINE = "affine"
    """``q(i) = sum_k w_k Q_k(i)``: derivatives in ``w`` are exact differences of teachers."""

    NORMALISED = "normalised"
    """``q(i) = m(i) / sum_j m(j)`` with ``log m`` differentiable in ``w`` (its rate: ``log_rate``)."""

    WEIGHT_FREE = "weight-free"
    """``q`` does not depend on ``w`` at all."""

    MIXTURE = "mixture"
    """``q(i) = sum_k lam_k(w) Q_k(i)`` with ``lam(w)`` on the simplex but not ``w`` (``reweighted``)."""
