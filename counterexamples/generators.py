"""Random input generators: batches of teachers, temperatures and weights.

Each batch combines one generator for ``P``, one for ``T`` and one for ``w``, so that rare
combinations (peaked teachers *and* extreme temperatures *and* weights near a face) all occur.
Everything is drawn from the ``numpy.random.Generator`` handed in: same seed, same inputs.

The open domain's teacher generators keep every entry positive (``FLOOR``); the closed domain's
put exact zeros in every input (random patterns, one-hot teachers, disjoint supports, zeros
shared by all teachers), because the open part of the closed domain is the open search's job.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from mtkd.theorems import Batch, Domain

Gen = Callable[[np.random.Generator, int, int, int], np.ndarray]

# Open-domain floor: far below any probability a model emits, far above float64's minimum.
FLOOR = 1e-200


def _normalise(P: np.ndarray) -> np.ndarray:
    return P / P.sum(axis=-1, keepdims=True)


def _dirichlet(alpha: float) -> Gen:
    def gen(rng: np.random.Generator, N: int, K: int, V: int) -> np.ndarray:
        return _normalise(np.maximum(rng.dirichlet(np.full(V, alpha), size=(N, K)), FLOOR))
    gen.__name__ = f"dirichlet({alpha:g})"
    return gen


def near_vertex(rng: np.random.Generator, N: int, K: int, V: int) -> np.ndarray:
    """Peaked teachers: one token takes 1 - eps with eps log-uniform in [1e-9, 1e-1]."""
    eps = 10 ** rng.uniform(-9, -1, size=(N, K, 1))
    top = rng.integers(0, V, size=(N, K))
    P = eps * rng.dirichlet(np.ones(V), size=(N, K))
    np.put_along_axis(P, top[..., None], np.take_along_axis(P, top[..., None], -1) + (1 - eps), -1)
    return _normalise(np.maximum(P, FLOOR))


def near_boundary(rng: np.random.Generator, N: int, K: int, V: int) -> np.ndarray:
    """Some tokens at tiny probability (1e-12..1e-4), the rest Dirichlet."""
    P = rng.dirichlet(np.ones(V), size=(N, K))
    tiny = rng.random((N, K, V)) < 0.4
    P = np.where(tiny, 10 ** rng.uniform(-12, -4, size=(N, K, V)), P)
    return _normalise(P)


def ties(rng: np.random.Generator, N: int, K: int, V: int) -> np.ndarray:
    """Exact ties: repeated teachers and repeated token probabilities."""
    P = rng.dirichlet(np.full(V, 2.0), size=(N, K))
    if V >= 2:
        P[..., 1] = P[..., 0]
    if K >= 2:
        same = rng.random(N) < 0.5
        P[same, 1] = P[same, 0]
    return _normalise(P)


P_GENERATORS: tuple[Gen, ...] = (
    _dirichlet(0.05), _dirichlet(0.3), _dirichlet(1.0), _dirichlet(3.0), _dirichlet(10.0),
    near_vertex, near_boundary, ties,
)


def _on_support(rng: np.random.Generator, support: np.ndarray) -> np.ndarray:
    """Random rows positive exactly on ``support`` (``(N, K, V)`` booleans, each row non-empty).

    The Dirichlet concentration varies per row (0.1..10, log-uniform) so that peaked and flat
    rows both occur; the floor keeps a supported entry from underflowing to a second zero.
    """
    alpha = 10 ** rng.uniform(-1, 1, size=support.shape[:-1] + (1,))
    draws = np.maximum(rng.gamma(np.broadcast_to(alpha, support.shape)), FLOOR)
    return _normalise(np.where(support, draws, 0.0))


def _force(mask: np.ndarray, tokens: np.ndarray, value: bool) -> np.ndarray:
    """``mask`` with ``mask[..., tokens[...]] = value`` along the last axis."""
    out = mask.copy()
    np.put_along_axis(out, tokens[..., None], value, -1)
    return out


def zeros_random(rng: np.random.Generator, N: int, K: int, V: int) -> np.ndarray:
    """Random zero patterns: each row drops a random share of its tokens, keeping at least one
    token and dropping at least one."""
    support = rng.random((N, K, V)) >= rng.uniform(0.2, 0.8, size=(N, K, 1))
    dropped = rng.integers(0, V, size=(N, K))
    kept = (dropped + rng.integers(1, V, size=(N, K))) % V  # a token other than the dropped one
    return _on_support(rng, _force(_force(support, dropped, False), kept, True))


def zeros_one_hot(rng: np.random.Generator, N: int, K: int, V: int) -> np.ndarray:
    """One-hot teachers (teacher 0 always, the others with probability 1/2), the rest dense."""
    hot = rng.random((N, K)) < 0.5
    hot[:, 0] = True
    one_hot = _force(np.zeros((N, K, V), bool), rng.integers(0, V, size=(N, K)), True)
    return _on_support(rng, np.where(hot[..., None], one_hot, True))


def zeros_disjoint(rng: np.random.Generator, N: int, K: int, V: int) -> np.ndarray:
    """Disjoint supports: every teacher owns a token, every token at most one teacher.

    Tokens beyond one per teacher go to a random teacher or to nobody (a zero shared by all);
    a single teacher always leaves one token to nobody, so that it has a zero too. With
    ``K > V`` the supports cannot be disjoint; teacher ``k`` then shares teacher ``k % V``'s.
    """
    first = min(K, V)
    rest = rng.integers(0, K + 1, size=(N, V - first))  # K: owned by nobody
    if K == 1:
        rest[:, -1] = K
    owner_of_token = rng.permuted(np.concatenate([np.broadcast_to(np.arange(first), (N, first)), rest], axis=-1),
                                  axis=-1)
    return _on_support(rng, owner_of_token[:, None, :] == (np.arange(K) % V)[None, :, None])


def zeros_shared(rng: np.random.Generator, N: int, K: int, V: int) -> np.ndarray:
    """Tokens that every teacher rules out (the same zeros in all rows), the rest positive."""
    shared = rng.random((N, 1, V)) < rng.uniform(0.2, 0.8, size=(N, 1, 1))
    dropped = rng.integers(0, V, size=(N, 1))
    kept = (dropped + rng.integers(1, V, size=(N, 1))) % V
    support = _force(_force(~shared, dropped, False), kept, True)
    return _on_support(rng, np.broadcast_to(support, (N, K, V)))


CLOSED_P_GENERATORS: tuple[Gen, ...] = (zeros_random, zeros_one_hot, zeros_disjoint, zeros_shared)
"""Every input they draw has an exact zero in ``P`` (with ``V >= 2``) and a positive entry per row."""


def temps_one(rng: np.random.Generator, N: int, K: int) -> np.ndarray:
    return np.ones((N, K))


def temps_loguniform(rng: np.random.Generator, N: int, K: int) -> np.ndarray:
    """Heterogeneous temperatures, log-uniform in [1e-3, 1e3]."""
    return 10 ** rng.uniform(-3, 3, size=(N, K))


def temps_moderate(rng: np.random.Generator, N: int, K: int) -> np.ndarray:
    """The paper's practical range, 0.5..4, independently per teacher."""
    return rng.uniform(0.5, 4.0, size=(N, K))


