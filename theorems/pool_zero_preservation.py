"""``pool-zero-preservation``: a token every teacher rules out stays ruled out.

Zero preservation (Genest & Zidek 1986): ``Q_k(i) = 0`` for every ``k`` gives ``q(i) = 0``. A
closed-domain statement (on the open domain nothing is zero, so it is vacuous there and reported
``unknown``); see docs/formalization.md. Random teachers almost never share a zero, so the check
*constructs* one: the token that all teachers like least is set to zero in every row (rows
renormalised exactly), and the pool's mass on it is the violation.

>>> from mtkd.operators import load_operator
>>> x = Batch(np.array([[[0.2, 0.8], [0.5, 0.5]]]), np.ones((1, 2)), np.array([[0.5, 0.5]]))
>>> float(PoolZeroPreservation().margins(load_operator("linear"), x, np.random.default_rng(0)).values[0])
-0.0
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
from .property import Batch, ExactPoint, Margins, PreciseMargin, Property, fmt


def zeroed(P: np.ndarray, token: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``P`` with ``token`` (one per input) set to zero in every row, rows renormalised; and which inputs allow it."""
    N, K, V = P.shape
    mask = np.arange(V)[None, None, :] == token[:, None, None]
    out = np.where(mask, 0.0, P)
    total = out.sum(axis=-1, keepdims=True)
    ok = (total > 0).all(axis=(1, 2))  # a teacher with all its mass on the token cannot lose it
    return out / np.where(total > 0, total, 1.0), ok


class PoolZeroPreservation(Property):
    """``Q_k(i) = 0`` for all ``k`` implies ``q(i) = 0``; the margin is ``-|q(i)|`` at the constructed input."""

    id = "pool-zero-preservation"
    title = "Zero preservation (a token all teachers rule out gets no mass)"
    reference = "classical opinion pooling (Genest & Zidek 1986); docs/formalization.md"
    wording = "on the closed domain: if Q_k(i) = 0 for every teacher k, then q(i) = 0."
    closed_only = True
    witness_fields = {"token": WitnessKind.TOKEN}
    smt = Absent("not encoded: the SMT layer encodes the open domain only, where this statement is vacuous")

    def statement(self) -> sp.Basic:
        Q = sp.IndexedBase("Q", nonnegative=True)  # the closed domain: entries may be zero
        all_zero = ForAll(((sy.k, sy.TEACHER_IDS),), sp.Eq(Q[sy.k, sy.i], 0))
        return sy.inputs(ForAll(((sy.i, sy.TOKENS),), sp.Implies(all_zero, sp.Eq(sy.q(sy.i), 0))))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        token = x.P.max(axis=1).argmin(axis=-1)
        P, ok = zeroed(x.P, token)
        # Inputs where the construction is impossible keep their own teachers (margin +inf below).
        q = op.evaluate(np.where(ok[:, None, None], P, x.P), x.T, x.w)
        mass = np.abs(np.take_along_axis(q, token[:, None], -1)[:, 0])
        return Margins(np.where(ok, -mass, np.inf), np.zeros(len(q), bool), {"token": token})

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        i = witness["token"]
        rows = []
        for row in x.P:
            kept = [Fraction(0) if j == i else v for j, v in enumerate(row)]
            total = sum(kept)
            if total == 0:
                return PreciseMargin(ctx.num(1), False, detail={"q(i)": "(not applicable: a teacher is one-hot at i)"})
            rows.append(tuple(v / total for v in kept))
        qi = op.evaluate_precise(tuple(rows), x.T, x.w, ctx)[i]
        return PreciseMargin(-abs(qi), False, detail={"q(i)": fmt(ctx, qi)})

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        i = witness["token"]
        return (f"with token {i} set to probability 0 in every teacher (rows renormalised), the pool still gives it "
                f"q({i}) = {pm.detail['q(i)']}.")
