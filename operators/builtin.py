"""Shared machinery of the built-in operators: each offers single, batched and precise forms."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Mapping

import numpy as np

from .precision import HighPrecision
from .temperature import log_tau, softmax, tau_precise


class BuiltinOperator(ABC):
    """Base of the built-ins. Subclasses give ``scores`` (log of the unnormalised pool)."""

    name: ClassVar[str]
    formula: ClassVar[str]
    source: ClassVar[str]
    param_doc: ClassVar[Mapping[str, str]] = {}

    def __init__(self, **params: float) -> None:
        self.params: dict[str, float] = dict(params)

    @property
    def zero_forcing(self) -> bool:
        """Does one positive-weight teacher's zero force the pooled token to zero (closed domain)?"""
        return False

    @property
    def undefined_note(self) -> str:
        """Where the pool is undefined, in words (the suite appends it to a NaN ``error``); "" if nowhere."""
        return ZERO_FORCING_UNDEFINED if self.zero_forcing else ""

    @property
    def spec(self) -> str:
        if not self.params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={v:g}" for k, v in self.params.items())

    def __call__(self, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        return self.batched(np.asarray(P, float)[None], np.asarray(T, float)[None], np.asarray(w, float)[None])[0]

    def batched(self, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        return softmax(self.scores(log_tau(P, T), w))

    @abstractmethod
    def scores(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Log of the unnormalised pool, ``(N, V)``, from ``log Q`` ``(N, K, V)`` and ``w`` ``(N, K)``."""

    def precise(self, P: list[list[Any]], T: list[Any], w: list[Any], ctx: HighPrecision) -> list[Any]:
        Q = [tau_precise(row, t, ctx) for row, t in zip(P, T)]
        pooled = self.pool_precise(Q, w, ctx)
        total = sum(pooled[1:], pooled[0])
        return [x / total for x in pooled]

    @abstractmethod
    def pool_precise(self, Q: list[list[Any]], w: list[Any], ctx: HighPrecision) -> list[Any]:
        """The unnormalised pool in ``ctx`` arithmetic."""


ZERO_FORCING_UNDEFINED = (
    "The pool is undefined at such an input, not mis-computed: a token that any positive-weight "
    "teacher rules out (Q_k(i) = 0) gets pooled mass 0 here, and when the positive-weight teachers "
    "share no token with positive probability every token gets 0, so q = 0/0. This happens only "
    "on the closed domain (teachers with exact zeros).")


def weighted_log_sum(logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``sum_k w_k log Q_k(i)`` with ``0 * log 0 = 0`` (a zero-weight teacher has no say)."""
    with np.errstate(invalid="ignore"):
        terms = np.where(w[..., None] > 0, w[..., None] * logQ, 0.0)
    return terms.sum(axis=-2)


def geometric_precise(Q: list[list[Any]], w: list[Any], ctx: HighPrecision, scale: Any = 1) -> list[Any]:
    """``prod_k Q_k(i)^(w_k * scale)`` in ``ctx``; a zero with positive weight gives zero."""
    out = []
    for i in range(len(Q[0])):
        if any(ctx.is_zero(row[i]) and not ctx.is_zero(wk) for row, wk in zip(Q, w)):
            out.append(Q[0][i] * 0)
            continue
        s = sum((wk * ctx.log(row[i]) for row, wk in zip(Q, w) if not ctx.is_zero(wk)), ctx.num(0))
        out.append(ctx.exp(s * scale))
    return out