def temps_extreme(rng: np.random.Generator, N: int, K: int) -> np.ndarray:
    """Each teacher at 1e-6, 1, or 1e6."""
    return rng.choice(np.array([1e-6, 1.0, 1e6]), size=(N, K))


T_GENERATORS = (temps_one, temps_loguniform, temps_moderate, temps_extreme)


def weights_dirichlet(rng: np.random.Generator, N: int, K: int) -> np.ndarray:
    return rng.dirichlet(np.ones(K), size=N)


def weights_uniform(rng: np.random.Generator, N: int, K: int) -> np.ndarray:
    return np.full((N, K), 1.0 / K)


def weights_face(rng: np.random.Generator, N: int, K: int) -> np.ndarray:
    """Near a face of the simplex: one weight in [1e-9, 1e-2] (or exactly 0 when K >= 3)."""
    if K == 1:
        return np.ones((N, 1))
    w = rng.dirichlet(np.ones(K), size=N)
    j = rng.integers(0, K, size=N)
    small = 10 ** rng.uniform(-9, -2, size=N)
    if K >= 3:
        small = np.where(rng.random(N) < 0.25, 0.0, small)
    w[np.arange(N), j] = small
    rest = 1 - small
    others = np.ones_like(w, dtype=bool)
    others[np.arange(N), j] = False
    w = np.where(others, w / np.where(others, w, 0).sum(-1, keepdims=True) * rest[:, None], w)
    return w


def weights_vertex(rng: np.random.Generator, N: int, K: int) -> np.ndarray:
    """Almost all weight on one teacher: 1 - eps, eps log-uniform in [1e-9, 1e-2]."""
    eps = 10 ** rng.uniform(-9, -2, size=(N, 1))
    w = eps * rng.dirichlet(np.ones(K), size=N)
    j = rng.integers(0, K, size=N)
    w[np.arange(N), j] += 1 - eps[:, 0]
    return w


W_GENERATORS = (weights_dirichlet, weights_uniform, weights_face, weights_vertex)


def generate(rng: np.random.Generator, N: int, K: int, V: int, domain: Domain = Domain.OPEN) -> Batch:
    """One batch from a randomly chosen (P, T, w) generator triple, ``P`` drawn for ``domain``."""
    p_generators = P_GENERATORS if domain is Domain.OPEN else CLOSED_P_GENERATORS
    gp = p_generators[rng.integers(len(p_generators))]
    gt = T_GENERATORS[rng.integers(len(T_GENERATORS))]
    gw = W_GENERATORS[rng.integers(len(W_GENERATORS))]
    P, T, w = gp(rng, N, K, V), gt(rng, N, K), gw(rng, N, K)
    return Batch(P, T, w, f"{gp.__name__}/{gt.__name__}/{gw.__name__}")


def size_cycle(ks: tuple[int, ...], vs: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Every ``(K, V)`` pair once, ordered so that a short search already sees every K and every V.

    Greedy: each next pair is the first (in V-major order) that brings a K and a V not yet seen in
    the current round; a round ends when every K and V has been seen. A search that stops after a
    few steps therefore still reaches V = 64 and K = 5.

    >>> size_cycle((1, 2), (2, 3, 4))
    ((1, 2), (2, 3), (1, 4), (2, 2), (1, 3), (2, 4))
    """
    left = [(k, v) for v in vs for k in ks]
    order: list[tuple[int, int]] = []
    seen_k: set[int] = set()
    seen_v: set[int] = set()
    while left:
        if seen_k >= set(ks) and seen_v >= set(vs):
            seen_k, seen_v = set(), set()
        pick = max(left, key=lambda p: (p[0] not in seen_k) + (p[1] not in seen_v))
        left.remove(pick)
        order.append(pick)
        seen_k.add(pick[0])
        seen_v.add(pick[1])
    return tuple(order)


DEFAULT_KS: tuple[int, ...] = (1, 2, 3, 4, 5)
DEFAULT_VS: tuple[int, ...] = (2, 3, 4, 8, 16, 64)
DEFAULT_SIZES: tuple[tuple[int, int], ...] = size_cycle(DEFAULT_KS, DEFAULT_VS)
"""K from 1 to 5 and V from 2 to 64; every (K, V) pair is visited in turn, all K and V early."""
