"""``topk``: each teacher keeps its ``k`` most likely tokens (renormalised), then linear pooling.

Top-k fusion of teachers' soft labels (keeping only each teacher's top-k classes, a common way to
shrink large-vocabulary distillation targets; e.g. top-k logit distillation in LLM KD)::

    Q_k = softmax(teacher_logits[k] / T[k]); keep the k largest entries, zero the rest, renormalise
    soft_target = sum(w[k] * Q_k)

Ties at the k-th place keep the lower token index (a stable sort). No precise form: selecting the
top k needs comparisons, which the precise-form contract (``+ - * /``, ``exp``, ``log``, ``max``,
``is_zero``) does not offer, so its findings are float64 evidence, never certified.

>>> import numpy as np
>>> TopKPool(k=1)(np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]), np.ones(2), np.array([0.5, 0.5]))
array([0.5, 0. , 0.5])
"""

from __future__ import annotations

import numpy as np

from .builtin import BuiltinOperator
from .mixture import mixture
from .temperature import tau


class TopKPool(BuiltinOperator):
    name = "topk"
    formula = "q(i) = sum_k w_k Q_k(i) [i in top k of Q_k] / (top-k mass of Q_k)"
    source = "top-k truncated soft labels, then averaging (large-vocabulary distillation practice)"
    param_doc = {"k": "tokens kept per teacher (default 2)"}
    defaults = {"k": 2.0}

    def __init__(self, k: float = 2.0) -> None:
        if not (k >= 1 and float(k).is_integer()):
            raise ValueError(f"topk needs a whole number k >= 1, got k={k}")
        super().__init__(k=k)

    def batched(self, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        Q = tau(P, T)
        kk = min(int(self.params["k"]), Q.shape[-1])
        order = np.argsort(-Q, axis=-1, kind="stable")[..., :kk]
        kept = np.zeros_like(Q)
        np.put_along_axis(kept, order, np.take_along_axis(Q, order, -1), -1)
        kept /= kept.sum(axis=-1, keepdims=True)
        return mixture(w, kept)

    precise = None  # type: ignore[assignment]  # no comparisons in the precise-form contract: float64 only

