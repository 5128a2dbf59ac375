"""``entropic``: ``argmin_q sum_k w_k KL(q || Q_k) - beta H(q)``, with ``beta > -1``.

Stationarity of the Lagrangian gives ``(1 + beta) (log q(i) + 1) - sum_k w_k log Q_k(i) + mu = 0``,
so the closed form is ``q ∝ (prod_k Q_k^{w_k})^{1/(1+beta)}``: the geometric pool, temperature-
scaled by ``1 + beta``. ``beta = 0`` is ``geometric``. Source: the paper's Theorem III.1 item 2
("information-theoretic projection ... under appropriate regularization"); Amari, "Integration
of stochastic models by minimizing alpha-divergence", Neural Comput. 19 (2007).

>>> import numpy as np
>>> q = EntropicPool(beta=1.0)(np.array([[0.2, 0.8]]), np.ones(1), np.ones(1))
>>> np.round(q, 6)   # one teacher, T = 1, yet q != p: the regulariser re-tempers it
array([0.333333, 0.666667])
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
from .smt_encoding import Encoder, as_rational, geometric_family


class EntropicPool(BuiltinOperator):
    name = "entropic"
    token_local = True
    formula = "q(i) ∝ (prod_k Q_k(i)^{w_k})^{1/(1+beta)}"
    source = "the paper's entropic regularisation (Thm III.1/III.2); Amari (2007)"
    param_doc = {"beta": "entropy bonus, > -1 (default 0.5); 0 gives geometric"}
    zero_forcing = True  # a power of the geometric pool: undefined where geometric is
    defaults = {"beta": 0.5}
    shape = Shape.NORMALISED
    derivation_extras = ("entropic_closed_form",)
    same_as = {("beta", 0): "geometric"}

    @classmethod
    def canonical(cls, exact: Mapping[str, sympy.Rational]) -> tuple[str, Mapping[str, sympy.Rational]]:
        if exact["beta"] <= -1:
            raise ValueError(f"entropic needs beta > -1 (the objective is not convex otherwise), got {exact['beta']}")
        return super().canonical(exact)

    @classmethod
    def score_expr(cls, params: Mapping[str, sympy.Rational], K: int, i: int) -> sympy.Expr:
        # (prod_k Q^w)^(1/(1+beta)) written factor by factor: equal for Q > 0, and sympy
        # differentiates the factored form without needing to pull the outer power apart.
        return sympy.Mul(*(Qs[kk, i] ** (ws[kk] / (1 + params["beta"])) for kk in range(K)))

    @classmethod
    def log_rate(cls, params: Mapping[str, sympy.Rational]) -> sympy.Expr:
        return (sympy.log(Qs[k, j]) - sympy.log(Qs[k2, j])) / (1 + params["beta"])

    @classmethod
    def smt_encoder(cls, params: Mapping[str, Any], max_k: int) -> Encoder | None:
        beta = as_rational(params.get("beta", cls.defaults["beta"]))
        if beta is None or beta <= -1:
            return None
        return geometric_family(1 / (1 + beta), f"entropic(beta={beta})", params, max_k)

    def __init__(self, beta: float = 0.5) -> None:
        if not beta > -1:
            raise ValueError(f"entropic needs beta > -1, got beta={beta}")
        super().__init__(beta=beta)

    def scores(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        return weighted_log_sum(logQ, w) / (1.0 + self.params["beta"])

    def score_gradient(self, logQ: np.ndarray, w: np.ndarray, s: np.ndarray) -> np.ndarray:
        return log_weight_gradient(logQ, 1.0 / (1.0 + self.params["beta"]))

    def pool_precise(self, Q: list[list[Any]], w: list[Any], ctx: Arithmetic) -> list[Any]:
        scale = ctx.num(1) / ctx.num(1 + Fraction(self.params["beta"]))
        return geometric_precise(Q, w, ctx, scale)
