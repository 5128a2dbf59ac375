"""``linear``: the linear opinion pool ``q = sum_k w_k Q_k``.

The paper's Example II.3, and what averaging teachers' probabilities does. Source: M. Stone,
"The opinion pool", Ann. Math. Statist. 32 (1961); Genest & Zidek, "Combining probability
distributions: a critique and an annotated bibliography", Statist. Sci. 1 (1986).

>>> import numpy as np
>>> LinearPool()(np.array([[0.5, 0.5], [0.9, 0.1]]), np.ones(2), np.array([0.5, 0.5]))
array([0.7, 0.3])
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import sympy
import z3

from .builtin import BuiltinOperator
from .formula import Shape
from .formula import w as ws
from .mixture import log_mixture, mixture, mixture_expr, mixture_precise
from .precision import Arithmetic
from .smt_encoding import DirectTeachers, Encoder, zval
from .temperature import tau_precise


class LinearPool(BuiltinOperator):
    name = "linear"
    token_local = True
    formula = "q(i) = sum_k w_k Q_k(i)"
    source = "Stone (1961), the linear opinion pool; the paper's Example II.3"
    shape = Shape.AFFINE
    self_normalised = True

    @classmethod
    def score_expr(cls, params: Mapping[str, sympy.Rational], K: int, i: int) -> sympy.Expr:
        return mixture_expr([ws[k] for k in range(K)], i)

    @classmethod
    def smt_encoder(cls, params: Mapping[str, Any], max_k: int) -> Encoder | None:
        return LinearEncoder()

    def pool_of_scaled(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        # Mixing in probability space directly: no normalisation step, so no extra round-off.
        return mixture(w, np.exp(logQ))

    def scores(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        return log_mixture(w, np.exp(logQ))

    def weight_gradient(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        # d q / d w_k = (Q_k - q) / sum_j w_j. The common term -q / sum_j w_j cancels in every
        # difference grad_k - grad_k2 (all that callers use), so it is left out: the difference is
        # then (Q_k - Q_k2) / sum_j w_j, without the rounding of q (~1e-16) swamping a tiny slope.
        return np.exp(logQ) / w.sum(axis=-1)[:, None, None]

    def precise(self, P: list[list[Any]], T: list[Any], w: list[Any], ctx: Arithmetic) -> list[Any]:
        # Every Q_k sums to exactly 1, so the pool's token sum is sum_k w_k: normalising by the
        # weights is the same function, and a move along the simplex (w_k + d, w_k2 - d) leaves that
        # sum exactly constant in dual numbers. Normalised over tokens, the derivative instead
        # carried the token sum's rounding (~2^-60 at 64 bits), hiding a slope Q_k(i) - Q_k2(i) of 1e-103.
        Q = [tau_precise(row, t, ctx) for row, t in zip(P, T)]
        total = sum(w[1:], w[0])
        return mixture_precise(Q, [wk / total for wk in w], ctx)


class LinearEncoder(Encoder):
    """``q = sum_k w_k Q_k``."""

    label = "linear"
    column_local = True

    def teachers(self, ctx, K, V, weight_vectors):
        return DirectTeachers(ctx, K, V)

    def aggregate(self, t, w, tag):
        return [z3.Sum([zval(t.ctx, w[k]) * t.Q[k][i] for k in range(t.K)])
                for i in range(len(t.Q[0]))], []

    def derivative_sign(self, t, w, i, k, k2):
        return t.Q[k][i] - t.Q[k2][i], []

    def exact_q(self, Q, w):
        return [sympy.Add(*[w[k] * Q[k][i] for k in range(len(Q))]) for i in range(len(Q[0]))]
