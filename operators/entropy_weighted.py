"""``entropy-weighted``: linear pooling with each teacher's weight scaled by ``exp(-H(Q_k))``.

Entropy-based teacher weighting: a teacher with a peaked (low-entropy) prediction counts more::

    H[k] = -sum(Q_k * log Q_k);  weights = w * exp(-H) / sum(w * exp(-H))
    soft_target = sum(weights[k] * Q_k)

(in the spirit of entropy-adaptive multi-teacher distillation, e.g. Kwon et al., "Adaptive
knowledge distillation based on entropy", ICASSP 2020). ``0 log 0 = 0`` on the closed domain.

>>> import numpy as np
>>> q = EntropyWeightedPool()(np.array([[0.5, 0.5], [1.0, 0.0]]), np.ones(2), np.array([0.5, 0.5]))
>>> np.round(q, 6)   # weights ∝ exp(-log 2) and exp(0): 1/3 and 2/3
array([0.833333, 0.166667])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .builtin import BuiltinOperator
from .precision import Arithmetic


class EntropyWeightedPool(BuiltinOperator):
    name = "entropy-weighted"
    formula = "q(i) = sum_k w'_k Q_k(i), w'_k ∝ w_k exp(-H(Q_k))"
    source = "entropy-based teacher weighting (Kwon et al., ICASSP 2020, in spirit)"

    def scores(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        Q = np.exp(logQ)
        H = -np.where(Q > 0, Q * np.where(Q > 0, logQ, 0.0), 0.0).sum(axis=-1)
        weights = w * np.exp(-H)
        with np.errstate(divide="ignore"):
            return np.log(np.einsum("nk,nkv->nv", weights / weights.sum(axis=-1, keepdims=True), Q))

    def pool_precise(self, Q: list[list[Any]], w: list[Any], ctx: Arithmetic) -> list[Any]:
        weights = []
        for wk, row in zip(w, Q):
            neg_entropy = sum((x * ctx.log(x) for x in row if not ctx.is_zero(x)), ctx.num(0))
            weights.append(wk * ctx.exp(neg_entropy))
        return [sum((c * row[i] for c, row in zip(weights, Q)), ctx.num(0)) for i in range(len(Q[0]))]
