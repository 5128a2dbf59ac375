"""``pool-unanimity``: when every teacher says the same ``p``, the pool says ``p``.

Unanimity (the "zero-one" or consensus property of opinion pooling; Genest & Zidek, "Combining
probability distributions", Statist. Sci. 1, 1986). Stated on the temperature-scaled teachers:
``Q_k = p`` for every ``k`` gives ``q = p``. The check builds the unanimous input from each
teacher's raw row ``p_k`` (every teacher ``p_k``, every ``T = 1``, the input's weights), so the
point stays exact and rational for certification; see docs/formalization.md.

>>> from mtkd.operators import load_operator
>>> import numpy as np
>>> x = Batch(np.array([[[0.2, 0.8], [0.5, 0.5]]]), np.ones((1, 2)), np.array([[0.5, 0.5]]))
>>> m = PoolUnanimity().margins(load_operator("linear"), x, np.random.default_rng(0))
>>> bool(m.values[0] > -1e-15)  # zero up to round-off: the linear pool reproduces unanimity
True
>>> m = PoolUnanimity().margins(load_operator("entropic:beta=1"), x, np.random.default_rng(0))
>>> bool(m.values[0] < -0.05)
True
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

import numpy as np
import sympy as sp

from mtkd.operators import Operator
from mtkd.operators.precision import Context

from . import symbols as sy
from .notation import ForAll
from .parts import Absent, WitnessKind
from .property import Batch, ExactPoint, Margins, PreciseMargin, Property, equality_margin


class PoolUnanimity(Property):
    """``Q_k = p`` for all ``k`` implies ``q = p``; the margin is ``-max_i |q(i) - p(i)|`` (zero where it holds)."""

    id = "pool-unanimity"
    title = "Unanimity (teachers that agree are reproduced)"
    reference = "classical opinion pooling (Genest & Zidek 1986); docs/formalization.md"
    wording = "if Q_k = p for every teacher k, then q = p."
    witness_fields = {"k": WitnessKind.TEACHER, "token": WitnessKind.TOKEN}
    smt = Absent("not encoded: search and certification decide it (an equality of pools, cheap to refute exactly)")

    def statement(self) -> sp.Basic:
        agree = ForAll(((sy.k, sy.TEACHER_IDS), (sy.i, sy.TOKENS)), sp.Eq(sy.Q[sy.k, sy.i], sy.Q[1, sy.i]))
        return sy.inputs(sp.Implies(agree, ForAll(((sy.i, sy.TOKENS),), sp.Eq(sy.q(sy.i), sy.Q[1, sy.i]))))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        N, K, V = x.shape
        best = np.full(N, np.inf)
        wk, wi = np.zeros(N, int), np.zeros(N, int)
        agreeing = [(np.repeat(x.P[:, k, None, :], K, axis=1), np.ones((N, K)), x.w) for k in range(K)]
        for k, q in enumerate(op.evaluate_together(agreeing)):  # one call for every k
            gap = np.abs(q - x.P[:, k])
            m = -gap.max(axis=-1)
            better = m < best
            best, wk, wi = np.where(better, m, best), np.where(better, k, wk), np.where(better, gap.argmax(-1), wi)
        return Margins(best, np.zeros(N, bool), {"k": wk, "token": wi})

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        k, i = witness["k"], witness["token"]
        q = op.evaluate_precise(tuple(x.P[k] for _ in range(x.K)), tuple(Fraction(1) for _ in range(x.K)), x.w, ctx)
        p = ctx.num(x.P[k][i])
        return equality_margin(ctx, q[i], p, ("q(i)", "p(i)"))

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        k, i = witness["k"], witness["token"]
        return (f"every teacher set to teacher {k}'s distribution p (all T = 1), yet the pool moves away from it: "
                f"q({i}) = {pm.detail['q(i)']} but p({i}) = {pm.detail['p(i)']}.")
