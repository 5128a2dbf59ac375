"""Random input generators: batches of teachers, temperatures and weights.

Each batch combines one generator for ``P``, one for ``T`` and one for ``w``, so that rare
combinations (peaked teachers *and* extreme temperatures *and* weights near a face) all occur.
Everything is drawn from the ``numpy.random.Generator`` handed in: same seed, same inputs.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from mtkd.theorems import Batch

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


def generate(rng: np.random.Generator, N: int, K: int, V: int) -> Batch:
    """One batch from a randomly chosen (P, T, w) generator triple."""
    gp = P_GENERATORS[rng.integers(len(P_GENERATORS))]
    gt = T_GENERATORS[rng.integers(len(T_GENERATORS))]
    gw = W_GENERATORS[rng.integers(len(W_GENERATORS))]
    P, T, w = gp(rng, N, K, V), gt(rng, N, K), gw(rng, N, K)
    return Batch(P, T, w, f"{gp.__name__}/{gt.__name__}/{gw.__name__}")


DEFAULT_SIZES: tuple[tuple[int, int], ...] = tuple(
    (K, V) for V in (2, 3, 4, 8, 16, 64) for K in (1, 2, 3, 4, 5)
)
"""K from 1 to 5 and V from 2 to 64; every (K, V) pair is visited in turn."""
