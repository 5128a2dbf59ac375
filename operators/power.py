"""``power``: the power-mean family ``q ∝ (sum_k w_k Q_k^alpha)^{1/alpha}``.

``alpha = 1`` is ``linear``, ``alpha -> 0`` is ``geometric``, ``alpha -> inf`` approaches ``max``.
Amari's alpha-integration (Amari, "Integration of stochastic models by minimizing
alpha-divergence", Neural Comput. 19, 2007); the paper's "Rényi / power means" witnesses.
For ``alpha < 0`` a zero from a positive-weight teacher forces the mean to zero (closed domain).

>>> import numpy as np
>>> P = np.array([[0.5, 0.5], [0.9, 0.1]])
>>> np.allclose(PowerPool(alpha=1.0)(P, np.ones(2), np.array([0.3, 0.7])), [0.78, 0.22])
True
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from .builtin import BuiltinOperator, geometric_precise, weighted_log_sum
from .precision import HighPrecision


class PowerPool(BuiltinOperator):
    name = "power"
    formula = "q(i) ∝ (sum_k w_k Q_k(i)^alpha)^{1/alpha}"
    source = "Amari (2007), alpha-integration; power / Rényi means"
    param_doc = {"alpha": "exponent (default 2); 1 = linear, 0 = geometric"}

    def __init__(self, alpha: float = 2.0) -> None:
        super().__init__(alpha=alpha)

    @property
    def zero_forcing(self) -> bool:
        # alpha > 0 ignores a teacher's zero (the other terms stay); alpha <= 0 is forced to zero by it.
        return self.params["alpha"] <= 0

    def scores(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        a = self.params["alpha"]
        if a == 0:
            return weighted_log_sum(logQ, w)
        active = w[..., None] > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(active, np.log(np.where(w > 0, w, 1.0))[..., None] + a * logQ, -np.inf)
        if a < 0:
            # A zero (logQ = -inf) from an active teacher makes the term +inf and the mean 0.
            dead = (active & np.isneginf(logQ)).any(axis=-2)
            terms = np.where(np.isposinf(terms), -np.inf, terms)
        top = terms.max(axis=-2)
        safe_top = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(divide="ignore"):
            lse = safe_top + np.log(np.exp(terms - safe_top[..., None, :]).sum(axis=-2))
        out = lse / a
        if a < 0:
            out = np.where(dead, -np.inf, out)
        return out

    def pool_precise(self, Q: list[list[Any]], w: list[Any], ctx: HighPrecision) -> list[Any]:
        a = Fraction(self.params["alpha"]).limit_denominator(10**6)
        if a == 0:
            return geometric_precise(Q, w, ctx)
        alpha, inv = ctx.num(a), ctx.num(1 / a)
        out = []
        for i in range(len(Q[0])):
            active = [(row[i], wk) for row, wk in zip(Q, w) if not ctx.is_zero(wk)]
            if any(ctx.is_zero(x) for x, _ in active):
                if a < 0:
                    out.append(Q[0][i] * 0)
                    continue
                active = [(x, wk) for x, wk in active if not ctx.is_zero(x)]
            s = sum((wk * ctx.exp(alpha * ctx.log(x)) for x, wk in active), ctx.num(0))
            out.append(ctx.exp(inv * ctx.log(s)) if active else s)
        return out
