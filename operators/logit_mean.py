"""``logit-mean``: the softmax of the weighted mean of the teachers' logits, each at its own temperature.

What ensemble distillation code typically computes for a soft target (Hinton, Vinyals & Dean,
"Distilling the knowledge in a neural network", 2015, for the tempered softmax; averaging the
ensemble's logits is the common multi-teacher variant)::

    soft_target = softmax(sum(w[k] * teacher_logits[k] / T[k] for k in range(K)))

with ``teacher_logits[k] = log p_k`` (logits are defined up to a per-teacher constant, which the
softmax removes). Mathematically this is the geometric pool of the temperature-scaled teachers
(``prod_k Q_k^{w_k}`` normalised), computed the way training code computes it: from raw logits,
never forming ``Q``. Undefined where geometric is (positive-weight teachers with disjoint supports).

>>> import numpy as np
>>> from mtkd.operators.geometric import GeometricPool
>>> P, T, w = np.array([[0.5, 0.5], [0.9, 0.1]]), np.array([1.0, 2.0]), np.array([0.5, 0.5])
>>> bool(np.allclose(LogitMean()(P, T, w), GeometricPool()(P, T, w)))
True
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import sympy as sp

from .builtin import BuiltinOperator, geometric_precise, normalised, teacher_logits, weighted_log_sum
from .formula import Shape
from .precision import Arithmetic
from .temperature import softmax


class LogitMean(BuiltinOperator):
    name = "logit-mean"
    token_local = True
    formula = "q(i) ∝ exp(sum_k w_k log p_k(i) / T_k)"
    source = "ensemble soft targets from averaged logits, per-teacher temperature (Hinton et al. 2015)"
    zero_forcing = True
    shape = Shape.NORMALISED

    @classmethod
    def canonical(cls, exact: Mapping[str, sp.Rational]) -> tuple[str, Mapping[str, sp.Rational]]:
        # The same function as the geometric pool: prod_k p_k^{w_k / T_k} and prod_k Q_k^{w_k} differ by
        # per-teacher normalisers only, which the softmax removes. So geometric's proofs apply; the
        # code checked by the search stays the logits one, and
        # tests/quality/test_formula_is_the_implementation.py checks that the two agree.
        return "geometric", {}

    def batched(self, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        return softmax(weighted_log_sum(teacher_logits(P), w / T))

    def precise(self, P: list[list[Any]], T: list[Any], w: list[Any], ctx: Arithmetic) -> list[Any]:
        return normalised(geometric_precise(P, [wk / tk for wk, tk in zip(w, T)], ctx), ctx)
