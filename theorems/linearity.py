"""Statements about how ``q`` depends on the weights: Assumption L, Definition IV.1, Theorem IV.2."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from mtkd.errors import OperatorFailure
from mtkd.operators import Operator
from mtkd.operators.precision import HighPrecision

from .property import Batch, ExactPoint, Kind, Margins, PreciseMargin, Property, fmt, precise_Q, simplex_point


class AssumptionL(Property):
    """``q`` is affine in ``w`` for fixed ``P, T``.

    Witness: a second weight vector ``w2`` and ``lam`` in (0, 1); margin
    ``-|q(lam w + (1-lam) w2)(i) - lam q(w)(i) - (1-lam) q(w2)(i)|`` at the worst token ``i``
    (zero where the statement holds, so only certified non-zero values refute).
    """

    id = "assumption-L"
    title = "Assumption L (q affine in the weights)"
    reference = "Assumption L, Sec. IV-A"
    wording = "for fixed P, T: q(lam w + (1-lam) w') = lam q(w) + (1-lam) q(w')."
    kind = Kind.ASSUMPTION

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        N, K, V = x.shape
        w2 = rng.dirichlet(np.full(K, 0.5), size=N)
        lam = rng.uniform(0.1, 0.9, size=N)
        mid = lam[:, None] * x.w + (1 - lam[:, None]) * w2
        gap = np.abs(op.evaluate(x.P, x.T, mid) - lam[:, None] * op.evaluate(x.P, x.T, x.w)
                     - (1 - lam[:, None]) * op.evaluate(x.P, x.T, w2))
        return Margins(-gap.max(axis=-1), np.zeros(N, bool), {"w2": w2, "lam": lam, "token": gap.argmax(axis=-1)})

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: HighPrecision) -> PreciseMargin:
        # The largest entry absorbs the rounding, so no weight can turn negative (simplex_point).
        w2 = list(simplex_point(np.array([float(v) for v in witness["w2"]])))
        lam, i = Fraction(witness["lam"]), witness["token"]
        mid = [lam * a + (1 - lam) * b for a, b in zip(x.w, w2)]
        lhs = op.evaluate_precise(x.P, x.T, mid, ctx)[i]
        rhs = ctx.num(lam) * op.evaluate_precise(x.P, x.T, x.w, ctx)[i] + ctx.num(1 - lam) * op.evaluate_precise(x.P, x.T, w2, ctx)[i]
        return PreciseMargin(-abs(lhs - rhs), False, detail={"q(mix)(i)": fmt(ctx, lhs), "mix of q(i)": fmt(ctx, rhs)})

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        return (f"mixing the weights with lam = {witness['lam']} gives q({witness['token']}) = "
                f"{pm.detail['q(mix)(i)']}, but the same mix of the two pools gives {pm.detail['mix of q(i)']}: "
                "q is not affine in w.")


class AssumptionLSeparable(Property):
    """The stronger separable form ``q(i) = sum_k w_k f_k(Q_k(i))``.

    If it holds then ``f_k(Q_k(i)) = G(P, T, e_k)(i)``, so two consequences are checked: the
    pool equals ``sum_k w_k G(P, T, e_k)``, and ``G(P, T, e_k)(i)`` does not change when the
    other tokens of teacher ``k`` (and the other teachers) are reshuffled while ``Q_k(i)`` stays.
    """

    id = "assumption-L-separable"
    title = "Assumption L, separable form"
    reference = "Assumption L, Sec. IV-A (the 'Specifically' clause)"
    wording = "q(i) = sum_k w_k f_k(Q_k(i)), with f_k seeing only teacher k's probability of token i."
    kind = Kind.ASSUMPTION

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        N, K, V = x.shape
        q = op.evaluate(x.P, x.T, x.w)
        token_perm, teacher_perm = rng.permutation(V), rng.permutation(K)
        shuffled = self._shuffle(x.P, token_perm, teacher_perm)
        mixture = np.zeros_like(q)
        local = np.zeros((N,))
        local_k = np.zeros(N, int)
        for k in range(K):
            e = np.zeros((N, K))
            e[:, k] = 1.0
            g = op.evaluate(x.P, x.T, e)
            mixture += x.w[:, [k]] * g
            moved = np.abs(op.evaluate(shuffled[k], x.T, e)[:, 0] - g[:, 0])
            local_k = np.where(moved > local, k, local_k)
            local = np.maximum(local, moved)
        gap = np.abs(q - mixture)
        values = -np.maximum(gap.max(axis=-1), local)
        part = np.where(gap.max(axis=-1) >= local, "mixture", "locality")
        return Margins(values, np.zeros(N, bool), {
            "part": part, "token": np.where(part == "mixture", gap.argmax(-1), 0), "k": local_k,
            "token_perm": np.broadcast_to(token_perm, (N, V)), "teacher_perm": np.broadcast_to(teacher_perm, (N, K))})

    @staticmethod
    def _shuffle(P: np.ndarray, token_perm: np.ndarray, teacher_perm: np.ndarray) -> list[np.ndarray]:
        """For each k: teacher k keeps token 0 and permutes its others; other teachers reshuffle."""
        out = []
        others = token_perm[token_perm != 0]
        for k in range(P.shape[1]):
            Pk = P[:, teacher_perm].copy()
            Pk[:, k] = P[:, k]
            Pk[:, k, 1:] = P[:, k][:, others]
            out.append(Pk)
        return out

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: HighPrecision) -> PreciseMargin:
        if witness["part"] == "mixture":
            i = witness["token"]
            qi = op.evaluate_precise(x.P, x.T, x.w, ctx)[i]
            mix = ctx.num(0)
            for k in range(x.K):
                e = [Fraction(int(j == k)) for j in range(x.K)]
                mix = mix + ctx.num(x.w[k]) * op.evaluate_precise(x.P, x.T, e, ctx)[i]
            return PreciseMargin(-abs(qi - mix), False, detail={"q(i)": fmt(ctx, qi), "sum_k w_k G(e_k)(i)": fmt(ctx, mix)})
        k = witness["k"]
        e = [Fraction(int(j == k)) for j in range(x.K)]
        P_obj = np.empty((1, x.K, x.V), dtype=object)
        P_obj[0] = [list(row) for row in x.P]
        P2 = self._shuffle(P_obj, np.array(witness["token_perm"]), np.array(witness["teacher_perm"]))[k][0].tolist()
        a = op.evaluate_precise(x.P, x.T, e, ctx)[0]
        b = op.evaluate_precise(P2, x.T, e, ctx)[0]
        return PreciseMargin(-abs(a - b), False, detail={"G(e_k)(0)": fmt(ctx, a), "after reshuffle": fmt(ctx, b)})

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        if witness["part"] == "mixture":
            return (f"q({witness['token']}) = {pm.detail['q(i)']} but sum_k w_k G(P,T,e_k) = "
                    f"{pm.detail['sum_k w_k G(e_k)(i)']}: q is not the w-mixture of its single-teacher pools.")
        return (f"with all weight on teacher {witness['k']}, q(0) moves from {pm.detail['G(e_k)(0)']} to "
                f"{pm.detail['after reshuffle']} when only other tokens or other teachers change: "
                "f_k sees more than Q_k(i).")


class DefIV1(Property):
    """Definition IV.1's cross-teacher "variance" ``sum_k w_k Q_k(i)^2 - q(i)^2`` is non-negative."""

    id = "def-IV.1"
    title = "Definition IV.1 (cross-teacher variance is non-negative)"
    reference = "Definition IV.1, Sec. IV-A"
    wording = "sum_k w_k Q_k(i)^2 - q(i)^2 >= 0 for all i (a variance only when q(i) is the weighted mean)."
    kind = Kind.DEFINITION

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        Q = x.Q()
        q = op.evaluate(x.P, x.T, x.w)
        var = np.einsum("nk,nkv->nv", x.w, Q * Q) - q * q
        return Margins(var.min(axis=-1), np.zeros(len(q), bool), {"token": var.argmin(axis=-1)})

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: HighPrecision) -> PreciseMargin:
        i = witness["token"]
        Q = precise_Q(x, ctx)
        qi = op.evaluate_precise(x.P, x.T, x.w, ctx)[i]
        second = sum((ctx.num(wk) * row[i] * row[i] for wk, row in zip(x.w, Q)), ctx.num(0))
        return PreciseMargin(second - qi * qi, False, detail={"E_k[Q_k(i)^2]": fmt(ctx, second), "q(i)^2": fmt(ctx, qi * qi)})

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        return (f"at token {witness['token']}, E_k[Q_k(i)^2] = {pm.detail['E_k[Q_k(i)^2]']} < q(i)^2 = "
                f"{pm.detail['q(i)^2']}: the 'variance' of Definition IV.1 is negative, because q(i) is not "
                "the weighted mean of the teachers.")


