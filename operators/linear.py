"""``linear``: the linear opinion pool ``q = sum_k w_k Q_k``.

The paper's Example II.3, and what averaging teachers' probabilities does. Source: M. Stone,
"The opinion pool", Ann. Math. Statist. 32 (1961); Genest & Zidek, "Combining probability
distributions: a critique and an annotated bibliography", Statist. Sci. 1 (1986).

>>> import numpy as np
>>> LinearPool()(np.array([[0.5, 0.5], [0.9, 0.1]]), np.ones(2), np.array([0.5, 0.5]))
array([0.7, 0.3])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .builtin import BuiltinOperator
from .precision import HighPrecision
from .temperature import log_tau


class LinearPool(BuiltinOperator):
    name = "linear"
    formula = "q(i) = sum_k w_k Q_k(i)"
    source = "Stone (1961), the linear opinion pool; the paper's Example II.3"

    def batched(self, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        # Mixing in probability space directly: no normalisation step, so no extra round-off.
        return np.einsum("nk,nkv->nv", w, np.exp(log_tau(P, T)))

    def scores(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(np.einsum("nk,nkv->nv", w, np.exp(logQ)))

    def pool_precise(self, Q: list[list[Any]], w: list[Any], ctx: HighPrecision) -> list[Any]:
        return [sum((wk * row[i] for row, wk in zip(Q, w)), ctx.num(0)) for i in range(len(Q[0]))]
