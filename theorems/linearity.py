"""Statements about how ``q`` depends on the weights: Assumption L, Definition IV.1, Theorem IV.2."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

import numpy as np
import sympy as sp
import z3

from mtkd.errors import OperatorFailure
from mtkd.operators import Operator
from mtkd.operators.precision import Context
from mtkd.operators.smt_encoding import Weight, zval
from mtkd.operators.smt_exact import fmt as exact_fmt
from mtkd.operators.smt_exact import normalise, snap, to_fraction
from mtkd.results import Counterexample

from . import symbols as sy
from .notation import Exists, ForAll, NamedSet
from .parts import ALL_SIZES, Absent, Relaxation, SmtEncoding, SmtOperatorFree, SymbolicProof, WitnessField, WitnessKind
from .property import (
    Batch,
    ExactPoint,
    Margins,
    PreciseMargin,
    Property,
    equality_margin,
    equality_margins,
    fmt,
    precise_Q,
    simplex_point,
    token_margins,
)
from .smt_properties import Candidate, Item, Setup, Stage, exact_q, neg_abs, rat


def _smt_assumption_L(s: Setup) -> list[Stage]:
    if s.fixed_w is not None:
        # Fixed weights: the identity along the segment to e_0, at its midpoint; the teachers
        # must be parameterised for all three weight vectors.
        e0 = [Fraction(int(k == 0)) for k in range(s.K)]
        s = Setup(s.enc, s.K, s.V, s.fixed_w, [e0, [(a + b) / 2 for a, b in zip(s.fixed_w, e0)]])
    if s.fixed_w is None:
        w, w2 = s.weights("w"), s.weights("v")
        lam = z3.Real("lam", s.ctx)
        s.cons += [lam >= 0, lam <= 1]
        mix: list[Weight] = [lam * w[k] + (1 - lam) * w2[k] for k in range(s.K)]
        lam_z = lam
    else:
        w, w2 = list(s.fixed_w), [Fraction(int(k == 0)) for k in range(s.K)]
        mix = [(a + b) / 2 for a, b in zip(w, w2)]
        lam_z = zval(s.ctx, Fraction(1, 2))
    qw, qv, qm = s.q(w, "w"), s.q(w2, "v"), s.q(mix, "m")
    bad = qm[0] != lam_z * qw[0] + (1 - lam_z) * qv[0]

    def read_extra(model: z3.ModelRef, max_den: int | None) -> dict[str, Any]:
        if s.fixed_w is not None:
            return {"lam": Fraction(1, 2), "w2": w2}
        lv = min(max(snap(to_fraction(model.eval(lam_z, True)), max_den), Fraction(0)), Fraction(1))
        return {"lam": lv, "w2": normalise([snap(to_fraction(model.eval(x, True)), max_den) for x in w2])}

    def items(c: Candidate) -> list[Item]:
        lv, v = c.extra["lam"], c.extra["w2"]
        m = [lv * a + (1 - lv) * b for a, b in zip(c.w, v)]
        qa, qb, qc = exact_q(s.enc, c), exact_q(s.enc, c, v), exact_q(s.enc, c, m)
        c.extra["lam"], c.extra["w2"] = exact_fmt(lv), [exact_fmt(x) for x in v]
        return [Item(neg_abs(qc[i] - rat(lv) * qa[i] - (1 - rat(lv)) * qb[i]), {"token": i})
                for i in range(s.V)]
    return [Stage(s.assertions(bad), "", s.certifier(w, items, read_extra))]


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

    witness_fields = {"w2": WitnessKind.PER_TEACHER, "lam": WitnessKind.NUMBER, "token": WitnessKind.TOKEN}
    smt = SmtEncoding(_smt_assumption_L, reduction="token 0 by neutrality", token0=True, min_teachers=2,
                      fixed_weight_note=" (identity checked on the segment to e_0 at lam = 1/2)")
    symbolic = {"linear": SymbolicProof(ALL_SIZES, ("assumption-L",))}

    def statement(self) -> sp.Basic:
        mixed = sy.G(sy.Pv, sy.Tv, sy.lam_s * sy.wv + (1 - sy.lam_s) * sy.wv2, sy.i)
        return ForAll(((sy.Pv, sy.TEACHERS), (sy.Tv, sy.TEMPERATURES), (sy.wv, sy.WEIGHTS), (sy.wv2, sy.WEIGHTS), (sy.lam_s, sp.Interval(0, 1)),
                       (sy.i, sy.TOKENS)), sp.Eq(mixed, sy.lam_s * sy.G(sy.Pv, sy.Tv, sy.wv, sy.i) + (1 - sy.lam_s) * sy.G(sy.Pv, sy.Tv, sy.wv2, sy.i)))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        N, K, V = x.shape
        w2 = rng.dirichlet(np.full(K, 0.5), size=N)
        lam = rng.uniform(0.1, 0.9, size=N)
        mid = lam[:, None] * x.w + (1 - lam[:, None]) * w2
        q_mid, q, q2 = op.evaluate_together([(x.P, x.T, mid), (x.P, x.T, x.w), (x.P, x.T, w2)])
        return equality_margins(q_mid - lam[:, None] * q - (1 - lam[:, None]) * q2, {"w2": w2, "lam": lam})

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        # The largest entry absorbs the rounding, so no weight can turn negative (simplex_point).
        w2 = list(simplex_point(np.array([float(v) for v in witness["w2"]])))
        lam, i = Fraction(witness["lam"]), witness["token"]
        mid = [lam * a + (1 - lam) * b for a, b in zip(x.w, w2)]
        lhs = op.evaluate_precise(x.P, x.T, mid, ctx)[i]
        rhs = ctx.num(lam) * op.evaluate_precise(x.P, x.T, x.w, ctx)[i] + ctx.num(1 - lam) * op.evaluate_precise(x.P, x.T, w2, ctx)[i]
        return equality_margin(ctx, lhs, rhs, ("q(mix)(i)", "mix of q(i)"))

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

    witness_fields = {"part": ("mixture", "locality")}
    smt = Absent("not encoded: the separable form quantifies over functions f_k, not a polynomial sentence; "
                 "see assumption-L and the search")
    symbolic = {"linear": SymbolicProof(ALL_SIZES, ("assumption-L",), " The separable form holds with f_k = identity.")}

    def statement(self) -> sp.Basic:
        f = sp.Function("f")
        return Exists(((f, NamedSet("((0,1]→ℝ)^K", r"((0,1]\to\mathbb{R})^K")),), sy.inputs(ForAll(
            ((sy.i, sy.TOKENS),), sp.Eq(sy.q(sy.i), sp.Sum(sy.w[sy.k] * f(sy.k, sy.Q[sy.k, sy.i]), (sy.k, 1, sy.K))))))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        N, K, V = x.shape
        token_perm, teacher_perm = rng.permutation(V), rng.permutation(K)
        shuffled = self._shuffle(x.P, token_perm, teacher_perm)
        one_hot = [np.broadcast_to(np.eye(K)[k], (N, K)) for k in range(K)]
        # The pool, and every teacher's single-teacher pool before and after the reshuffle, in one call.
        pools = iter(op.evaluate_together([(x.P, x.T, x.w)] + [(P, x.T, e) for e, Pk in zip(one_hot, shuffled)
                                                                for P in (x.P, Pk)]))
        q = next(pools)
        mixture = np.zeros_like(q)
        local = np.zeros((N,))
        local_k = np.zeros(N, int)
        for k in range(K):
            g = next(pools)
            mixture += x.w[:, [k]] * g
            moved = np.abs(next(pools)[:, 0] - g[:, 0])
            local_k = np.where(moved > local, k, local_k)
            local = np.maximum(local, moved)
        gap = np.abs(q - mixture)
        values = -np.maximum(gap.max(axis=-1), local)
        part = np.where(gap.max(axis=-1) >= local, "mixture", "locality")
        return Margins(values, np.zeros(N, bool), {
            "part": part, "token": np.where(part == "mixture", gap.argmax(-1), 0), "k": local_k,
            "token_perm": np.broadcast_to(token_perm, (N, V)), "teacher_perm": np.broadcast_to(teacher_perm, (N, K))})

    def witness_schema(self, witness: Mapping[str, Any]) -> dict[str, WitnessField]:
        schema = dict(self.witness_fields)
        if witness.get("part") == "mixture":
            schema["token"] = WitnessKind.TOKEN
        elif witness.get("part") == "locality":
            schema.update({"k": WitnessKind.TEACHER, "token_perm": WitnessKind.TOKEN_PERMUTATION,
                           "teacher_perm": WitnessKind.TEACHER_PERMUTATION})
        return schema

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
                       ctx: Context) -> PreciseMargin:
        if witness["part"] == "mixture":
            i = witness["token"]
            qi = op.evaluate_precise(x.P, x.T, x.w, ctx)[i]
            mix = ctx.num(0)
            for k in range(x.K):
                e = [Fraction(int(j == k)) for j in range(x.K)]
                mix = mix + ctx.num(x.w[k]) * op.evaluate_precise(x.P, x.T, e, ctx)[i]
            return equality_margin(ctx, qi, mix, ("q(i)", "sum_k w_k G(e_k)(i)"))
        k = witness["k"]
        e = [Fraction(int(j == k)) for j in range(x.K)]
        P_obj = np.empty((1, x.K, x.V), dtype=object)
        P_obj[0] = [list(row) for row in x.P]
        P2 = self._shuffle(P_obj, np.array(witness["token_perm"]), np.array(witness["teacher_perm"]))[k][0].tolist()
        a = op.evaluate_precise(x.P, x.T, e, ctx)[0]
        b = op.evaluate_precise(P2, x.T, e, ctx)[0]
        return equality_margin(ctx, a, b, ("G(e_k)(0)", "after reshuffle"))

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        if witness["part"] == "mixture":
            return (f"q({witness['token']}) = {pm.detail['q(i)']} but sum_k w_k G(P,T,e_k) = "
                    f"{pm.detail['sum_k w_k G(e_k)(i)']}: q is not the w-mixture of its single-teacher pools.")
        return (f"with all weight on teacher {witness['k']}, q(0) moves from {pm.detail['G(e_k)(0)']} to "
                f"{pm.detail['after reshuffle']} when only other tokens or other teachers change: "
                "f_k sees more than Q_k(i).")


def _smt_def_IV_1(s: Setup) -> list[Stage]:
    w = s.weights()
    q = s.q(w)
    second = z3.Sum([zval(s.ctx, w[k]) * s.t.Q[k][0] * s.t.Q[k][0] for k in range(s.K)])

    def items(c: Candidate) -> list[Item]:
        qe = exact_q(s.enc, c)
        return [Item(sum(rat(c.w[k]) * rat(c.Q[k][i]) ** 2 for k in range(s.K)) - qe[i] ** 2,
                     {"token": i}) for i in range(s.V)]
    return [Stage(s.assertions(second - q[0] * q[0] < 0), "", s.certifier(w, items))]


class DefIV1(Property):
    """Definition IV.1's cross-teacher "variance" ``sum_k w_k Q_k(i)^2 - q(i)^2`` is non-negative."""

    id = "def-IV.1"
    title = "Definition IV.1 (cross-teacher variance is non-negative)"
    reference = "Definition IV.1, Sec. IV-A"
    wording = "sum_k w_k Q_k(i)^2 - q(i)^2 >= 0 for all i (a variance only when q(i) is the weighted mean)."

    witness_fields = {"token": WitnessKind.TOKEN}
    smt = SmtEncoding(_smt_def_IV_1, reduction="token 0 by neutrality", token0=True, relaxation=Relaxation.COLUMN0)

    def statement(self) -> sp.Basic:
        return sy.inputs(ForAll(((sy.i, sy.TOKENS),), sp.Ge(sp.Sum(sy.w[sy.k] * sy.Q[sy.k, sy.i] ** 2, (sy.k, 1, sy.K)) - sy.q(sy.i) ** 2, 0)))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        Q = x.Q()
        q = op.evaluate(x.P, x.T, x.w)
        var = np.einsum("nk,nkv->nv", x.w, Q * Q) - q * q
        return token_margins(var)

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        i = witness["token"]
        Q = precise_Q(x, ctx)
        qi = op.evaluate_precise(x.P, x.T, x.w, ctx)[i]
        second = sum((ctx.num(wk) * row[i] * row[i] for wk, row in zip(x.w, Q)), ctx.num(0))
        return PreciseMargin(second - qi * qi, False, detail={"E_k[Q_k(i)^2]": fmt(ctx, second), "q(i)^2": fmt(ctx, qi * qi)})

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        return (f"at token {witness['token']}, E_k[Q_k(i)^2] = {pm.detail['E_k[Q_k(i)^2]']} < q(i)^2 = "
                f"{pm.detail['q(i)^2']}: the 'variance' of Definition IV.1 is negative, because q(i) is not "
                "the weighted mean of the teachers.")


