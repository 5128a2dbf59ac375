"""``pool-marginalization``: merging tokens before or after pooling gives the same result.

The marginalization property (McConway, "Marginalization and linear opinion pools", JASA 76,
1981): for the map ``M`` that merges two tokens ``a`` and ``b`` into one, ``G(M P) = M G(P)``.
Stated with every ``T_k = 1`` (on the temperature-scaled teachers): merging tokens does not
commute with temperature scaling, so at other temperatures even the linear pool fails it for that
reason alone (docs/formalization.md). McConway's theorem: among pools of this kind only the linear
one has it; the geometric pool does not.

>>> from mtkd.operators import load_operator
>>> x = Batch(np.array([[[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]]), np.ones((1, 2)), np.array([[0.5, 0.5]]))
>>> m = PoolMarginalization().margins(load_operator("geometric"), x, np.random.default_rng(0))
>>> float(m.values[0]) < -1e-3
True
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping, Sequence

import numpy as np
import sympy as sp

from mtkd.operators import Operator
from mtkd.operators.precision import Context

from . import symbols as sy
from .derivations import Derivation
from .finite_sums import canonical_sums
from .notation import ForAll, to_latex, to_unicode
from .parts import Absent, SymbolicProof, WitnessKind
from .property import Batch, ExactPoint, Margins, PreciseMargin, Property, fmt

MERGE = sp.Function("M")
"""The map merging tokens ``a`` and ``b`` (of a distribution, or of every row of ``P``)."""


def merge(P: np.ndarray, a: int, b: int) -> np.ndarray:
    """Tokens ``a < b`` merged into position ``a`` (last axis)."""
    out = np.delete(P, b, axis=-1)
    out[..., a] = P[..., a] + P[..., b]
    return out


def merge_exact(row: Sequence[Any], a: int, b: int) -> list[Any]:
    return [row[a] + row[b] if j == a else v for j, v in enumerate(row) if j != b]


def linear_marginalization() -> Derivation:
    """The linear pool commutes with merging: ``Σ_k w_k (Q_k(a) + Q_k(b)) = q(a) + q(b)``, checked by sympy."""
    a, b = sp.symbols("a b", integer=True, positive=True)
    merged_first = sp.Sum(sy.w[sy.k] * (sy.Q[sy.k, a] + sy.Q[sy.k, b]), (sy.k, 1, sy.K))
    pooled_first = sp.Sum(sy.w[sy.k] * sy.Q[sy.k, a], (sy.k, 1, sy.K)) + sp.Sum(sy.w[sy.k] * sy.Q[sy.k, b], (sy.k, 1, sy.K))
    checked = canonical_sums(merged_first - pooled_first) == 0
    shown = sp.Eq(merged_first, pooled_first)
    return Derivation(
        "pool-marginalization", "linear", "Marginalization: merging tokens a, b commutes with the linear pool",
        shown, to_latex(shown),
        f"For generic K, sympy normalises {to_unicode(merged_first)} − (q(a) + q(b)) as finite sums and finds 0 "
        f"({'checked' if checked else 'NOT confirmed'}); every other token's entry is untouched by the merge on both "
        "sides, and the pool needs no normalisation (its entries sum to 1 on the simplex).",
        "The linear pool has the marginalization property for all K, V (at T = 1).", checked)


class PoolMarginalization(Property):
    """``G(M P, 1, w) = M G(P, 1, w)`` for the merge ``M`` of tokens ``a < b``; margin ``-max |difference|``."""

    id = "pool-marginalization"
    title = "Marginalization (merging tokens commutes with pooling; at T = 1)"
    reference = "McConway (1981); docs/formalization.md"
    wording = "with all T_k = 1: merging tokens a and b in every teacher, then pooling, equals pooling then merging."
    witness_fields = {"token": WitnessKind.TOKEN, "token2": WitnessKind.TOKEN}
    smt = Absent("not encoded: the statement compares pools of two vocabulary sizes; the linear pool's proof is symbolic")
    symbolic = {"linear": SymbolicProof("all K >= 1, V >= 3, open domain, T = 1", ("pool-marginalization",),
                                        derive=linear_marginalization)}

    def statement(self) -> sp.Basic:
        a, b = sp.symbols("a b", integer=True, positive=True)
        ones = sp.Symbol("𝟙")
        lhs = sy.G(MERGE(sy.Pv, a, b), ones, sy.wv)
        rhs = MERGE(sy.G(sy.Pv, ones, sy.wv), a, b)
        return ForAll(((sy.Pv, sy.TEACHERS), (sy.wv, sy.WEIGHTS), (a, sy.TOKENS), (b, sy.TOKENS)),
                      sp.Implies(sp.Lt(a, b), sp.Eq(lhs, rhs)))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        N, K, V = x.shape
        if V < 3:  # merging would leave one token: no admissible coarser vocabulary
            return Margins(np.full(N, np.inf), np.zeros(N, bool), {"token": np.zeros(N, int), "token2": np.ones(N, int)})
        a, b = sorted(rng.choice(V, size=2, replace=False).tolist())
        ones = np.ones((N, K))
        gap = np.abs(op.evaluate(merge(x.P, a, b), ones, x.w) - merge(op.evaluate(x.P, ones, x.w), a, b))
        return Margins(-gap.max(axis=-1), np.zeros(N, bool), {"token": np.full(N, a), "token2": np.full(N, b)})

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        a, b = sorted((witness["token"], witness["token2"]))
        if a == b or x.V < 3:
            return PreciseMargin(ctx.num(1), False, detail={"merged first": "-", "pooled first": "-"})
        ones = tuple(Fraction(1) for _ in range(x.K))
        lhs = op.evaluate_precise(tuple(tuple(merge_exact(row, a, b)) for row in x.P), ones, x.w, ctx)
        rhs = merge_exact(op.evaluate_precise(x.P, ones, x.w, ctx), a, b)
        gaps = [abs(u - v) for u, v in zip(lhs, rhs)]
        worst = max(range(len(gaps)), key=lambda j: ctx.bounds(gaps[j])[1])
        return PreciseMargin(-gaps[worst], False, detail={
            "merged first": fmt(ctx, lhs[worst]), "pooled first": fmt(ctx, rhs[worst]), "coarse token": str(worst)})

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        d = pm.detail
        return (f"merging tokens {witness['token']} and {witness['token2']} before pooling gives "
                f"{d['merged first']} at coarse token {d['coarse token']}, merging after pooling gives "
                f"{d['pooled first']} (all T = 1): the pool does not commute with marginalization.")
