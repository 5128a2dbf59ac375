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

from typing import Any

import numpy as np

from .builtin import BuiltinOperator
from .precision import HighPrecision


class MaxPool(BuiltinOperator):
    name = "max"
    formula = "q(i) ∝ max_k Q_k(i)"
    source = "max-confidence pooling; the alpha -> inf limit of Amari's alpha-integration"

    def scores(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        return logQ.max(axis=-2)

    def pool_precise(self, Q: list[list[Any]], w: list[Any], ctx: HighPrecision) -> list[Any]:
        return [ctx.max(row[i] for row in Q) for i in range(len(Q[0]))]