def _smt_thm_IV_2(K: int) -> list[Stage]:
    """Operator-independent: ``sum w_k^2 s_k <= sum w_k s_k``, strict with two active terms."""
    ctx = z3.Context()
    w = [z3.Real(f"w_{k}", ctx) for k in range(K)]
    sv = [z3.Real(f"s_{k}", ctx) for k in range(K)]
    lhs = z3.Sum([w[k] * w[k] * sv[k] for k in range(K)])
    rhs = z3.Sum([w[k] * sv[k] for k in range(K)])
    two = z3.Or([z3.And(w[a] > 0, w[b] > 0, sv[a] > 0, sv[b] > 0)
                 for a in range(K) for b in range(a + 1, K)]) if K > 1 else z3.BoolVal(False, ctx)
    cons = [x >= 0 for x in w + sv] + [z3.Sum(w) == 1]
    bad = z3.And(lhs >= rhs, z3.Or(lhs > rhs, two))

    def certify_model(model: z3.ModelRef) -> Counterexample:
        wv = normalise([to_fraction(model.eval(x, True)) for x in w])
        svv = [to_fraction(model.eval(x, True)) for x in sv]
        margin = sum(a * b for a, b in zip(wv, svv)) - sum(a * a * b for a, b in zip(wv, svv))
        active = sum(1 for a, b in zip(wv, svv) if a > 0 and b > 0) >= 2
        ok = margin < 0 or (margin == 0 and active)
        return Counterexample(P=tuple(("1/2", "1/2") for _ in range(K)), T=("1",) * K,
                              w=tuple(exact_fmt(x) for x in wv), witness={"s": [exact_fmt(x) for x in svv]},
                              margin=exact_fmt(margin), precision="exact (rational)", certified=ok,
                              certificate=f"margin re-evaluated exactly in Q: {exact_fmt(margin)}" if ok
                              else "exact re-evaluation did not confirm the violation")
    return [Stage([bad] + cons, "operator-independent", certify_model)]


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

    witness_fields = {"s": WitnessKind.PER_TEACHER}
    smt = SmtOperatorFree(_smt_thm_IV_2, scope="all w on the simplex, all s >= 0 (operator-independent)",
                          note="operator-independent, it applies to an operator only where assumption-L holds")
    symbolic = {"linear": SymbolicProof(
        "all K >= 1 (weights on the simplex, s >= 0)", ("thm-IV.2", "assumption-L"),
        " thm-IV.2 is operator-independent; it applies to this operator because assumption-L "
        "(separable, f_k = identity) was proved for it.")}

    def statement(self) -> sp.Basic:
        two_positive = Exists(((sy.a, sy.TEACHER_IDS), (sy.b, sy.TEACHER_IDS)), sp.And(
            sp.Ne(sy.a, sy.b), sp.Gt(sy.w[sy.a], 0), sp.Gt(sy.w[sy.b], 0), sp.Gt(sy.s[sy.a], 0), sp.Gt(sy.s[sy.b], 0)))
        lhs, rhs = sp.Sum(sy.w[sy.k] ** 2 * sy.s[sy.k], (sy.k, 1, sy.K)), sp.Sum(sy.w[sy.k] * sy.s[sy.k], (sy.k, 1, sy.K))
        return ForAll(((sy.wv, sy.WEIGHTS), (sy.sv, sy.NONNEG_K)), sp.And(sp.Le(lhs, rhs), sp.Implies(two_positive, sp.Lt(lhs, rhs))))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        N, K, V = x.shape
        s = rng.exponential(size=(N, K))
        gap = np.einsum("nk,nk->n", x.w - x.w * x.w, s)
        strict = ((x.w > 0) & (s > 0)).sum(axis=-1) >= 2
        return Margins(gap, strict, {"s": s})

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
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
