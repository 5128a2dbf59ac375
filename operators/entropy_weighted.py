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

from typing import Any, Sequence

import numpy as np

from .mixture import ScoredTeachersPool
from .precision import Arithmetic


class EntropyWeightedPool(ScoredTeachersPool):
    name = "entropy-weighted"
    formula = "q(i) = sum_k w'_k Q_k(i), w'_k ∝ w_k exp(-H(Q_k))"
    source = "entropy-based teacher weighting (Kwon et al., ICASSP 2020, in spirit)"

    def teacher_scores(self, Q: np.ndarray, logQ: np.ndarray) -> np.ndarray:
        H = -np.where(Q > 0, Q * np.where(Q > 0, logQ, 0.0), 0.0).sum(axis=-1)
        return np.exp(-H)

    def teacher_score_precise(self, row: Sequence[Any], ctx: Arithmetic) -> Any:
        neg_entropy = sum((x * ctx.log(x) for x in row if not ctx.is_zero(x)), ctx.num(0))
        return ctx.exp(neg_entropy)