class ThmIV2(Property):
    """Theorem IV.2's inequality ``sum_k w_k^2 s_k <= sum_k w_k s_k`` for ``s_k >= 0``.

    Operator-independent; it bears on an operator only where ``assumption-L`` holds. The search
    also measures the empirical variance statement on the operator (reported, not a verdict): with
    ``Q_k = pbar + eps_k``, independent zero-mean noise, ``Var q(i)`` vs ``sum_k w_k Var Q_k(i)``.
    """

    id = "thm-IV.2"
    title = "Theorem IV.2 (ensemble variance reduction)"
    reference = "Theorem IV.2, Sec. IV-A"
    needs_operator = False
    wording = ("sum_k w_k^2 s_k <= sum_k w_k s_k for all s_k >= 0, strict when two positive weights have s_k > 0; "
               "applies to an operator only where assumption-L holds.")
    kind = Kind.THEOREM

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        N, K, V = x.shape
        s = rng.exponential(size=(N, K))
        gap = np.einsum("nk,nk->n", x.w - x.w * x.w, s)
        strict = ((x.w > 0) & (s > 0)).sum(axis=-1) >= 2
        return Margins(gap, strict, {"s": s})

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: HighPrecision) -> PreciseMargin:
        s = [Fraction(v) for v in witness["s"]]
        gap = sum((wk * (1 - wk) * sk for wk, sk in zip(x.w, s)), Fraction(0))
        strict = sum(1 for wk, sk in zip(x.w, s) if wk > 0 and sk > 0) >= 2
        return PreciseMargin(ctx.num(gap), strict, detail={"sum w s - sum w^2 s": str(gap)})

    def evidence(self, op: Operator, seed: int) -> str | None:
        try:
            ratio = self.empirical_variance_ratio(op, np.random.default_rng([seed, 402]))
        except OperatorFailure as failure:
            return f"Empirical variance check not run: {failure}"
        verdict = "consistent with" if ratio <= 1.0 else "NOT consistent with"
        return (f"Empirical check on the operator (K=3, V=8, 16 base points x 400 draws of independent "
                f"zero-mean noise, T=1): max_i Var q(i) / sum_k w_k Var Q_k(i) = {ratio:.3f}, {verdict} the "
                "theorem's <= 1 (a Monte-Carlo statistic, not a certificate).")

    @staticmethod
    def empirical_variance_ratio(op: Operator, rng: np.random.Generator, K: int = 3, V: int = 8,
                                 bases: int = 16, draws: int = 400, noise: float = 0.02) -> float:
        """Largest ``Var q(i) / sum_k w_k Var Q_k(i)`` seen (<= 1 is what the theorem predicts)."""
        worst = 0.0
        for _ in range(bases):
            pbar = rng.dirichlet(np.full(V, 5.0))
            w = rng.dirichlet(np.ones(K))
            sigma = noise * rng.uniform(0.2, 1.0, size=K)
            eps = rng.standard_normal((draws, K, V)) * sigma[None, :, None] * pbar
            eps -= pbar * eps.sum(axis=-1, keepdims=True)  # stay on the simplex's tangent plane
            Q = np.clip(pbar + eps, 1e-12, None)
            Q /= Q.sum(axis=-1, keepdims=True)
            q = op.evaluate(Q, np.ones((draws, K)), np.broadcast_to(w, (draws, K)).copy())
            denom = np.einsum("k,kv->v", w, Q.var(axis=0))
            worst = max(worst, float((q.var(axis=0) / denom).max()))
        return worst
