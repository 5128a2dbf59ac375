"""Guided refinement: push the margin down by an evolution strategy in unconstrained coordinates.

Random sampling finds violations that fill a noticeable share of the input space. Violations in
a thin region (a band of weights, a ratio of temperatures, one probability near a value) are
found by following the margin downhill from the best random points. The coordinates are
unconstrained so that every step stays admissible: softmax logits for each row of ``P`` and for
``w``, and ``log T``.

Refinement never changes which entries of ``P`` are zero: the logits move only the positive
entries, and exact zeros of a seed point (closed domain) stay exact zeros in every child. So a
closed-domain search refines *within* a zero pattern and an open-domain one never creates zeros;
the zero patterns themselves come from the random generators. Each generation is one :class:`~mtkd.theorems.Batch` evaluated by
``Property.margins`` in a single vectorised call.

The strategy is a (1+lambda) evolution strategy per parent with the 1/5th-success step-size
rule. A mutation moves one block only (a teacher's row, the temperatures, or the weights),
because an isotropic step in ``K * V`` dimensions almost never improves the one coordinate that
matters when ``V`` is large.

>>> import numpy as np
>>> from mtkd.operators import load_operator
>>> from mtkd.theorems import get_property
>>> from mtkd.counterexamples.generators import generate
>>> rng = np.random.default_rng(0)
>>> op, prop = load_operator("geometric"), get_property("prop-IV.11")
>>> x = generate(rng, 16, 2, 3)
>>> start = prop.margins(op, x, rng).values.min()
>>> y, m, sigma = refine(op, prop, x, prop.margins(op, x, rng), rng)
>>> bool(m.values.min() <= start)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mtkd.operators import Operator
from mtkd.theorems import Batch, Margins, Property

from .generators import FLOOR

LOG_T_RANGE = (np.log(0.05), np.log(20.0))
"""Refined temperatures stay moderate: with ``p >= GUIDED_FLOOR`` no ``Q`` entry underflows to an
exact zero, which would be a margin-0 plateau the descent cannot leave. Extreme temperatures
are the random generators' job."""

LOG_FLOOR = float(np.log(FLOOR))

GUIDED_FLOOR = 1e-9
"""Refined teachers keep every probability above this. A margin that is a minimum over tokens
(``axiom1``, ``axiom2``) otherwise "improves" forever by driving some unrelated token towards
zero; tinier probabilities are the random generators' job."""


@dataclass(frozen=True)
class GuidedConfig:
    """Shape of one refinement: ``parents * children * generations`` operator inputs in total."""

    parents: int = 4
    children: int = 16
    generations: int = 8
    sigma: float = 1.0
    """Initial step in logit / log-temperature units."""
    log_t_range: tuple[float, float] = LOG_T_RANGE
    """Refined temperatures stay in this range (``LOG_T_RANGE``, narrowed by ``--temperature-range``)."""

    def inputs(self) -> int:
        return self.parents * (1 + self.children * self.generations)


@dataclass(frozen=True)
class Coordinates:
    """Unconstrained coordinates of ``N`` inputs: row logits of ``P``, ``log T``, weight logits.

    ``zeros`` marks the exact zeros of ``P``, which decoding keeps exactly zero whatever ``L`` says.
    """

    L: np.ndarray
    logT: np.ndarray
    u: np.ndarray
    zeros: np.ndarray

    @classmethod
    def of(cls, x: Batch) -> "Coordinates":
        with np.errstate(divide="ignore"):
            L = np.maximum(np.log(x.P), LOG_FLOOR)
            u = np.maximum(np.log(x.w), LOG_FLOOR)
        return cls(L, np.log(x.T), u, x.P == 0)

    def batch(self, generator: str, log_t_range: tuple[float, float] = LOG_T_RANGE) -> Batch:
        P = _softmax(np.where(self.zeros, -np.inf, self.L))
        P = np.where(self.zeros, 0.0, np.maximum(P, GUIDED_FLOOR))
        P = P / P.sum(-1, keepdims=True)
        T = np.exp(np.clip(self.logT, *log_t_range))
        return Batch(P, T, _softmax(self.u), generator)

    def take(self, idx: np.ndarray) -> "Coordinates":
        return Coordinates(self.L[idx], self.logT[idx], self.u[idx], self.zeros[idx])


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _score(m: Margins) -> np.ndarray:
    """Lower is better; an input without an admissible witness (``inf``, ``nan``) is worst."""
    return np.where(np.isfinite(m.values), m.values, np.inf)


