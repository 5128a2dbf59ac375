"""The paper's five axioms (Sec. II-B), plus the convex-hull reading of Axiom 1."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Mapping

import numpy as np
import sympy as sp
import z3

from mtkd.errors import OperatorUndefined
from mtkd.operators import Operator
from mtkd.operators.builtin import BuiltinOperator
from mtkd.operators.precision import Context
from mtkd.operators.precision_arb import derivative_context
from mtkd.operators.precision_float import Lanes, LaneSeq, NotVectorised
from mtkd.operators.smt_encoding import zval
from mtkd.operators.smt_exact import fmt as exact_fmt
from mtkd.operators.smt_exact import snap, to_fraction
from mtkd.operators.temperature import log_tau

from . import symbols as sy
from .notation import Exists, ForAll, RowReplaced
from .parts import ALL_SIZES, Absent, Relaxation, SmtEncoding, SymbolicProof, WitnessField, WitnessKind
from .property import (
    Batch,
    ExactPoint,
    Margins,
    PreciseKind,
    PreciseMargin,
    Property,
    equality_margin,
    fmt,
    masked_min,
    precise_Q,
    precise_Q_row,
    token_margins,
)
from .smt_properties import Candidate, Item, Setup, Stage, exact_q, neg_abs, rat


def _sum_as_token(witness: dict[str, Any]) -> dict[str, Any]:
    """The SMT stage names the sum ``{"sum": True}``; the property's witness is token ``-1``."""
    return {"token": -1} if "token" not in witness and witness.get("sum") else witness


def _smt_axiom1(s: Setup) -> list[Stage]:
    w = s.weights()
    q = s.q(w)
    bad = z3.Or([x < 0 for x in q] + [z3.Sum(q) != 1])

    def items(c: Candidate) -> list[Item]:
        qe = exact_q(s.enc, c)
        return [Item(x, {"token": i}) for i, x in enumerate(qe)] + \
               [Item(neg_abs(sp.Add(*qe) - 1), {"sum": True})]
    return [Stage(s.assertions(bad), "", s.certifier(w, items))]


class Axiom1(Property):
    """``q`` is a probability vector: non-negative, summing to one, finite.

    Non-finite outputs are not margins but operator errors (verdict ``error``).
    """

    id = "axiom1"
    title = "Axiom 1 (convexity preservation: q is a distribution)"
    reference = "Axiom 1, Sec. II-B"
    wording = "q(i) >= 0 for all i, sum_i q(i) = 1, and every entry finite."

    witness_fields = {"token": WitnessKind.TOKEN_OR_SUM}
    smt = SmtEncoding(_smt_axiom1, relaxation=Relaxation.POSITIVE, witness=_sum_as_token)

    def statement(self) -> sp.Basic:
        return sy.inputs(sp.And(
            ForAll(((sy.i, sy.TOKENS),), sp.And(sp.Ge(sy.q(sy.i), 0), sp.Contains(sy.q(sy.i), sp.Reals))),
            sp.Eq(sp.Sum(sy.q(sy.i), (sy.i, 1, sy.V)), 1),
        ))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        q = op.evaluate(x.P, x.T, x.w)
        low, token = q.min(axis=-1), q.argmin(axis=-1)
        off = -np.abs(q.sum(axis=-1) - 1.0)
        # Allow the float64 round-off of a V-term sum before calling a sum "not one"; such a sum
        # is no constraint (+inf), so the margin keeps min q's slope for guided search.
        off = np.where(-off <= 4 * q.shape[-1] * op.eps, np.inf, off)
        values = np.minimum(low, off)
        return Margins(values, np.zeros(len(values), bool), {"token": np.where(low <= off, token, -1)})

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        q = op.evaluate_precise(x.P, x.T, x.w, ctx)
        i = witness["token"]
        if i >= 0:
            return PreciseMargin(q[i], False, detail={f"q({i})": fmt(ctx, q[i])})
        total = sum(q[1:], q[0])
        return PreciseMargin(-abs(total - 1), False, detail={"sum_i q(i)": fmt(ctx, total)})

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        if witness["token"] >= 0:
            i = witness["token"]
            return f"q({i}) = {pm.detail[f'q({i})']} is negative: q is not a probability vector."
        return f"sum_i q(i) = {pm.detail['sum_i q(i)']} is not 1: q is not normalised."


def _project_simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row onto the probability simplex (sort-based, exact)."""
    u = -np.sort(-v, axis=-1)
    css = np.cumsum(u, axis=-1) - 1.0
    ks = np.arange(1, v.shape[-1] + 1)
    rho = (u - css / ks > 0).sum(axis=-1)
    theta = np.take_along_axis(css, (rho - 1)[..., None], -1)[..., 0] / rho
    return np.maximum(v - theta[..., None], 0.0)


HULL_FACES_MAX_K = 5
"""Up to this many teachers the projection onto their hull is exact (every face tried, 2**K - 1 of
them); beyond, an iterative projection."""


def hull_separator(Q: np.ndarray, q: np.ndarray, iters: int = 400) -> np.ndarray:
    """A direction ``c`` (``(N, V)``) pointing from the convex hull of the rows of ``Q`` to ``q``.

    ``q`` minus its projection onto the hull: exact for small ``K`` (:func:`_hull_point_by_faces`),
    else accelerated projected gradient on the mixing weights (``iters`` steps). The direction
    need not be exact: the margin ``max_k c.Q_k - c.q`` is negative only if ``c`` really
    separates, so a poor direction can hide a violation but never invent one.
    """
    if Q.shape[1] <= HULL_FACES_MAX_K:
        return q - _hull_point_by_faces(Q, q)
    G = np.einsum("nkv,njv->nkj", Q, Q)
    b = np.einsum("nkv,nv->nk", Q, q)
    step = 1.0 / np.maximum(np.trace(G, axis1=1, axis2=2), 1e-300)[:, None]
    K = Q.shape[1]
    lam = y = np.full(Q.shape[:2], 1.0 / K)
    t = 1.0
    for _ in range(iters):
        grad = np.einsum("nkj,nj->nk", G, y) - b
        new = _project_simplex(y - step * grad)
        t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
        y, lam, t = new + (t - 1) / t_next * (new - lam), new, t_next
    return q - np.einsum("nk,nkv->nv", lam, Q)


def _hull_point_by_faces(Q: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The point of the hull of the rows of ``Q`` nearest to ``q`` (``(N, V)``), face by face.

    The nearest point lies in the relative interior of the hull of at most ``V`` affinely
    independent teachers (Caratheodory), where it is the projection onto their affine hull: a
    least-squares problem in the edges from the face's first teacher, solved by QR (near-equal
    teachers make it ill-conditioned; normal equations would square that). Of the faces whose
    projection has non-negative weights, the nearest wins. A fixed amount of vectorised work per
    call (at most 2**K - 1 small solves), where the iterative projection needs hundreds of steps
    on ill-conditioned teachers.
    """
    N, K, V = Q.shape
    best = Q[:, 0].copy()
    best_d = ((q - best) ** 2).sum(axis=-1)
    with np.errstate(all="ignore"):  # a degenerate face's NaN weights are simply not feasible
        for size in range(1, min(K, V) + 1):
            for first, *rest in itertools.combinations(range(K), size):
                base = Q[:, first]
                if not rest:
                    point, feasible = base, np.ones(N, bool)
                else:
                    edges = np.swapaxes(Q[:, rest] - base[:, None], 1, 2)  # (N, V, size - 1)
                    basis, R = np.linalg.qr(edges)
                    rhs = np.einsum("nvs,nv->ns", basis, q - base)[..., None]
                    try:
                        mu = np.linalg.solve(R, rhs)[..., 0]
                    except np.linalg.LinAlgError:  # repeated teachers: the least-norm solution will do
                        mu = (np.linalg.pinv(R) @ rhs)[..., 0]
                    point = base + np.einsum("nvs,ns->nv", edges, mu)
                    feasible = (mu >= 0).all(axis=-1) & (mu.sum(axis=-1) <= 1)
                d = ((q - point) ** 2).sum(axis=-1)
                better = feasible & (d < best_d)
                best = np.where(better[:, None], point, best)
                best_d = np.where(better, d, best_d)
    return best


