"""``pool-anonymity``: the teachers' order does not matter.

Anonymity (symmetry of the pool in the teachers; Genest & Zidek 1986): permuting the teachers
together with their weights and temperatures leaves ``q`` unchanged. See docs/formalization.md.

>>> from mtkd.operators import load_operator
>>> x = Batch(np.array([[[0.2, 0.8], [0.5, 0.5]]]), np.array([[1.0, 2.0]]), np.array([[0.3, 0.7]]))
>>> float(PoolAnonymity().margins(load_operator("geometric"), x, np.random.default_rng(0)).values[0]) > -1e-15
True
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import sympy as sp

from mtkd.operators import Operator
from mtkd.operators.precision import Context

from . import symbols as sy
from .notation import ForAll, NamedSet
from .parts import Absent, WitnessKind
from .property import Batch, ExactPoint, Margins, PreciseMargin, Property, equality_margin, equality_margins

SIGMA = sp.Symbol("σ")
PERMUTATIONS_K = NamedSet("S_K", r"S_K")


class PoolAnonymity(Property):
    """``G(P_σ, T_σ, w_σ) = G(P, T, w)`` for a permutation ``σ`` of the teachers; margin ``-max_i |difference|``."""

    id = "pool-anonymity"
    title = "Anonymity (permuting teachers with their weights and temperatures changes nothing)"
    reference = "classical opinion pooling (Genest & Zidek 1986); docs/formalization.md"
    wording = "for every permutation s of the teachers: G(P[s], T[s], w[s]) = G(P, T, w)."
    witness_fields = {"teacher_perm": WitnessKind.TEACHER_PERMUTATION, "token": WitnessKind.TOKEN}
    smt = Absent("not encoded: the SMT encodings assume anonymity to reduce symmetric cases, so they cannot test it")

    def statement(self) -> sp.Basic:
        permuted = sy.G(sp.Symbol("P_σ"), sp.Symbol("T_σ"), sp.Symbol("w_σ"), sy.i)  # rows / entries reordered by σ
        return sy.inputs(ForAll(((SIGMA, PERMUTATIONS_K), (sy.i, sy.TOKENS)), sp.Eq(permuted, sy.q(sy.i))))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        N, K, V = x.shape
        perm = rng.permutation(K)
        permuted, q = op.evaluate_together([(x.P[:, perm], x.T[:, perm], x.w[:, perm]), (x.P, x.T, x.w)])
        return equality_margins(permuted - q, {"teacher_perm": np.broadcast_to(perm, (N, K))})

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        perm, i = witness["teacher_perm"], witness["token"]
        a = op.evaluate_precise(tuple(x.P[k] for k in perm), tuple(x.T[k] for k in perm),
                                tuple(x.w[k] for k in perm), ctx)[i]
        b = op.evaluate_precise(x.P, x.T, x.w, ctx)[i]
        return equality_margin(ctx, a, b, ("permuted", "original"))

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        return (f"reordering the teachers as {list(witness['teacher_perm'])} (weights and temperatures with them) "
                f"changes q({witness['token']}) from {pm.detail['original']} to {pm.detail['permuted']}.")
