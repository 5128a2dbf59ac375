"""``geometric``: log-linear pooling ``q ∝ prod_k Q_k^{w_k}``, i.e. averaging log-probabilities.

This is what "averaging the teachers' logits" computes (after the softmax). Source: Genest,
McConway & Schervish, "Characterization of externally Bayesian pooling operators", Ann. Statist.
14 (1986); Hinton, "Training products of experts by minimizing contrastive divergence" (2002).

On the closed domain a token that some positive-weight teacher rules out gets zero. If the
positive-weight teachers share no token at all the pool is undefined; this implementation then
returns NaN, which the suite reports as an ``error`` with the input and :attr:`undefined_note`'s
explanation (the operator is undefined there: a documented gap, not a bug).

>>> import numpy as np
>>> GeometricPool()(np.array([[0.5, 0.5], [0.9, 0.1]]), np.ones(2), np.array([0.5, 0.5]))
array([0.75, 0.25])
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

import numpy as np
import sympy

from .builtin import BuiltinOperator, geometric_precise, log_weight_gradient, weighted_log_sum
from .formula import Q as Qs
from .formula import Shape, j, k, k2
from .formula import w as ws
from .precision import Arithmetic
from .smt_encoding import Encoder, geometric_family


class GeometricPool(BuiltinOperator):
    name = "geometric"
    token_local = True
    formula = "q(i) ∝ prod_k Q_k(i)^{w_k}"
    source = "Genest, McConway & Schervish (1986), logarithmic opinion pool; logit averaging"
    zero_forcing = True
    shape = Shape.NORMALISED
    derivation_extras = ("geometric_log_loss",)

    @classmethod
    def score_expr(cls, params: Mapping[str, sympy.Rational], K: int, i: int) -> sympy.Expr:
        return sympy.Mul(*(Qs[kk, i] ** ws[kk] for kk in range(K)))

    @classmethod
    def log_rate(cls, params: Mapping[str, sympy.Rational]) -> sympy.Expr:
        return sympy.log(Qs[k, j]) - sympy.log(Qs[k2, j])

    @classmethod
    def smt_encoder(cls, params: Mapping[str, Any], max_k: int) -> Encoder | None:
        return geometric_family(Fraction(1), "geometric", params, max_k)

    def scores(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        return weighted_log_sum(logQ, w)

    def score_gradient(self, logQ: np.ndarray, w: np.ndarray, s: np.ndarray) -> np.ndarray:
        return log_weight_gradient(logQ)

    def pool_precise(self, Q: list[list[Any]], w: list[Any], ctx: Arithmetic) -> list[Any]:
        return geometric_precise(Q, w, ctx)
