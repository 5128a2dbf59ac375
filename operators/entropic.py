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
from typing import Any

import numpy as np

from .builtin import BuiltinOperator, geometric_precise, weighted_log_sum
from .precision import HighPrecision


class EntropicPool(BuiltinOperator):
    name = "entropic"
    formula = "q(i) ∝ (prod_k Q_k(i)^{w_k})^{1/(1+beta)}"
    source = "the paper's entropic regularisation (Thm III.1/III.2); Amari (2007)"
    param_doc = {"beta": "entropy bonus, > -1 (default 0.5); 0 gives geometric"}
    zero_forcing = True  # a power of the geometric pool: undefined where geometric is

    def __init__(self, beta: float = 0.5) -> None:
        if not beta > -1:
            raise ValueError(f"entropic needs beta > -1, got beta={beta}")
        super().__init__(beta=beta)

    def scores(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        return weighted_log_sum(logQ, w) / (1.0 + self.params["beta"])

    def pool_precise(self, Q: list[list[Any]], w: list[Any], ctx: HighPrecision) -> list[Any]:
        scale = ctx.num(1) / ctx.num(1 + Fraction(self.params["beta"]))
        return geometric_precise(Q, w, ctx, scale)
