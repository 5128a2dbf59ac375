"""Operators with a jump (Axiom 4 fails), each with float64, batched and precise forms.

* :data:`THRESHOLD` — the linear pool with every pooled entry below ``1e-6`` set to zero, then
  renormalised: it jumps where an entry of ``q`` crosses ``1e-6``, a thin set the old relative
  probes never reached;
* :data:`ARGMAX` — the scaled teacher with the largest weight (the first on ties): jumps where two
  weights tie;
* :data:`SWITCH` — linear pooling while ``max_k w_k > 1/2``, geometric otherwise: jumps where the
  largest weight crosses one half.

The import paths ``tests.operators_jumps:THRESHOLD`` (etc.) work from the repository root.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

import numpy as np

from mtkd.operators.precision import HighPrecision
from mtkd.operators.builtin import weighted_log_sum
from mtkd.operators.temperature import log_tau, softmax, tau, tau_precise

CUT = 1e-6


def _less(a: Any, b: Any) -> bool:
    """``a < b`` for ctx numbers; an interval comparison that cannot be decided raises."""
    got = a < b
    if got is None:
        raise ArithmeticError("comparison undecided by the interval enclosure")
    return bool(got)


class _Jumpy:
    def __init__(self, name: str, batched: Callable[..., np.ndarray], precise: Callable[..., list[Any]]) -> None:
        self.name, self.batched, self.precise = name, batched, precise
        self.__doc__ = f"operator with a jump: {name}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_named, (self.name,))

    def __call__(self, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        return self.batched(np.asarray(P, float)[None], np.asarray(T, float)[None], np.asarray(w, float)[None])[0]


def _threshold_batched(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    q = np.einsum("nk,nkv->nv", w, tau(P, T))
    q = np.where(q < CUT, 0.0, q)
    return q / q.sum(-1, keepdims=True)


def _threshold_precise(P: list[list[Any]], T: list[Any], w: list[Any], ctx: HighPrecision) -> list[Any]:
    Q = [tau_precise(row, t, ctx) for row, t in zip(P, T)]
    q = [sum((wk * row[i] for row, wk in zip(Q, w)), ctx.num(0)) for i in range(len(P[0]))]
    cut = ctx.num(Fraction(1, 10**6))
    q = [v * 0 if _less(v, cut) else v for v in q]
    total = sum(q[1:], q[0])
    return [v / total for v in q]


def _top(w: np.ndarray) -> np.ndarray:
    return np.argmax(w, axis=-1)


def _argmax_batched(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    return tau(P, T)[np.arange(len(w)), _top(w)]


def _argmax_precise(P: list[list[Any]], T: list[Any], w: list[Any], ctx: HighPrecision) -> list[Any]:
    best = 0
    for k in range(1, len(w)):
        if _less(w[best], w[k]):
            best = k
    return tau_precise(P[best], T[best], ctx)


def _switch_batched(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    logQ = log_tau(P, T)
    linear = np.einsum("nk,nkv->nv", w, np.exp(logQ))
    geo = softmax(weighted_log_sum(logQ, w))
    return np.where((w.max(-1) > 0.5)[:, None], linear, geo)


def _switch_precise(P: list[list[Any]], T: list[Any], w: list[Any], ctx: HighPrecision) -> list[Any]:
    Q = [tau_precise(row, t, ctx) for row, t in zip(P, T)]
    half = ctx.num(Fraction(1, 2))
    if any(_less(half, wk) for wk in w):
        return [sum((wk * row[i] for row, wk in zip(Q, w)), ctx.num(0)) for i in range(len(P[0]))]
    scores = [ctx.exp(sum((wk * ctx.log(row[i]) for row, wk in zip(Q, w)), ctx.num(0))) for i in range(len(P[0]))]
    total = sum(scores[1:], scores[0])
    return [s / total for s in scores]


THRESHOLD = _Jumpy("threshold", _threshold_batched, _threshold_precise)
ARGMAX = _Jumpy("argmax", _argmax_batched, _argmax_precise)
SWITCH = _Jumpy("switch", _switch_batched, _switch_precise)

JUMPY = {op.name: op for op in (THRESHOLD, ARGMAX, SWITCH)}


def _named(name: str) -> _Jumpy:
    return JUMPY[name]
