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

from typing import Any, Sequence

import numpy as np

from .mixture import ScoredTeachersPool
from .precision import Arithmetic


class ConfidencePool(ScoredTeachersPool):
    name = "confidence"
    formula = "q(i) = sum_k w'_k Q_k(i), w'_k ∝ w_k max_j Q_k(j)"
    source = "max-probability confidence weighting of teachers (multi-teacher KD practice)"

    def teacher_scores(self, Q: np.ndarray, logQ: np.ndarray) -> np.ndarray:
        return Q.max(axis=-1)

    def teacher_score_precise(self, row: Sequence[Any], ctx: Arithmetic) -> Any:
        return ctx.max(row)
