"""``confidence``: linear pooling with each teacher's weight renormalised by its confidence.

A common multi-teacher heuristic: trust a teacher in proportion to how sure it is, measured by
its largest probability::

    conf[k] = max(softmax(teacher_logits[k] / T[k]))
    weights = w * conf / sum(w * conf);  soft_target = sum(weights[k] * softmax(teacher_logits[k] / T[k]))

(confidence-aware teacher weighting; CA-MKD, Zhang, Chen & Wang, ICASSP 2022, weights teachers by
their cross-entropy to the label instead, which needs labels the protocol does not have). The
weights now depend on the teachers, so ``q`` is no longer affine in ``w``.

>>> import numpy as np
>>> q = ConfidencePool()(np.array([[0.5, 0.5], [0.9, 0.1]]), np.ones(2), np.array([0.5, 0.5]))
>>> np.round(q, 6)   # the confident teacher (0.9) gets weight 0.9 / 1.4
array([0.757143, 0.242857])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .builtin import BuiltinOperator
from .precision import Arithmetic


class ConfidencePool(BuiltinOperator):
    name = "confidence"
    formula = "q(i) = sum_k w'_k Q_k(i), w'_k ∝ w_k max_j Q_k(j)"
    source = "max-probability confidence weighting of teachers (multi-teacher KD practice)"

    def scores(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        Q = np.exp(logQ)
        conf = w * Q.max(axis=-1)
        with np.errstate(divide="ignore"):
            return np.log(np.einsum("nk,nkv->nv", conf / conf.sum(axis=-1, keepdims=True), Q))

    def pool_precise(self, Q: list[list[Any]], w: list[Any], ctx: Arithmetic) -> list[Any]:
        conf = [wk * ctx.max(row) for wk, row in zip(w, Q)]
        return [sum((c * row[i] for c, row in zip(conf, Q)), ctx.num(0)) for i in range(len(Q[0]))]
