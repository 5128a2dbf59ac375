"""Real-world-style pooling operators, written the way public KD code writes them.

Each is a plain ``op(P, T, w)`` (numpy unless named ``torch_*``); some also have a batched and/or a
precise form. The statements each one satisfies or violates are in ``tests/cover/test_zoo.py``,
decided independently (by hand and by the 60-digit referee in ``tests/referee.py``).
"""

from __future__ import annotations

import numpy as np


def _tau(P: np.ndarray, T: np.ndarray) -> np.ndarray:
    z = np.log(P) / T[..., None]
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def mean_logits(P, T, w):
    """Weighted mean of temperature-scaled logits, then softmax (a geometric pool), float-only."""
    z = np.log(P) / T[:, None]
    z = z - z.max(axis=-1, keepdims=True)
    logq = w @ (z - np.log(np.exp(z).sum(axis=-1, keepdims=True)))
    e = np.exp(logq - logq.max())
    return e / e.sum()


def mean_logits_batched(P, T, w):
    """The same pool with a batched form."""
    return mean_logits(P, T, w)


def _mean_logits_batch(P, T, w):
    z = np.log(P) / T[..., None]
    z = z - z.max(axis=-1, keepdims=True)
    logQ = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    logq = np.einsum("nk,nkv->nv", w, logQ)
    e = np.exp(logq - logq.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


mean_logits_batched.batched = _mean_logits_batch


def confidence_pool(P, T, w):
    """Teachers re-weighted by their confidence (max probability), then averaged."""
    Q = _tau(P, T)
    a = w * Q.max(axis=-1)
    return (a / a.sum()) @ Q


def entropy_pool(P, T, w):
    """Teachers re-weighted by exp(-entropy), then averaged (confident teachers count more)."""
    Q = _tau(P, T)
    H = -(Q * np.log(np.maximum(Q, 1e-300))).sum(axis=-1)
    a = w * np.exp(-H)
    return (a / a.sum()) @ Q


def topk_fusion(P, T, w):
    """FuseLLM-style: each teacher keeps its top-2 tokens, the kept mass is averaged and renormalised."""
    Q = _tau(P, T)
    keep = np.zeros_like(Q)
    idx = np.argsort(-Q, axis=-1, kind="stable")[:, :2]
    np.put_along_axis(keep, idx, np.take_along_axis(Q, idx, -1), -1)
    q = w @ keep
    return q / q.sum()


def logsumexp_linear(P, T, w):
    """A correct linear pool in log space: q = exp(logsumexp_k(log w_k + log Q_k)).

    Logits are centred by their mean (common practice), which is NaN on a one-hot teacher: the
    operator is undefined outside the open domain, where no statement asks for it.
    """
    logp = np.log(P)
    z = (logp - logp.mean(axis=-1, keepdims=True)) / T[:, None]
    top = z.max(axis=-1, keepdims=True)
    logQ = z - top - np.log(np.exp(z - top).sum(axis=-1, keepdims=True))
    with np.errstate(divide="ignore"):
        a = np.log(w)[:, None] + logQ
    m = a.max(axis=0)
    return np.exp(m + np.log(np.exp(a - m).sum(axis=0)))


def weight_blind_max(P, T, w):
    """Max-confidence pooling: q proportional to max_k Q_k; the weights are ignored."""
    m = _tau(P, T).max(axis=0)
    return m / m.sum()


def readme_pool(P, T, w):
    """The README's example (P ** (1/T)): underflows to 0/0 at T = 1e-6."""
    Q = P ** (1 / T[:, None])
    Q /= Q.sum(axis=1, keepdims=True)
    return w @ Q


def _readme_batched(P, T, w):
    Q = P ** (1 / T[..., None])
    Q /= Q.sum(axis=-1, keepdims=True)
    return np.einsum("nk,nkv->nv", w, Q)


def _readme_precise(P, T, w, ctx):
    Q = []
    for row, t in zip(P, T):
        powered = [ctx.exp(ctx.log(p) / t) for p in row]
        Q.append([x / sum(powered) for x in powered])
    return [sum(wk * Qk[i] for wk, Qk in zip(w, Q)) for i in range(len(Q[0]))]


readme_pool.batched, readme_pool.precise = _readme_batched, _readme_precise


def geometric_tiny_weight(P, T, w):
    """Weighted geometric pool, float-only (its T -> 0 limit is slow when a weight is tiny)."""
    return mean_logits(P, T, w)


def linear_with_precise(P, T, w):
    """A linear pool with a precise form (every form is the same operator)."""
    return w @ _tau(P, T)


def _tau_precise(P, T, ctx):
    """The temperature-scaled teachers in ``ctx`` arithmetic, as a user's precise form computes them."""
    Q = []
    for row, t in zip(P, T):
        powered = [ctx.exp(ctx.log(p) / t) for p in row]
        total = sum(powered[1:], powered[0])
        Q.append([x / total for x in powered])
    return Q


def _linear_precise(P, T, w, ctx):
    Q = _tau_precise(P, T, ctx)
    return [sum((wk * Qk[i] for wk, Qk in zip(w, Q)), ctx.num(0)) for i in range(len(Q[0]))]


linear_with_precise.precise = _linear_precise


def lying_precise(P, T, w):
    """A linear pool whose precise form is geometric: the forms disagree (must be an error)."""
    return w @ _tau(P, T)


def _geometric_precise(P, T, w, ctx):
    Q = _tau_precise(P, T, ctx)
    raw = [ctx.exp(sum((wk * ctx.log(Qk[i]) for wk, Qk in zip(w, Q)), ctx.num(0))) for i in range(len(Q[0]))]
    total = sum(raw[1:], raw[0])
    return [r / total for r in raw]


lying_precise.precise = _geometric_precise


def float64_disguise(P, T, w):
    """A linear pool whose "precise" form converts to float64 inside (not really precise)."""
    return w @ _tau(P, T)


def _disguised(P, T, w, ctx):
    Pf = np.array([[float(ctx.to_str(v, 30).strip("[]").split(",")[0]) if not isinstance(v, (int, float)) else v
                    for v in row] for row in P])
    Tf = np.array([float(ctx.to_str(t, 30).strip("[]").split(",")[0]) for t in T])
    wf = [float(ctx.to_str(v, 30).strip("[]").split(",")[0]) for v in w]
    Q = _tau(Pf, Tf)
    return [sum((wk * ctx.num(str(float(Qk[i]))) for wk, Qk in zip(wf, Q)), ctx.num(0)) for i in range(Q.shape[1])]


float64_disguise.precise = _disguised
