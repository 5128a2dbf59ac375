"""User-style pooling code without precise forms, for the tracing and derivation tests.

Three numpy spellings of the linear pool, a logit average (geometric pool), code whose derived
form disagrees with its float form, code that converts its input to float64, a pool that treats
token 0 specially (not neutral), and a normalised mean of squares.
"""

from __future__ import annotations

import numpy as np


def _log_tau(P, T):
    z = np.log(P) / T[:, None]
    m = z.max(axis=1, keepdims=True)
    return z - (m + np.log(np.exp(z - m).sum(axis=1, keepdims=True)))


def _tau(P, T):
    return np.exp(_log_tau(P, T))


def linear_matmul(P, T, w):
    return w @ _tau(P, T)


def linear_einsum(P, T, w):
    Q = P ** (1 / T[:, None])
    Q = Q / Q.sum(axis=1, keepdims=True)
    return np.einsum("k,kv->v", w, Q)


def _logsumexp(z, axis):
    m = z.max(axis=axis, keepdims=True)
    return m + np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


def linear_logspace(P, T, w):
    with np.errstate(divide="ignore"):
        logw = np.log(w)
    return np.exp(_logsumexp(logw[:, None] + _log_tau(P, T), 0))[0]


def logit_average(P, T, w):
    s = w @ _log_tau(P, T)
    e = np.exp(s - s.max())
    return e / e.sum()


def wrong_derived(P, T, w):
    """On ctx numbers (object arrays) this code silently drops the weights."""
    if P.dtype == object:
        return _tau(P, T).mean(axis=0)
    return w @ _tau(P, T)


def float_cast(P, T, w):
    P = P.astype(np.float64)
    return w @ _tau(P, T)


def token0_boost(P, T, w):
    """Token 0's pooled mass doubled, then renormalised: not neutral."""
    q = w @ _tau(P, T)
    q = q * np.where(np.arange(q.shape[0]) == 0, 2.0, 1.0)
    return q / q.sum()


def mean_of_squares(P, T, w):
    q = w @ _tau(P, T) ** 2
    return q / q.sum()


def linear_below_four(P, T, w):
    """The linear pool for K <= 3 teachers, a logit average from K = 4 on."""
    return linear_matmul(P, T, w) if P.shape[0] <= 3 else logit_average(P, T, w)


def max_pool(P, T, w):
    """q proportional to max_k Q_k (weights ignored), as the built-in ``max``."""
    m = _tau(P, T).max(axis=0)
    return m / m.sum()
