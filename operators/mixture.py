"""Mixtures of the temperature-scaled teachers, ``q(i) = sum_k c_k Q_k(i)``, in every form.

The linear pool mixes with the weights themselves (``c = w``); ``reweighted`` with reshaped
weights; ``topk`` mixes truncated teachers; ``confidence`` and ``entropy-weighted`` scale each
teacher's weight by a score of its own prediction (:class:`ScoredTeachersPool`). The
coefficients always lie on the simplex, so a mixture needs no normalisation.

>>> import numpy as np
>>> mixture(np.array([[0.25, 0.75]]), np.array([[[0.5, 0.5], [0.9, 0.1]]]))
array([[0.8, 0.2]])
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import sympy

from .builtin import BuiltinOperator
from .formula import Q as Qs
from .precision import Arithmetic


def mixture(coefficients: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """``sum_k c_k Q_k`` for a batch: ``coefficients`` ``(N, K)``, ``Q`` ``(N, K, V)``, result ``(N, V)``."""
    return np.einsum("nk,nkv->nv", coefficients, Q)


def log_mixture(coefficients: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """``log`` of :func:`mixture`: the scores of a mixture pool (``-inf`` where every teacher has 0)."""
    with np.errstate(divide="ignore"):
        return np.log(mixture(coefficients, Q))


def mixture_precise(Q: Sequence[Sequence[Any]], coefficients: Sequence[Any], ctx: Arithmetic) -> list[Any]:
    """:func:`mixture` on one input of ``ctx`` numbers: ``Q`` by teacher, then token."""
    return [sum((c * row[i] for row, c in zip(Q, coefficients)), ctx.num(0)) for i in range(len(Q[0]))]


def mixture_expr(coefficients: Sequence[sympy.Expr], i: int) -> sympy.Expr:
    """:func:`mixture` at token ``i`` in the sympy vocabulary of :mod:`~mtkd.operators.formula`."""
    return sympy.Add(*(c * Qs[k, i] for k, c in enumerate(coefficients)))


class ScoredTeachersPool(BuiltinOperator):
    """Linear pooling with each teacher's weight scaled by a score of its own prediction, renormalised.

    ``q = sum_k w'_k Q_k`` with ``w'_k ∝ w_k s(Q_k)``: the weights depend on the teachers, so ``q``
    is no longer affine in ``w``. Subclasses give the score ``s`` in float and in ``ctx`` arithmetic.
    """

    def teacher_scores(self, Q: np.ndarray, logQ: np.ndarray) -> np.ndarray:
        """``s(Q_k)`` for every teacher, ``(N, K)``, from ``Q`` and ``log Q`` ``(N, K, V)``."""
        raise NotImplementedError(f"{self.name} gives no teacher score")

    def teacher_score_precise(self, row: Sequence[Any], ctx: Arithmetic) -> Any:
        """``s(Q_k)`` for one teacher's row of ``ctx`` numbers."""
        raise NotImplementedError(f"{self.name} gives no precise teacher score")

    def scores(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        Q = np.exp(logQ)
        scaled = w * self.teacher_scores(Q, logQ)
        return log_mixture(scaled / scaled.sum(axis=-1, keepdims=True), Q)

    def pool_precise(self, Q: list[list[Any]], w: list[Any], ctx: Arithmetic) -> list[Any]:
        # Unnormalised scaled weights: the caller's normalisation of the pool divides by their sum.
        return mixture_precise(Q, [wk * self.teacher_score_precise(row, ctx) for wk, row in zip(w, Q)], ctx)