def _farkas_as_direction(witness: dict[str, Any]) -> dict[str, Any]:
    """z3's Farkas vector ``y`` (``y.q < min_k y.Q_k``) as the property's direction ``c = -y``.

    z3's ``y`` stays next to ``direction`` for readers who check the Farkas certificate; replay
    reads ``direction`` only.

    >>> _farkas_as_direction({"hull": "...", "y": ["1", "-1/2"]})
    {'direction': ['-1', '1/2'], 'y': ['1', '-1/2']}
    """
    if "y" in witness and "direction" not in witness:
        return {"direction": [str(-Fraction(str(v))) for v in witness["y"]], "y": list(witness["y"])}
    return witness


def _smt_axiom1_hull(s: Setup) -> list[Stage]:
    """Three stages: the witness ``lam = w``; a coordinate separation; a Farkas separation.

    ``q`` is outside conv(Q_1..Q_K) iff some ``y`` has ``y.q < min_k y.Q_k`` (Farkas), so a
    single existential query decides membership for every input at once: unsat proves it.
    Its products ``y * Q`` are hard for nlsat, so the special case ``y = +-e_0`` (``q(0)``
    outside ``[min_k Q_k(0), max_k Q_k(0)]``, linear in ``Q`` once ``q`` is known) is searched
    first; its unsat proves nothing.
    """
    w = s.weights()
    q = s.q(w)
    witness_stage = Stage(
        s.assertions(z3.Or([q[i] != z3.Sum([zval(s.ctx, w[k]) * s.t.Q[k][i] for k in range(s.K)])
                            for i in range(s.V)])), "witness lam = w", None)

    def items(c: Candidate) -> list[Item]:
        yv = [rat(x) for x in c.extra["y"]]
        c.extra["y"] = [exact_fmt(x) for x in c.extra["y"]]
        qe = exact_q(s.enc, c)
        floor = min(sum(yi * rat(x) for yi, x in zip(yv, row)) for row in c.Q)
        return [Item(sp.Add(*[yi * x for yi, x in zip(yv, qe)]) - floor,
                     {"hull": "y.q - min_k y.Q_k (Farkas: < 0 means q is not in conv(Q))"})]

    s1 = Setup(s.enc, s.K, s.V, s.fixed_w)
    w1 = s1.weights()
    q1 = s1.q(w1)
    above = z3.And([q1[0] > s1.t.Q[k][0] for k in range(s.K)])
    below = z3.And([q1[0] < s1.t.Q[k][0] for k in range(s.K)])

    def read_e0(model: z3.ModelRef, max_den: int | None) -> dict[str, Any]:
        sign = -1 if z3.is_true(model.eval(above, True)) else 1
        return {"y": [Fraction(sign * int(i == 0)) for i in range(s.V)]}
    coordinate_stage = Stage(s1.assertions(z3.Or(above, below)), "coordinate separation",
                             s1.certifier(w1, items, read_e0), unsat_proves=False)

    s2 = Setup(s.enc, s.K, s.V, s.fixed_w)
    w2 = s2.weights()
    q2 = s2.q(w2)
    y = [z3.Real(f"y_{i}", s2.ctx) for i in range(s.V)]
    t = z3.Real("t", s2.ctx)
    s2.cons += [z3.And(-1 <= x, x <= 1) for x in y]
    s2.cons += [z3.Sum([y[i] * s2.t.Q[k][i] for i in range(s.V)]) + t >= 0 for k in range(s.K)]
    bad = z3.Sum([y[i] * q2[i] for i in range(s.V)]) + t < 0

    def read_y(model: z3.ModelRef, max_den: int | None) -> dict[str, Any]:
        return {"y": [snap(to_fraction(model.eval(x, True)), max_den) for x in y]}
    return [witness_stage, coordinate_stage,
            Stage(s2.assertions(bad), "Farkas separation", s2.certifier(w2, items, read_y))]


class Axiom1Hull(Property):
    """Axiom 1 as the paper's proofs use it: ``q`` lies in the convex hull of the teachers ``Q_k``.

    Checked through a separating direction ``c``: ``q`` is outside the hull exactly when some
    ``c`` has ``c.q > max_k c.Q_k`` (Farkas). The margin is ``max_k c.Q_k - c.q``.
    """

    id = "axiom1-hull"
    title = "Axiom 1, hull reading (q is a convex combination of the teachers)"
    reference = "Axiom 1 as used in the proof of Prop. IV.11"
    wording = "there is lam on the K-simplex with q = sum_k lam_k Q_k."

    witness_fields = {"direction": WitnessKind.PER_TOKEN}
    smt = SmtEncoding(_smt_axiom1_hull, witness=_farkas_as_direction)

    def statement(self) -> sp.Basic:
        return sy.inputs(Exists(((sy.lamv, sy.WEIGHTS),), ForAll(((sy.i, sy.TOKENS),), sp.Eq(sy.q(sy.i), sp.Sum(sy.lam[sy.k] * sy.Q[sy.k, sy.i], (sy.k, 1, sy.K))))))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        Q = x.Q()
        q = op.evaluate(x.P, x.T, x.w)
        c = hull_separator(Q, q)
        scale = np.abs(c).max(axis=-1, keepdims=True)
        c = np.where(scale > 0, c / np.where(scale > 0, scale, 1.0), 0.0)
        values = np.einsum("nkv,nv->nk", Q, c).max(axis=-1) - np.einsum("nv,nv->n", q, c)
        return Margins(values, np.zeros(len(values), bool), {"direction": c})

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        Q = precise_Q(x, ctx)
        q = op.evaluate_precise(x.P, x.T, x.w, ctx)
        c = [ctx.num(v) for v in witness["direction"]]
        dot = [sum((ci * qi for ci, qi in zip(c, row)), ctx.num(0)) for row in Q]
        cq = sum((ci * qi for ci, qi in zip(c, q)), ctx.num(0))
        return PreciseMargin(ctx.max(dot) - cq, False,
                             detail={"c.q": fmt(ctx, cq), "max_k c.Q_k": fmt(ctx, ctx.max(dot))})

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        return (f"along the direction c = {witness['direction']}, c.q = {pm.detail['c.q']} exceeds "
                f"every teacher's c.Q_k (max {pm.detail['max_k c.Q_k']}), so q is not a convex "
                "combination of the temperature-scaled teachers.")


