"""``logit-mean-post-t``: mix the teachers' logits first, then apply one temperature.

The single-temperature form common in distillation code::

    soft_target = softmax(mean_logits / T),   mean_logits = sum(w[k] * teacher_logits[k])

(Hinton, Vinyals & Dean 2015 apply one temperature to one teacher's logits; with several teachers
the logits are often averaged first). The protocol gives one temperature per teacher, so the
temperature applied after mixing is their weighted mean ``T_bar = sum_k w_k T_k``; with equal
temperatures this is ``logit-mean``. With unequal ones the temperatures no longer act teacher by
teacher: a teacher's own temperature also tempers the others.

>>> import numpy as np
>>> P, w = np.array([[0.5, 0.5], [0.9, 0.1]]), np.array([0.5, 0.5])
>>> q = LogitMeanPostT()(P, np.array([2.0, 2.0]), w)
>>> bool(np.allclose(q, LogitMeanPostT()(P, np.array([1.0, 3.0]), w)))  # only T_bar = 2 matters
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .builtin import BuiltinOperator, geometric_precise, normalised, teacher_logits, weighted_log_sum
from .precision import Arithmetic
from .temperature import softmax


class LogitMeanPostT(BuiltinOperator):
    name = "logit-mean-post-t"
    token_local = True
    formula = "q(i) ∝ exp(sum_k w_k log p_k(i) / T_bar), T_bar = sum_k w_k T_k"
    source = "single temperature after averaging the teachers' logits (distillation code; Hinton et al. 2015)"
    zero_forcing = True

    def batched(self, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        t_bar = (w * T).sum(axis=-1, keepdims=True)
        return softmax(weighted_log_sum(teacher_logits(P), w) / t_bar)

    def precise(self, P: list[list[Any]], T: list[Any], w: list[Any], ctx: Arithmetic) -> list[Any]:
        t_bar = sum((wk * tk for wk, tk in zip(w, T)), ctx.num(0))
        return normalised(geometric_precise(P, w, ctx, 1 / t_bar), ctx)
