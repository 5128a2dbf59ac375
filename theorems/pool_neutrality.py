"""``pool-neutrality``: every token is treated alike.

Neutrality (the pool is the same function of each token's column; Genest & Zidek 1986):
permuting the tokens of every teacher permutes ``q`` the same way. See docs/formalization.md.

>>> from mtkd.operators import load_operator
>>> x = Batch(np.array([[[0.2, 0.8], [0.5, 0.5]]]), np.ones((1, 2)), np.array([[0.3, 0.7]]))
>>> float(PoolNeutrality().margins(load_operator("linear"), x, np.random.default_rng(0)).values[0]) > -1e-15
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

PI = sp.Function("π")
PERMUTATIONS_V = NamedSet("S_V", r"S_V")


class PoolNeutrality(Property):
    """``G(P∘π, T, w)(i) = G(P, T, w)(π(i))`` for a permutation ``π`` of the tokens; margin ``-max_i |difference|``."""

    id = "pool-neutrality"
    title = "Neutrality (permuting tokens permutes q)"
    reference = "classical opinion pooling (Genest & Zidek 1986); docs/formalization.md"
    wording = "for every permutation p of the tokens: G(P[:, p], T, w) = G(P, T, w)[p]."
    witness_fields = {"token_perm": WitnessKind.TOKEN_PERMUTATION, "token": WitnessKind.TOKEN}
    smt = Absent("not encoded: the SMT encodings assume neutrality (token 0 stands for every token)")

    def statement(self) -> sp.Basic:
        permuted = sy.G(sp.Symbol("P_π"), sy.Tv, sy.wv, sy.i)  # every row's tokens reordered by π
        pi = sp.Symbol("π")
        return sy.inputs(ForAll(((pi, PERMUTATIONS_V), (sy.i, sy.TOKENS)), sp.Eq(permuted, sy.q(PI(sy.i)))))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        N, K, V = x.shape
        perm = rng.permutation(V)
        permuted, q = op.evaluate_together([(x.P[..., perm], x.T, x.w), (x.P, x.T, x.w)])
        return equality_margins(permuted - q[:, perm], {"token_perm": np.broadcast_to(perm, (N, V))})

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        perm, i = witness["token_perm"], witness["token"]
        a = op.evaluate_precise(tuple(tuple(row[j] for j in perm) for row in x.P), x.T, x.w, ctx)[i]
        b = op.evaluate_precise(x.P, x.T, x.w, ctx)[perm[i]]
        return equality_margin(ctx, a, b, ("permuted", "original"))

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        perm, i = witness["token_perm"], witness["token"]
        return (f"permuting the tokens as {list(perm)} should move q({perm[i]}) = {pm.detail['original']} to "
                f"position {i}, but the pool gives {pm.detail['permuted']} there.")
