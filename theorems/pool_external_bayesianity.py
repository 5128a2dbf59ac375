"""``pool-external-bayesianity``: updating the teachers by a likelihood commutes with pooling.

External Bayesianity (Madansky 1964; Genest, McConway & Schervish, "Characterization of
externally Bayesian pooling operators", Ann. Statist. 14, 1986): for a positive likelihood
``λ``, pooling the updated teachers ``λ ⊙ Q_k / <λ, Q_k>`` equals updating the pool,
``λ ⊙ q / <λ, q>``. Stated with every ``T_k = 1`` (docs/formalization.md). The geometric
(logarithmic) pool has it; the linear pool does not.

>>> from mtkd.operators import load_operator
>>> x = Batch(np.array([[[0.2, 0.8], [0.6, 0.4]]]), np.ones((1, 2)), np.array([[0.5, 0.5]]))
>>> rng = np.random.default_rng(0)
>>> bool(PoolExternalBayesianity().margins(load_operator("linear"), x, rng).values[0] < -1e-3)
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
from .notation import ForAll, NamedSet
from .parts import Absent, WitnessKind
from .property import Batch, ExactPoint, Margins, PreciseMargin, Property, equality_margin, equality_margins

LIKELIHOODS = NamedSet("(0,∞)^V", r"(0,\infty)^V")


def update(P: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Bayes' rule on the last axis: ``λ ⊙ p / <λ, p>``."""
    u = P * lam
    return u / u.sum(axis=-1, keepdims=True)


class PoolExternalBayesianity(Property):
    """``G(update(P, λ), 1, w) = update(G(P, 1, w), λ)``; margin ``-max_i |difference|``."""

    id = "pool-external-bayesianity"
    title = "External Bayesianity (updating by a likelihood commutes with pooling; at T = 1)"
    reference = "Madansky (1964); Genest, McConway & Schervish (1986); docs/formalization.md"
    wording = "with all T_k = 1 and every likelihood lam > 0: G(lam*P_k/<lam,P_k>) = lam*q/<lam,q>."
    witness_fields = {"likelihood": WitnessKind.PER_TOKEN, "token": WitnessKind.TOKEN}
    smt = Absent("not encoded: search and certification decide it")

    def statement(self) -> sp.Basic:
        lam, ones, j = sp.IndexedBase("λ"), sp.Symbol("𝟙"), sy.j
        updated = sp.Symbol("P_λ")  # row k: λ ⊙ P_k / <λ, P_k>
        lhs = sy.G(updated, ones, sy.wv, sy.i)
        rhs = lam[sy.i] * sy.G(sy.Pv, ones, sy.wv, sy.i) / sp.Sum(lam[j] * sy.G(sy.Pv, ones, sy.wv, j), (j, 1, sy.V))
        return ForAll(((sy.Pv, sy.TEACHERS), (sy.wv, sy.WEIGHTS), (sp.Symbol("λ"), LIKELIHOODS), (sy.i, sy.TOKENS)),
                      sp.Eq(lhs, rhs))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        N, K, V = x.shape
        lam = np.exp(rng.uniform(-3.0, 3.0, size=(N, V)))
        ones = np.ones((N, K))
        updated, q = op.evaluate_together([(update(x.P, lam[:, None, :]), ones, x.w), (x.P, ones, x.w)])
        return equality_margins(updated - update(q, lam), {"likelihood": lam})

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        lam = [Fraction(v) for v in witness["likelihood"]]
        i = witness["token"]
        ones = tuple(Fraction(1) for _ in range(x.K))
        rows = []
        for row in x.P:
            u = [p * l for p, l in zip(row, lam)]
            rows.append(tuple(v / sum(u) for v in u))
        lhs = op.evaluate_precise(tuple(rows), ones, x.w, ctx)[i]
        q = op.evaluate_precise(x.P, ones, x.w, ctx)
        z = sum((ctx.num(l) * v for l, v in zip(lam, q)), ctx.num(0))
        rhs = ctx.num(lam[i]) * q[i] / z
        return equality_margin(ctx, lhs, rhs, ("pool of updated", "updated pool"))

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        i = witness["token"]
        return (f"updating every teacher by the likelihood in the witness and then pooling gives q({i}) = "
                f"{pm.detail['pool of updated']}, pooling and then updating gives {pm.detail['updated pool']} "
                "(all T = 1): the pool is not externally Bayesian.")