def _smt_axiom2(s: Setup) -> list[Stage]:
    w = s.weights()
    q = s.q(w)

    def items(c: Candidate) -> list[Item]:
        return [Item(x, {"token": i}, strict=True) for i, x in enumerate(exact_q(s.enc, c))]
    return [Stage(s.assertions(z3.Or([x <= 0 for x in q])), "", s.certifier(w, items))]


class Axiom2(Property):
    """Positivity inheritance: strictly positive teachers give a strictly positive ``q``."""

    id = "axiom2"
    title = "Axiom 2 (positivity inheritance)"
    reference = "Axiom 2, Sec. II-B"
    wording = "on the open domain, q(i) > 0 for all i."
    open_only = True

    witness_fields = {"token": WitnessKind.TOKEN}
    smt = SmtEncoding(_smt_axiom2, relaxation=Relaxation.POSITIVE)

    def statement(self) -> sp.Basic:
        return sy.inputs(ForAll(((sy.i, sy.TOKENS),), sp.Gt(sy.q(sy.i), 0)), teachers=sy.OPEN_TEACHERS)

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        q = op.evaluate(x.P, x.T, x.w)
        return token_margins(q, strict=True)

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        i = witness["token"]
        qi = op.evaluate_precise(x.P, x.T, x.w, ctx)[i]
        return PreciseMargin(qi, True, detail={f"q({i})": fmt(ctx, qi)})

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        i = witness["token"]
        return f"every teacher gives token {i} positive probability, yet q({i}) = {pm.detail[f'q({i})']}."


def _smt_axiom3(s: Setup) -> list[Stage]:
    w = s.weights()
    der = s.enc.derivative_sign(s.t, w, 0, 0, 1)
    assert der is not None
    sign_term, cons = der
    s.cons += cons
    bad = z3.And(s.t.Q[0][0] > s.t.Q[1][0], zval(s.ctx, w[1]) > 0, sign_term <= 0)

    def items(c: Candidate) -> list[Item]:
        delta = sp.Symbol("delta")
        out = []
        for k in range(s.K):
            for k2 in range(s.K):
                if k == k2 or c.w[k2] <= 0:
                    continue
                wd = [rat(x) for x in c.w]
                wd[k] += delta
                wd[k2] -= delta
                qd = s.enc.exact_q([[rat(x) for x in row] for row in c.Q], wd)
                for i in range(s.V):
                    if c.Q[k][i] > c.Q[k2][i]:
                        d = sp.diff(qd[i], delta).subs(delta, 0)
                        out.append(Item(d, {"token": i, "k": k, "k2": k2}, strict=True))
        return out
    return [Stage(s.assertions(bad), "", s.certifier(w, items))]


AXIOM3_PASS_ENTRIES = 2**18
"""Entries ``N * group * K * V`` of one numpy pass of axiom3's margins (2 MB of float64 per array)."""


