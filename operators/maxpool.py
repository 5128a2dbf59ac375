"""``max``: token-wise maximum over teachers, renormalised; the weights are ignored.

A common "most confident teacher wins" heuristic; also the ``alpha -> inf`` end of the power
family. Because ``q`` does not depend on ``w`` at all, weight monotonicity (``axiom3``) must fail
on strictness, and single-teacher coherence (``axiom5`` (a)) fails as soon as another teacher
is present with zero weight.

>>> import numpy as np
>>> MaxPool()(np.array([[0.5, 0.5], [0.9, 0.1]]), np.ones(2), np.array([1.0, 0.0]))
array([0.64285714, 0.35714286])
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import sympy
import z3

from .builtin import BuiltinOperator
from .formula import Q as Qs
from .formula import Shape
from .precision import Arithmetic
from .smt_encoding import DirectTeachers, Encoder, normalised_q, zval


class MaxPool(BuiltinOperator):
    name = "max"
    token_local = True
    formula = "q(i) ∝ max_k Q_k(i)"
    source = "max-confidence pooling; the alpha -> inf limit of Amari's alpha-integration"
    shape = Shape.WEIGHT_FREE

    @classmethod
    def score_expr(cls, params: Mapping[str, sympy.Rational], K: int, i: int) -> sympy.Expr:
        return sympy.Max(*(Qs[k, i] for k in range(K)))

    @classmethod
    def smt_encoder(cls, params: Mapping[str, Any], max_k: int) -> Encoder | None:
        return MaxEncoder()

    def scores(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        return logQ.max(axis=-2)

    def score_gradient(self, logQ: np.ndarray, w: np.ndarray, s: np.ndarray) -> np.ndarray:
        return np.zeros_like(logQ)  # the weights are ignored

    def pool_precise(self, Q: list[list[Any]], w: list[Any], ctx: Arithmetic) -> list[Any]:
        return [ctx.max(row[i] for row in Q) for i in range(len(Q[0]))]


class MaxEncoder(Encoder):
    """``q ∝ max_k Q_k(i)``; weights are ignored, so every weight derivative is 0."""

    label = "max"
    uses_weights = False

    def teachers(self, ctx, K, V, weight_vectors):
        return DirectTeachers(ctx, K, V)

    def aggregate(self, t, w, tag):
        m = [z3.Real(f"m{tag}_{i}", t.ctx) for i in range(t.V)]
        cons = []
        for i in range(t.V):
            col = [t.Q[k][i] for k in range(t.K)]
            cons += [m[i] >= x for x in col] + [z3.Or([m[i] == x for x in col])]
        q, norm = normalised_q(t.ctx, m, tag)
        return q, cons + norm

    def derivative_sign(self, t, w, i, k, k2):
        return zval(t.ctx, 0), []

    def exact_q(self, Q, w):
        m = [sympy.Max(*[row[i] for row in Q]) for i in range(len(Q[0]))]
        Z = sympy.Add(*m)
        return [x / Z for x in m]
