"""Probability-domain temperature scaling ``tau_T(p)(i) = p(i)^(1/T) / sum_j p(j)^(1/T)``.

Computed in log space so that ``T = 1e-6`` and ``T = 1e6`` stay finite and correct; zeros stay
zero (closed domain).

>>> import numpy as np
>>> tau(np.array([[0.2, 0.8]]), np.array([1e-6]))
array([[0., 1.]])
>>> np.round(tau(np.array([[0.2, 0.8]]), np.array([1e6])), 6)
array([[0.5, 0.5]])
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .precision import Arithmetic


def log_tau(P: np.ndarray, T: np.ndarray) -> np.ndarray:
    """``log tau_T(P)`` row by row, ``-inf`` at zeros. ``P``: ``(..., V)``, ``T``: ``(...)``."""
    with np.errstate(divide="ignore"):
        z = np.log(P) / np.asarray(T)[..., None]
    top = z.max(axis=-1, keepdims=True)
    z = z - top
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def tau(P: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Temperature-scaled distributions ``Q = tau_T(P)``, same shape as ``P``."""
    return np.exp(log_tau(P, T))


def softmax(scores: np.ndarray) -> np.ndarray:
    """Normalise log-scores over the last axis; ``-inf`` entries become exact zeros."""
    top = scores.max(axis=-1, keepdims=True)
    # A row of all -inf (every token pooled to zero: the pool is undefined) becomes NaN on
    # purpose; the protocol reports it as an error with the operator's explanation.
    with np.errstate(invalid="ignore"):
        e = np.exp(scores - top)
        return e / e.sum(axis=-1, keepdims=True)


def tau_precise(row: Sequence[Any], T: Any, ctx: Arithmetic) -> list[Any]:
    """``tau_T`` on one row of ``ctx`` numbers (exact zeros allowed)."""
    if getattr(ctx, "vectorised", False):
        (lanes,) = row  # the whole row is one vectorised number (operators/precision_float.py)
        return [ctx.tau(lanes, T)]  # type: ignore[attr-defined]
    inv = 1 / T
    powered = [p if ctx.is_zero(p) else ctx.exp(ctx.log(p) * inv) for p in row]
    total = row_sum(powered, ctx)
    return [x / total for x in powered]


def row_sum(values: Sequence[Any], ctx: Arithmetic) -> Any:
    """The sum over a row's tokens; a vectorised context holds the whole row in one number."""
    if getattr(ctx, "vectorised", False):
        (lanes,) = values
        return ctx.total(lanes)  # type: ignore[attr-defined]
    return sum(values[1:], values[0])