def _mutate(c: Coordinates, sigma: np.ndarray, rng: np.random.Generator) -> Coordinates:
    """One block-sparse Gaussian step per row of ``c`` (rows already repeated per child)."""
    N, K, V = c.L.shape
    block = rng.integers(0, K + 2, size=N)  # 0..K-1: a teacher row, K: temperatures, K+1: weights
    L, logT, u = c.L.copy(), c.logT.copy(), c.u.copy()
    rows = np.flatnonzero(block < K)
    # Touch a random subset of the row's tokens: a few at large V, all of them at small V.
    share = min(1.0, 4.0 / V)
    mask = rng.random((len(rows), V)) < share
    mask[np.arange(len(rows)), rng.integers(0, V, size=len(rows))] = True
    L[rows, block[rows]] += np.where(mask, sigma[rows, None] * rng.standard_normal((len(rows), V)), 0.0)
    t = block == K
    logT[t] += sigma[t, None] * rng.standard_normal((int(t.sum()), K))
    wt = block == K + 1
    u[wt] += sigma[wt, None] * rng.standard_normal((int(wt.sum()), K))
    return Coordinates(L, logT, u, c.zeros)


def refine(op: Operator, prop: Property, x: Batch, m: Margins, rng: np.random.Generator,
           config: GuidedConfig = GuidedConfig(), sigma: np.ndarray | None = None
           ) -> tuple[Batch, Margins, np.ndarray]:
    """Descend the margin from the ``parents`` best inputs of ``x``; return the final parents.

    ``sigma`` continues an earlier refinement of the same parents (their step sizes, returned
    third). Exactly ``config.inputs()`` operator inputs are evaluated whatever happens, so that a
    run's amount of work (and therefore its result) depends only on the seed. Raises
    ``OperatorFailure`` if the operator misbehaves on a refined input.
    """
    order = np.argsort(_score(m), kind="stable")[: config.parents]
    parents = Coordinates.of(x.take(order))
    generator = f"guided<{x.generator}>"
    # Re-evaluate: decoding clamps the start into the refined region (floor, temperature range).
    best_m = prop.margins(op, parents.batch(generator, config.log_t_range), rng)
    best = _score(best_m)
    P = len(order)
    sigma = np.full(P, config.sigma) if sigma is None else np.asarray(sigma)[order]
    for _ in range(config.generations):
        rep = np.repeat(np.arange(P), config.children)
        kids = _mutate(parents.take(rep), sigma[rep], rng)
        y = kids.batch(generator, config.log_t_range)
        km = prop.margins(op, y, rng)
        ks = _score(km).reshape(P, config.children)
        pick = ks.argmin(axis=1)
        flat = np.arange(P) * config.children + pick
        improved = ks[np.arange(P), pick] < best
        # 1/5th rule: widen after a success, narrow after a failure (bounded both ways).
        sigma = np.clip(np.where(improved, sigma * 1.5, sigma * 0.6), 1e-7, 8.0)
        winners = kids.take(flat)
        parents = Coordinates(np.where(improved[:, None, None], winners.L, parents.L),
                              np.where(improved[:, None], winners.logT, parents.logT),
                              np.where(improved[:, None], winners.u, parents.u), parents.zeros)
        best = np.where(improved, ks[np.arange(P), pick], best)
        best_m = _merge(best_m, km.take(flat), improved)
    return parents.batch(generator, config.log_t_range), best_m, sigma


def top(x: Batch, m: Margins, n: int) -> tuple[Batch, Margins]:
    """The ``n`` inputs of ``x`` with the lowest margins (stable order)."""
    order = np.argsort(_score(m), kind="stable")[:n]
    return x.take(order), m.take(order)


def concat(a: tuple[Batch, Margins], b: tuple[Batch, Margins]) -> tuple[Batch, Margins]:
    """Two same-size batches with their margins as one."""
    (x, m), (y, n) = a, b
    return (Batch(np.concatenate([x.P, y.P]), np.concatenate([x.T, y.T]), np.concatenate([x.w, y.w]), y.generator),
            m.joined(n))


def _merge(old: Margins, new: Margins, use_new: np.ndarray) -> Margins:
    def pick(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        a, b = np.asarray(a), np.asarray(b)
        mask = use_new.reshape((-1,) + (1,) * (a.ndim - 1))
        return np.where(mask, b, a)

    keys = old.shared_keys(new)
    return Margins(pick(old.values, new.values), pick(old.strict, new.strict),
                   {k: pick(old.witness[k], new.witness[k]) for k in keys})
