"""Operators whose ``axiom1`` counterexamples are hard to hit: the search's quality targets.

Each is the linear pool ``m = sum_k w_k Q_k`` mixed half-half with the uniform vector (so
``min_i q(i) >= 1/(2V)``: no input comes close to violating Axiom 1 by accident), minus a bump
``b(x)`` in ``[0, 1]`` on token 0 that is spread over the other tokens:
``q(0) = m(0)/2 + (1 - 2 b)/(2V)``. So ``q(0) < 0`` (Axiom 1 fails) only where ``b > 1/2 + V m(0)/2``.

``b = 1 / (1 + (d / width)^2)`` with ``d`` a distance to a thin target set. The Cauchy tail
leaves a slope everywhere, which a guided search can follow and a random one cannot see.

* :data:`THIN` — ``Q_0(0)`` within ~1e-3 of 0.002 and ``w_0`` within ~1e-3 of 0.7;
* :data:`THREE` — only with ``K >= 3``, ``w_2`` within ~1e-3 of ``w_1``;
* :data:`TEMPS` — only with unequal temperatures, ``T_0 / T_1`` within ~0.1% of 50;
* :data:`FACE` — only near a face of the weight simplex, ``w_1`` within ~0.2% of ``1e-6``.

The import path ``tests.operators_hard:THIN`` (etc.) works from the repository root.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

import numpy as np

from mtkd.operators.precision import HighPrecision
from mtkd.operators.temperature import tau, tau_precise

Distance = Callable[[Any, Any, Any, Any, Any], Any]
"""``(Q, T, w, K, lib) -> d >= 0``, written once for numpy (``lib = np``) and for a precision context."""


class _Lib:
    """The three functions the distances need, for a precision context (numpy offers them itself)."""

    def __init__(self, ctx: HighPrecision) -> None:
        self.ctx = ctx

    def abs(self, x: Any) -> Any:
        return self.ctx.max([x, -x])

    def log(self, x: Any) -> Any:
        return self.ctx.log(x)


class BumpPool:
    """Half linear pool, half uniform, minus a thin bump on token 0 (see the module docstring)."""

    def __init__(self, name: str, distance: Distance, width: float, min_k: int = 2) -> None:
        self.name, self.distance, self.width, self.min_k = name, distance, width, min_k
        self.__doc__ = f"hard operator {name!r}: half linear pool + thin bump"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_named, (self.name,))  # picklable by name, for worker processes

    def __call__(self, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        return self.batched(np.asarray(P, float)[None], np.asarray(T, float)[None], np.asarray(w, float)[None])[0]

    def batched(self, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        N, K, V = P.shape
        Q = tau(P, T)
        m = np.einsum("nk,nkv->nv", w, Q)
        if K < self.min_k:
            return m / 2 + 1 / (2 * V)
        with np.errstate(divide="ignore"):  # log of an exactly-zero weight: infinitely far, no bump
            b = 1.0 / (1.0 + (self.distance(Q, T, w, K, np) / self.width) ** 2)
        q = m / 2 + 1 / (2 * V) + (b / V)[:, None] / (V - 1)
        q[:, 0] = m[:, 0] / 2 + (1 - 2 * b) / (2 * V)
        return q

    def precise(self, P: list[list[Any]], T: list[Any], w: list[Any], ctx: HighPrecision) -> list[Any]:
        Q = [tau_precise(row, t, ctx) for row, t in zip(P, T)]
        m = [sum((wk * row[i] for row, wk in zip(Q, w)), ctx.num(0)) for i in range(len(Q[0]))]
        if len(P) < self.min_k:
            return [mi / 2 + 1 / ctx.num(2 * len(m)) for mi in m]
        d = self.distance(_Rows(Q), T, w, len(P), _Lib(ctx)) / ctx.num(str(self.width))
        b = 1 / (1 + d * d)
        V, half = len(m), ctx.num(Fraction(1, 2))
        rest = [mi * half + 1 / ctx.num(2 * V) + b / ctx.num(V * (V - 1)) for mi in m[1:]]
        return [m[0] * half + (1 - 2 * b) / ctx.num(2 * V)] + rest


class _Rows:
    """``Q[:, k, i]`` indexing for the precise form, so one distance serves both forms."""

    def __init__(self, Q: list[list[Any]]) -> None:
        self.Q = Q

    def __getitem__(self, idx: tuple[Any, int, int]) -> Any:
        _, k, i = idx
        return self.Q[k][i]


def _col(x: Any, k: int) -> Any:
    """``x[:, k]`` for a numpy batch, ``x[k]`` for a precise list."""
    return x[:, k] if isinstance(x, np.ndarray) else x[k]


THIN = BumpPool("thin", lambda Q, T, w, K, lib: lib.abs(Q[:, 0, 0] - 0.002) + lib.abs(_col(w, 0) - 0.7), 1e-3)
THREE = BumpPool("three", lambda Q, T, w, K, lib: lib.abs(_col(w, 2) - _col(w, 1)) + lib.abs(Q[:, 2, 0] - 0.2),
                 1e-3, min_k=3)
TEMPS = BumpPool("temps", lambda Q, T, w, K, lib: lib.abs(lib.log(_col(T, 0) / _col(T, 1)) - float(np.log(50))),
                 1e-3)
FACE = BumpPool("face", lambda Q, T, w, K, lib: lib.abs(lib.log(_col(w, 1)) - float(np.log(1e-6))), 2e-3)

HARD = {op.name: op for op in (THIN, THREE, TEMPS, FACE)}


def _named(name: str) -> BumpPool:
    return HARD[name]