class Axiom3(Property):
    """Weight monotonicity, as the one-sided derivative at ``delta = 0+``.

    For ``k != k2``, token ``i`` with ``Q_k(i) > Q_k2(i)`` and ``w_k2 > 0``, moving weight ``delta``
    from ``k2`` to ``k`` must strictly increase ``q(i)``: the derivative must be ``> 0``; a
    derivative ``< 0`` refutes, ``= 0`` refutes strictness. The paper's renormalisation step is
    a no-op (the moved weights still sum to one).
    """

    id = "axiom3"
    vectorised_margin = True
    title = "Axiom 3 (weight monotonicity)"
    reference = "Axiom 3, Sec. II-B"
    wording = ("for k != k', Q_k(i) > Q_k'(i), w_k' > 0: d q(i)/d delta > 0 at delta = 0+ when "
               "delta moves from w_k' to w_k.")
    precise_kind = PreciseKind.DERIVATIVE

    witness_fields = {"k": WitnessKind.TEACHER, "k2": WitnessKind.TEACHER, "token": WitnessKind.TOKEN}
    smt = SmtEncoding(_smt_axiom3, reduction="token 0, k = 0, k2 = 1 by neutrality/anonymity", token0=True,
                      min_teachers=2, needs_derivative=True, vertex_probe=1)
    symbolic = {"linear": SymbolicProof(ALL_SIZES, ("axiom3",))}

    def statement(self) -> sp.Basic:
        # The form that is checked (FORMALIZATION.md): the one-sided derivative at delta = 0+ is > 0.
        # It implies the paper's "q strictly larger for all small enough delta > 0"; a derivative
        # = 0 counts as a failure of strictness.
        moved = sy.wv + sy.delta * (sy.e[sy.k] - sy.e[sy.k2])
        slope = sp.Limit((sy.G(sy.Pv, sy.Tv, moved, sy.i) - sy.q(sy.i)) / sy.delta, sy.delta, 0, "+")
        return sy.inputs(ForAll(((sy.k, sy.TEACHER_IDS), (sy.k2, sy.TEACHER_IDS), (sy.i, sy.TOKENS)), sp.Implies(
            sp.And(sp.Ne(sy.k, sy.k2), sp.Gt(sy.Q[sy.k, sy.i], sy.Q[sy.k2, sy.i]), sp.Gt(sy.w[sy.k2], 0)),
            sp.Gt(slope, 0))))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        N, K, V = x.shape
        logQ = log_tau(x.P, x.T)  # once per input, shared by the pool, the hypothesis and the derivative
        Q = np.exp(logQ)
        q0 = op.evaluate_scaled(logQ, x.P, x.T, x.w)
        # A built-in differentiates itself in one pass; other operators (and rows where the
        # analytic derivative is not finite) take finite differences, 2K(K-1) further calls.
        grad = op.func.weight_gradient(logQ, x.w) if isinstance(op.func, BuiltinOperator) else None
        rows = np.arange(N) if grad is None else np.flatnonzero(~np.isfinite(grad).all(axis=(1, 2)))
        fd = self._difference_quotients(op, x.take(rows), q0[rows]) if len(rows) else {}
        active = (x.w > 0)[:, None, :, None]
        best = np.full(N, np.inf)
        wk, wk2, wi = (np.zeros(N, int) for _ in range(3))
        # Teachers k in groups, all k2 at once: D[:, k - k0, k2] = dq/d delta moving weight from k2
        # to k (k2 = k is masked out, Q_k > Q_k being false). One group at the default sizes (a
        # numpy pass per k cost half the call); several at large V, to bound memory. Ties go to the
        # lowest (k, k2, token), as loops over k, k2, token would.
        group = max(1, AXIOM3_PASS_ENTRIES // (N * K * V))
        for k0 in range(0, K, group):
            ks = range(k0, min(K, k0 + group))
            D = np.empty((N, len(ks), K, V)) if grad is None else grad[:, ks.start:ks.stop, None, :] - grad[:, None]
            for k in ks:
                for k2 in range(K):
                    if len(rows) and k2 != k:
                        D[rows, k - k0, k2] = fd[k, k2]
            ok = active & (Q[:, ks.start:ks.stop, None, :] > Q[:, None])
            m, j = masked_min(D.reshape(N, -1), ok.reshape(N, -1))
            better = m < best
            best = np.where(better, m, best)
            kj, r = np.divmod(j, K * V)
            wk, wk2, wi = np.where(better, k0 + kj, wk), np.where(better, r // V, wk2), np.where(better, r % V, wi)
        return Margins(best, np.ones(N, bool), {"k": wk, "k2": wk2, "token": wi})

    @staticmethod
    def _difference_quotients(op: Operator, x: Batch, q0: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
        """``dq/d delta`` for every teacher pair ``(k, k2)`` by one-sided differences, ``(N, V)`` each.

        Every pair's two moved pools in one call (a single-input form's worker is then asked once,
        not ``2K(K-1)`` times per batch).
        """
        K = x.shape[1]
        pairs = [(k, k2) for k in range(K) for k2 in range(K) if k != k2]
        # 1e-6 in float64; a less precise output needs a longer step (error ~ eps / h + h^2).
        h0 = 1e-6 * (op.eps / np.finfo(float).eps) ** (1 / 3)
        steps, moved = {}, []
        for k, k2 in pairs:
            active = x.w[:, k2] > 0
            h = np.where(active, np.minimum(h0, x.w[:, k2] / 4), h0)
            d = np.zeros(K)
            d[k], d[k2] = 1.0, -1.0
            steps[k, k2] = h
            moved += [(x.P, x.T, np.where(active[:, None], x.w + j * h[:, None] * d, x.w)) for j in (1, 2)]
        pools = iter(op.evaluate_together(moved))
        out = {}
        for k, k2 in pairs:
            h, q1, q2 = steps[k, k2], next(pools), next(pools)
            # Second-order one-sided difference: the weight may not move the other way.
            D = (4 * q1 - q2 - 3 * q0) / (2 * h[:, None])
            if op.precise_func is None:
                # Nothing re-checks a float64-only candidate exactly, so its margin must be
                # an upper bound: add the round-off (64 ulp per evaluation, 8 evaluations'
                # worth) that the quotient can carry. It grows like 1/h, which matters when
                # w_k2 is tiny and so is the step (w_k2 = 5e-16 gave D = -1.8 for linear).
                scale = np.maximum(np.maximum(np.abs(q0), np.abs(q1)), np.abs(q2))
                # A bitwise-constant q (D exactly 0) keeps its 0: the strict part is judged later.
                D = np.where(D == 0, 0.0, D + 8 * 64 * op.eps * scale / (2 * h[:, None]))
            out[k, k2] = D
        return out

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        k, k2, i = witness["k"], witness["k2"], witness["token"]
        dctx = derivative_context(ctx)
        w = [dctx.seed(wj, 1 if j == k else -1 if j == k2 else 0) for j, wj in enumerate(x.w)]
        qi = op.evaluate_precise(x.P, x.T, w, dctx)[i]
        d = dctx.derivative(qi)
        deriv = ctx.num(0) if d is None else d
        # Only teachers k and k2 enter the hypothesis: scaling the other rows would double the cost.
        Qk, Qk2 = (precise_Q_row(x, ctx, j)[i] for j in (k, k2))
        return PreciseMargin(
            deriv, True,
            hypotheses={f"Q_{k}({i}) - Q_{k2}({i})": Qk - Qk2, f"w_{k2}": ctx.num(x.w[k2])},
            detail={"q(i)": fmt(ctx, dctx.value(qi)), "dq/ddelta": "0 (exactly)" if d is None else fmt(ctx, deriv),
                    "Q_k(i)": fmt(ctx, Qk), "Q_k2(i)": fmt(ctx, Qk2)})

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        k, k2, i = witness["k"], witness["k2"], witness["token"]
        d = pm.detail
        how = "does not change at all" if d["dq/ddelta"].startswith("0 ") else "decreases"
        return (f"teacher {k} gives token {i} more probability than teacher {k2} "
                f"(Q_{k}({i}) = {d['Q_k(i)']} > Q_{k2}({i}) = {d['Q_k2(i)']}), yet moving weight from "
                f"teacher {k2} to teacher {k} {how}: q({i}) = {d['q(i)']}, dq({i})/d delta = {d['dq/ddelta']}.")


def _jump_margin(d_coarse: np.ndarray | Any, d_fine: np.ndarray | Any, tol: float | Any, ctx: Context | None = None) -> Any:
    """``>= 0`` unless the change at the finer step is both above ``tol`` and not shrinking.

    A continuous map's change shrinks with the step; a jump keeps (at least a tenth of) its size.
    """
    if isinstance(d_fine, np.ndarray):
        return np.maximum(tol - d_fine, 0.1 * d_coarse - d_fine)
    assert ctx is not None, "precise margins take the max in their arithmetic (an enclosure's max for balls)"
    return ctx.max([tol - d_fine, d_coarse / 10 - d_fine])


def _sup_distance(q: Sequence[Any], target: Sequence[Any], ctx: Context) -> Any:
    """``max_i |q(i) - target(i)|`` in ``ctx``; whole rows at once on the float64 filter."""
    if isinstance(q, LaneSeq) and isinstance(target, LaneSeq):
        gap = abs(q.value - target.value)
        return Lanes(np.asarray(gap.lo.max()), np.asarray(gap.hi.max()))  # max is exact on floats and monotone
    return ctx.max(abs(a - b) for a, b in zip(q, target))


class Axiom4(Property):
    """Joint continuity in ``(P, T, w)``: jumps found by bisection and certified at exact points.

    Two searches share the batch. (1) Segment bisection (:mod:`mtkd.counterexamples.jumps`): a jump
    found there is certified with interval arithmetic at three nested pairs of exact points, every
    coordinate within relative distance 1e-20, 1e-30, 1e-40, whose outputs differ by a change that
    does not shrink (the certificate states exactly that; ``kind_at`` is VALUE for such witnesses).
    Proofs of continuity for the built-ins are symbolic (:mod:`mtkd.theorems.proofs_general`).
    (2) Relative probes, evidence only: along a direction ``d`` the change ``|G(x + eps d) - G(x)|`` is measured at two steps; a jump
    is a change above the tolerance that does not shrink. Confirmation repeats this at 60 digits
    with far smaller steps (``1e-20``, ``1e-30``). ``P``, ``T`` and ``w`` move *relatively*
    (``p -> p (1 + eps r)``): ``tau`` is smooth in ``log p`` but only Hölder with exponent ``1/T`` in
    ``p`` near zero, and a power mean with ``alpha < 0`` has Lipschitz constant ``~ 1/Q_k(i)`` in a
    weight that is zero, both of which an additive step mistakes for a jump. So zeros (of ``P``
    and of ``w``) stay zeros: jumps exactly on the boundary are not probed here.
    """

    id = "axiom4"
    title = "Axiom 4 (joint continuity)"
    reference = "Axiom 4, Sec. II-B"
    wording = "G is jointly continuous in (P, T, w); evidence of a jump: |G(x + eps d) - G(x)| not shrinking as eps -> 0."
    precise_kind = PreciseKind.LIMIT
    _tol = 1e-6

    witness_fields = {"P_rate": WitnessKind.MATRIX, "T_rate": WitnessKind.PER_TEACHER, "w_rate": WitnessKind.PER_TEACHER}
    smt = Absent("continuity quantifies over limits (epsilon-delta), not a polynomial sentence")

    def statement(self) -> sp.Basic:
        close = sp.Lt(sy.dist(sp.Tuple(sy.Pv2, sy.Tv2, sy.wv2), sp.Tuple(sy.Pv, sy.Tv, sy.wv)), sy.eta)
        near = ForAll(((sy.i, sy.TOKENS),), sp.Lt(sp.Abs(sy.G(sy.Pv2, sy.Tv2, sy.wv2, sy.i) - sy.q(sy.i)), sy.eps))
        return sy.inputs(ForAll(((sy.eps, sp.Interval.open(0, sp.oo)),), Exists(((sy.eta, sp.Interval.open(0, sp.oo)),), ForAll(
            ((sy.Pv2, sy.TEACHERS), (sy.Tv2, sy.TEMPERATURES), (sy.wv2, sy.WEIGHTS)), sp.Implies(close, near)))))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        N, K, V = x.shape
        rP = rng.standard_normal((N, K, V))
        rT = rng.standard_normal((N, K))
        rw = rng.standard_normal((N, K))
        moved = []
        for eps in (1e-8, 1e-12):
            P = x.P * (1 + eps * rP)
            w = x.w * (1 + eps * rw)
            moved.append((P / P.sum(-1, keepdims=True), x.T * (1 + eps * rT), w / w.sum(-1, keepdims=True)))
        q0, *qs = op.evaluate_together([(x.P, x.T, x.w), *moved])
        changes = [np.abs(q - q0).max(axis=-1) for q in qs]
        probe = _jump_margin(changes[0], changes[1], self._tol)
        from mtkd.counterexamples.jumps import bisect_segments

        # Bisection costs ~40 calls per segment: an eighth of a batch gets one (a 32nd when
        # the operator is called input by input), so the axiom4 search costs a few times another
        # property's, not forty times.
        share = max(1, N // (8 if op.batched_func is not None else 32))
        picked = np.sort(rng.choice(N, size=share, replace=False))
        segments = bisect_segments(op, x.take(picked), rng)
        along = np.full(N, np.inf)
        along[picked] = segments.margins()
        # The segment's margin only where it found a jump: elsewhere the probe keeps its slope.
        use_segment = along < 0
        witness = {"P_rate": rP, "T_rate": rT, "w_rate": rw, "segment": use_segment.astype(int)}
        for key, value in segments.witness().items():
            full = np.zeros((N,) + value.shape[1:], value.dtype)
            full[picked] = value
            witness[key] = full
        return Margins(np.where(use_segment, along, probe), np.zeros(N, bool), witness)

    def witness_schema(self, witness: Mapping[str, Any]) -> dict[str, WitnessField]:
        # A jump found by bisection also names the segment's far end (shrinking remaps it) and
        # the bracket "t" (two numbers, checked where it is read).
        schema = dict(self.witness_fields)
        if witness.get("segment"):
            schema.update({"segment": WitnessKind.NUMBER, "P_b": WitnessKind.MATRIX, "T_b": WitnessKind.PER_TEACHER,
                           "w_b": WitnessKind.PER_TEACHER})
        return schema

    def kind_at(self, witness: Mapping[str, Any]) -> PreciseKind:
        # A jump found by bisection is certified at exact points (interval arithmetic); the
        # relative probe's two steps stay evidence.
        return PreciseKind.VALUE if witness.get("segment") else PreciseKind.LIMIT



    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        if witness.get("segment"):
            from mtkd.counterexamples.jumps import certify_jump

            return certify_jump(op, x, witness, ctx)
        rP = [[Fraction(v) for v in row] for row in witness["P_rate"]]
        rT = [Fraction(v) for v in witness["T_rate"]]
        rw = [Fraction(v) for v in witness["w_rate"]]
        q0 = op.evaluate_precise(x.P, x.T, x.w, ctx)
        changes = []
        for eps in (Fraction(1, 10**20), Fraction(1, 10**30)):
            P = [[p * (1 + eps * r) for p, r in zip(row, rate)] for row, rate in zip(x.P, rP)]
            P = [[p / sum(row) for p in row] for row in P]
            T = [t * (1 + eps * r) for t, r in zip(x.T, rT)]
            w = [a * (1 + eps * r) for a, r in zip(x.w, rw)]
            w = [a / sum(w) for a in w]
            q = op.evaluate_precise(P, T, w, ctx)
            changes.append(_sup_distance(q, q0, ctx))
        return PreciseMargin(_jump_margin(changes[0], changes[1], ctx.num(Fraction(1, 10**6)), ctx), False,
                             detail={"change at eps=1e-20": fmt(ctx, changes[0]),
                                     "change at eps=1e-30": fmt(ctx, changes[1])})

    def follow_limit(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any]) -> tuple[Any, PreciseMargin]:
        """Float evidence of a jump: the change along the witness direction at steps ``1e-2 .. 100 eps``.

        A continuous operator's change shrinks to its measured round-off; a jump keeps its size
        ("stalls") while the step shrinks by ten decades.
        """
        from mtkd.counterexamples.float_evidence import limit_evidence, measure

        P, T, w = x.floats()
        rP, rT, rw = (np.array(witness[key], dtype=float) for key in ("P_rate", "T_rate", "w_rate"))
        base = measure(op, P, T, w)
        eps = op.eps

        def change(step: float) -> float:
            Pm, wm = P * (1 + step * rP), w * (1 + step * rw)
            q = op.evaluate((Pm / Pm.sum(-1, keepdims=True))[None], (T * (1 + step * rT))[None],
                            (wm / wm.sum())[None])[0]
            return float(np.abs(q - base.q).max())

        steps = [10.0 ** -j for j in range(2, 17) if 10.0 ** -j >= 100 * eps]
        ev = limit_evidence(change, steps, 4 * float(base.radius.max()) + 4 * eps, steps[min(3, len(steps) - 1)])
        seen = ev.distances
        pm = PreciseMargin(-seen[-1][1] if seen else 0, False, detail={
            "change at eps=1e-20": f"{seen[0][1]:.6g} (step {seen[0][0]:.0e})" if seen else "",
            "change at eps=1e-30": f"{seen[-1][1]:.6g} (step {seen[-1][0]:.0e})" if seen else ""})
        return ev, pm

    def float_jump(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any]) -> tuple[Any, PreciseMargin]:
        """Float evidence of a jump found by bisection (``segment`` witnesses): nested pairs of float
        inputs around it, each endpoint's output with its own measured error
        (:func:`~mtkd.counterexamples.float_evidence.jump_evidence`). The margin is the changes'
        ``max(-lowest at the finest pair, highest at the coarsest / 2 - lowest at the finest)``."""
        from mtkd.counterexamples.float_evidence import jump_evidence
        from mtkd.counterexamples.jumps import segment_end

        y = segment_end(x, witness)
        lo, hi = (float(v) for v in witness["t"])
        (P, T, w), (Pb, Tb, wb) = x.floats(), y.floats()
        ev = jump_evidence(op, Batch(P[None], T[None], w[None]), Batch(Pb[None], Tb[None], wb[None]), (lo, hi),
                           bool(witness.get("relative", 0)))
        if not ev.pairs:
            return ev, PreciseMargin(1.0, False, detail={"t": f"{ev.t:.17g}"})
        first, last = ev.pairs[0], ev.pairs[-1]
        detail = {f"change at relative distance {p.distance:.0e}": f"[{p.low:.6g}, {p.high:.6g}]" for p in ev.pairs}
        detail["t"] = f"{ev.t:.17g}"
        return ev, PreciseMargin(max(-last.low, first.high / 2 - last.low), False, detail=detail)

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        if witness.get("segment"):
            from mtkd.counterexamples.jumps import explain_jump

            return explain_jump(pm, witness)
        return ("q jumps: moving the input by eps along a fixed direction changes q by "
                f"{pm.detail['change at eps=1e-20']} at eps = 1e-20 and still "
                f"{pm.detail['change at eps=1e-30']} at eps = 1e-30.")


def _as_part_a(witness: dict[str, Any]) -> dict[str, Any]:
    """The SMT encoding covers part (a) only: its witness gets the part named.

    >>> _as_part_a({"token": 1, "k": 0})
    {'part': 'a', 'k': 0, 'token': 1}
    """
    return witness if "part" in witness else {"part": "a", "k": witness.get("k", 0), "token": witness.get("token", 0)}


def _smt_axiom5a(s: Setup) -> list[Stage]:
    """``G(P, T, e_k) = tau_{T_k}(p_k)``, i.e. ``q(e_k) = Q_k``: a statement about Q alone."""
    e0 = [Fraction(int(k == 0)) for k in range(s.K)]
    s = Setup(s.enc, s.K, s.V, e0)
    q = s.q(e0)

    def items(c: Candidate) -> list[Item]:
        qe = exact_q(s.enc, c, e0)
        return [Item(neg_abs(qe[i] - rat(c.Q[0][i])), {"token": i, "k": 0}) for i in range(s.V)]
    return [Stage(s.assertions(z3.Or([q[i] != s.t.Q[0][i] for i in range(s.V)])), "",
                  s.certifier(e0, items))]


ONE_HOT_PATH_E = 1e-30
"""Where an operator is undefined at a one-hot teacher, the search's reference uses ``(1 - e) onehot + e p_k``."""


class Axiom5(Property):
    """Temperature coherence, docs/formalization.md's reading.

    (a) ``G(P, T, e_k) = tau_{T_k}(p_k)``; (b) as ``T_k -> inf`` the pool tends to the pool with
    teacher ``k`` replaced by the uniform vector (at ``T_k = 1``; on the closed domain the uniform
    vector on the support of ``p_k``, see :meth:`limit_teacher`), and as ``T_k -> 0+`` by the
    one-hot at ``argmax p_k`` (uniform over tied maxima). (a) is certified with intervals; (b) is
    a limit, so its evidence (``T_k = 1e40`` / ``1e-40`` at 60 digits) is never a certificate.
    """

    id = "axiom5"
    vectorised_margin = True
    title = "Axiom 5 (temperature coherence)"
    reference = "Axiom 5, Sec. II-B"
    wording = ("(a) G(P, T, e_k) = tau_{T_k}(p_k); (b) T_k -> inf: G -> G(P[k <- uniform], T[k <- 1], w); "
               "T_k -> 0+: G -> G(P[k <- one-hot at argmax p_k], T[k <- 1], w).")
    _tol = 1e-6

    witness_fields = {"part": ("a", "b-inf", "b-zero"), "k": WitnessKind.TEACHER}
    smt = SmtEncoding(
        _smt_axiom5a, reduction="part (a), w = e_0 (teacher 0 by anonymity), G depends on (P, T) only through Q",
        own_weights=True, partial="part (a) only; the temperature limits of part (b) are left to search",
        witness=_as_part_a)

    def statement(self) -> sp.Basic:
        single = ForAll(((sy.Pv, sy.TEACHERS), (sy.Tv, sy.TEMPERATURES), (sy.k, sy.TEACHER_IDS), (sy.i, sy.TOKENS)),
                        sp.Eq(sy.G(sy.Pv, sy.Tv, sy.e[sy.k], sy.i), sy.scaled(sy.k, sy.i)))
        # h_k: uniform over argmax p_k (one-hot when the maximum is unique), as docs/formalization.md fixes.
        to_uniform = sp.Eq(sp.Limit(sy.q(sy.i), sy.T[sy.k], sp.oo), sy.G(RowReplaced(sy.Pv, sy.k, sy.uv), RowReplaced(sy.Tv, sy.k, 1), sy.wv, sy.i))
        to_argmax = sp.Eq(sp.Limit(sy.q(sy.i), sy.T[sy.k], 0, "+"), sy.G(RowReplaced(sy.Pv, sy.k, sy.hv), RowReplaced(sy.Tv, sy.k, 1), sy.wv, sy.i))
        limits = sy.inputs(ForAll(((sy.k, sy.TEACHER_IDS), (sy.i, sy.TOKENS)), sp.And(to_uniform, to_argmax)))
        return sp.And(single, limits)

    def witness_schema(self, witness: Mapping[str, Any]) -> dict[str, WitnessField]:
        # Part (a) names the token where G(P, T, e_k) and tau_{T_k}(p_k) differ; (b) compares whole pools.
        schema = dict(self.witness_fields)
        if witness.get("part") == "a":
            schema["token"] = WitnessKind.TOKEN
        return schema

    def kind_at(self, witness: Mapping[str, Any]) -> PreciseKind:
        # (b) compares the pool at two finite temperatures with its limit: evidence, not a proof
        # (a weight of 1e-200 makes the pool converge only at T_k ~ 1e-200).
        return PreciseKind.LIMIT if str(witness.get("part", "a")).startswith("b") else PreciseKind.VALUE

    @staticmethod
    def limit_teacher(p: np.ndarray, part: str) -> np.ndarray:
        """``lim tau_T(p)``: uniform on the support of ``p`` (``T -> inf``), or on ``argmax p`` (``T -> 0``).

        On the open domain the support is every token, so ``T -> inf`` gives docs/formalization.md's
        uniform vector. On the closed domain zeros stay zero under ``tau_T`` for every ``T``, so the
        teacher can only approach the uniform vector on its support; demanding the full uniform
        vector there would fail every operator that temperature-scales its teachers (``linear``
        included), which is not what "the contribution approaches uniform" can mean.
        """
        if part == "b-inf":
            support = p > 0
            return support / support.sum(axis=-1, keepdims=True)
        top = p == p.max(axis=-1, keepdims=True)
        return top / top.sum(axis=-1, keepdims=True)

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        N, K, V = x.shape
        Q = x.Q()
        best = np.full(N, np.inf)
        part, wk, wi = np.zeros(N, int), np.zeros(N, int), np.zeros(N, int)

        def keep(m: np.ndarray, code: int, k: int, i: np.ndarray) -> None:
            nonlocal best, part, wk, wi
            better = m < best
            best = np.where(better, m, best)
            part, wk, wi = np.where(better, code, part), np.where(better, k, wk), np.where(better, i, wi)

        # Part (a)'s probes, every teacher's probe at the extreme temperature of each part and the
        # T -> inf limit pools (uniform rows: inside the domain wherever the input is) in one call; the
        # T -> 0 limit pools (one-hot rows, where log 0 may be undefined) in another. A single-input
        # form's worker is asked once per call. The milder temperature, which tells a slow approach
        # from a stall, is asked only where the extreme one is not yet within the tolerance of its
        # reference: elsewhere the margin is ``tol - d`` >= 0 whatever it says (see _jump_margin).
        parts = ((1, "b-inf", 1e6, 1e12), (2, "b-zero", 1e-6, 1e-12))
        probes = []
        for k in range(K):
            e = np.zeros((N, K))
            e[:, k] = 1.0
            probes.append((x.P, x.T, e))
            probes += [(x.P, self._at(x.T, k, extreme), x.w) for _, _, _, extreme in parts]
        uniform = [(self._limit_rows(x.P, k, "b-inf"), self._at(x.T, k, 1.0), x.w) for k in range(K)]
        together = op.evaluate_together(probes + uniform)
        probed = iter(together[:len(probes)])
        one_hot = [(self._limit_rows(x.P, k, "b-zero"), self._at(x.T, k, 1.0), k) for k in range(K)]
        try:
            to_zero = op.evaluate_together([(P_lim, T_lim, x.w) for P_lim, T_lim, _ in one_hot])
        except OperatorUndefined:  # e.g. log 0 at a one-hot limit row: limit rows with zeros by the open-domain path
            try:
                to_zero = op.evaluate_together([(self._inside(x, P_lim, k), T_lim, x.w) for P_lim, T_lim, k in one_hot])
            except OperatorUndefined:  # one by one, to tell which reference is undefined
                to_zero = [self._reference(op, x, P_lim, T_lim, k) for P_lim, T_lim, k in one_hot]
        references = iter(q for pair in zip(together[len(probes):], to_zero) for q in pair)
        # Near-ties of teacher k converge too slowly to judge in float64 (T_k -> 0); exact ties are fine.
        srt = np.sort(x.P, axis=-1)
        near_tie = (srt[..., -2] < srt[..., -1]) & (srt[..., -2] > srt[..., -1] * (1 - 1e-3))
        pending = []  # (k, code, rows, target, distance at the extreme temperature) still to judge
        for k in range(K):
            diff = np.abs(next(probed) - Q[:, k])
            keep(-diff.max(axis=-1), 0, k, diff.argmax(axis=-1))
            for code, name, _, _ in parts:
                target = next(references)
                d_extreme = np.abs(next(probed) - target).max(axis=-1)
                tie = near_tie[:, k] if name == "b-zero" else np.zeros(N, bool)
                judged = tie | (d_extreme <= self._tol)
                keep(np.where(judged & ~tie, self._tol - d_extreme, np.inf), code, k, np.zeros(N, int))
                rows = np.flatnonzero(~judged)
                if len(rows):
                    pending.append((k, code, rows, target[rows], d_extreme[rows]))
        if pending:
            milder = {code: mild for code, _, mild, _ in parts}
            slower = iter(op.evaluate_together([(x.P[rows], self._at(x.T[rows], k, milder[code]), x.w[rows])
                                                for k, code, rows, _, _ in pending]))
            for k, code, rows, target, d_extreme in pending:
                m = np.full(N, np.inf)
                m[rows] = _jump_margin(np.abs(next(slower) - target).max(axis=-1), d_extreme, self._tol)
                keep(m, code, k, np.zeros(N, int))
        names = np.array(["a", "b-inf", "b-zero"])
        return Margins(best, np.zeros(N, bool), {"part": names[part], "k": wk, "token": wi})

    @classmethod
    def _limit_rows(cls, P: np.ndarray, k: int, part: str) -> np.ndarray:
        """``P`` with teacher ``k``'s rows at their limit (a copy)."""
        out = P.copy()
        out[:, k] = cls.limit_teacher(P[:, k], part)
        return out

    @staticmethod
    def _at(T: np.ndarray, k: int, t: float) -> np.ndarray:
        """``T`` with teacher ``k``'s temperature set to ``t`` (a copy)."""
        out = T.copy()
        out[:, k] = t
        return out

    @staticmethod
    def _reference(op: Operator, x: Batch, P_lim: np.ndarray, T_lim: np.ndarray, k: int) -> np.ndarray:
        """The pool with teacher ``k`` at its limit; where the operator is undefined at a one-hot row
        (log 0: outside the open domain), the limit along ``p_k <- (1 - e) onehot + e p_k`` at a tiny ``e``
        (FORMALIZATION: an operator is never blamed for an input the statement does not admit)."""
        try:
            return op.evaluate(P_lim, T_lim, x.w)
        except OperatorUndefined:
            if not (P_lim[:, k] == 0).any():
                raise
            return op.evaluate(Axiom5._inside(x, P_lim, k), T_lim, x.w)

    @staticmethod
    def _inside(x: Batch, P_lim: np.ndarray, k: int) -> np.ndarray:
        """``P_lim`` with teacher ``k``'s limit row moved into the open domain, ``(1 - e) limit + e p_k``,
        where it has zeros (rows without zeros unchanged)."""
        if not (P_lim[:, k] == 0).any():
            return P_lim
        inside = P_lim.copy()
        inside[:, k] = (1 - ONE_HOT_PATH_E) * P_lim[:, k] + ONE_HOT_PATH_E * x.P[:, k]
        return inside

    def follow_limit(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any]) -> tuple[Any, PreciseMargin]:
        """Float evidence for part (b): follow ``T_k`` towards 0 or inf until the pool converges or stalls.

        The steps are decades of ``T_k`` (``1e-1 .. 1e-300`` or ``1e1 .. 1e300``); "stalls" only counts
        beyond the scale where the data say convergence must have begun: ``T_k < w_min * gap / (100 * C)``
        (``gap``: teacher ``k``'s log-ratio between its top two values; a weight ``w`` makes a geometric
        pool converge only once ``w * gap / T_k`` is large, and only once it outweighs the other
        teachers' temperature-scaled log-ranges, ``C = max(1, sum_j range_j / T_j)``: a teacher at
        ``T_j = 1e-6`` delays the limit by a factor 1e6) or ``T_k > 100 * range / w_min``.
        """
        from mtkd.counterexamples.float_evidence import holds_inputs, limit_evidence

        k, part = witness["k"], witness["part"]
        P, T, w = x.floats()
        P_lim, T_lim = P.copy(), T.copy()
        P_lim[k] = self.limit_teacher(P[None, k], part)[0]
        T_lim[k] = 1.0
        wmin = float(w[w > 0].min())
        logs = np.log(P[k][P[k] > 0])
        reference = self._float_reference(op, P, T, w, P_lim, T_lim, k)
        if reference is None:
            from mtkd.counterexamples.float_evidence import LimitEvidence

            return LimitEvidence((), "undecided", "the reference pool (teacher at its limit) did not converge"), \
                PreciseMargin(0, False)
        target, radius = reference
        tol = 4 * radius + 4 * op.eps

        def distance(t: float) -> float:
            Tt = T.copy()
            Tt[k] = t
            if not holds_inputs(op.dtype, P, Tt, w):
                # A narrow dtype changes such an input before any arithmetic (a probability of 1e-192 is
                # 0 in float32: log 0 keeps the teacher one-hot at every T): no evidence from here on.
                return float("nan")
            return float(np.abs(op.evaluate(P[None], Tt[None], w[None])[0] - target).max())

        if part == "b-zero":
            below = logs[logs < logs.max()]
            gap = float(logs.max() - below.max()) if len(below) else 1.0
            others = sum(float(np.ptp(np.log(P[j][P[j] > 0]))) / T[j] for j in range(len(P)) if j != k and w[j] > 0)
            past, params = wmin * gap / (100 * max(1.0, others)), [10.0 ** -j for j in range(1, 301)]
        else:
            past, params = 100 * max(float(logs.max() - logs.min()), 1.0) / wmin, [10.0 ** j for j in range(1, 301)]
        ev = limit_evidence(distance, params, tol, past)
        seen = ev.distances
        pm = PreciseMargin(-seen[-1][1] if seen else 0, False, detail={
            "distance to the limit pool (T_k extreme 1)": f"{seen[-2][1]:.6g} at T_k = {seen[-2][0]:.3g}" if len(seen) > 1 else "",
            "distance to the limit pool (T_k extreme 2)": f"{seen[-1][1]:.6g} at T_k = {seen[-1][0]:.3g}" if seen else ""})
        return ev, pm

    @staticmethod
    def _float_reference(op: Operator, P: np.ndarray, T: np.ndarray, w: np.ndarray, P_lim: np.ndarray,
                         T_lim: np.ndarray, k: int) -> tuple[np.ndarray, float] | None:
        """The reference pool and its measured radius; along ``(1 - e) onehot + e p_k`` where undefined."""
        from mtkd.counterexamples.float_evidence import measure

        try:
            m = measure(op, P_lim, T_lim, w)
            return m.q, float(m.radius.max())
        except OperatorUndefined:
            pass
        previous = None
        for j in range(1, 301):
            e = 10.0 ** -j
            inside = P_lim.copy()
            inside[k] = (1 - e) * P_lim[k] + e * P[k]
            try:
                m = measure(op, inside, T_lim, w)
            except OperatorUndefined:
                return None
            r = float(m.radius.max())
            if previous is not None and float(np.abs(m.q - previous).max()) <= 4 * r + 4 * op.eps:
                return m.q, r
            previous = m.q
        return None

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        k, part = witness["k"], witness["part"]
        if part == "a":
            i = witness["token"]
            e = [Fraction(int(j == k)) for j in range(x.K)]
            gi = op.evaluate_precise(x.P, x.T, e, ctx)[i]
            Qki = precise_Q(x, ctx)[k][i]
            return equality_margin(ctx, gi, Qki, (f"G(P,T,e_{k})({i})", f"tau_T{k}(p_{k})({i})"))
        lim = self.limit_teacher(x.row_floats(k), part)
        exact_lim = tuple(Fraction(1, int(round(1 / v))) if v > 0 else Fraction(0) for v in lim)
        P_lim = tuple(exact_lim if j == k else row for j, row in enumerate(x.P))
        T_lim = tuple(Fraction(1) if j == k else t for j, t in enumerate(x.T))
        try:
            target = op.evaluate_precise(P_lim, T_lim, x.w, ctx)
        except (ArithmeticError, ValueError, OperatorUndefined) as exc:
            if part != "b-zero" or isinstance(exc, NotVectorised):
                raise
            # Undefined at the one-hot row (log 0): the reference is the limit along the open path.
            step = Fraction(1, 10**60)
            inside = tuple(tuple((1 - step) * a + step * b for a, b in zip(exact_lim, x.P[k])) if j == k else row
                           for j, row in enumerate(x.P))
            target = op.evaluate_precise(inside, T_lim, x.w, ctx)
        # Extreme relative to the smallest positive weight: a teacher with weight 1e-205 reaches
        # its limit only once T_k << w_k (geometric: Q_k^w_k), so fixed 1e-20 / 1e-40 would
        # mistake slow convergence for none (a certified "refutation" of geometric did).
        scale = min([Fraction(1)] + [wj for wj in x.w if wj > 0])
        changes = []
        for t in ((Fraction(10**20) / scale, Fraction(10**40) / scale) if part == "b-inf"
                  else (scale / 10**20, scale / 10**40)):
            T = tuple(t if j == k else tj for j, tj in enumerate(x.T))
            q = op.evaluate_precise(x.P, T, x.w, ctx)
            changes.append(_sup_distance(q, target, ctx))
        return PreciseMargin(_jump_margin(changes[0], changes[1], ctx.num(Fraction(1, 10**6)), ctx), False,
                             detail={"distance to the limit pool (T_k extreme 1)": fmt(ctx, changes[0]),
                                     "distance to the limit pool (T_k extreme 2)": fmt(ctx, changes[1])})

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        k, part = witness["k"], witness["part"]
        if part == "a":
            i = witness["token"]
            return (f"with all weight on teacher {k}, the pool should be teacher {k} at its own temperature, "
                    f"but at token {i} it is {pm.detail[f'G(P,T,e_{k})({i})']} instead of "
                    f"{pm.detail[f'tau_T{k}(p_{k})({i})']}.")
        where = "T_k -> inf (teacher should become uniform)" if part == "b-inf" else "T_k -> 0+ (teacher should become one-hot)"
        vals = list(pm.detail.values())
        return (f"as {where} for teacher {k}, the pool stays {vals[1]} away from the pool with teacher {k} "
                "replaced by its limit.")
