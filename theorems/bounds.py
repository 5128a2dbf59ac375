"""Section IV's bounds: Jensen (IV.7), log-loss (IV.9), attenuation (IV.11) and safety (IV.12)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Mapping

import numpy as np
import sympy as sp
import z3

from mtkd.operators import Operator
from mtkd.operators.precision import Context
from mtkd.operators.precision_float import LaneSeq
from mtkd.operators.smt_encoding import zval

from . import symbols as sy
from .notation import Exists, ForAll, IndexedMax
from .parts import ALL_SIZES, Absent, Relaxation, SmtEncoding, SymbolicProof, WitnessField, WitnessKind
from .property import Batch, ExactPoint, Margins, PreciseMargin, Property, fmt, precise_Q, token_margins
from .smt_properties import Candidate, Item, Setup, Stage, exact_q, rat


def _xlogx(a: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a > 0, a * np.log(np.where(a > 0, a, 1.0)), 0.0)


class ThmIV7(Property):
    """Jensen bound: ``KL(q || s) <= sum_k w_k KL(Q_k || s)`` for every open-simplex student ``s``.

    The margin is affine in ``log s``: ``C + sum_i d_i log s_i`` with ``d = q - m`` (``m`` the linear
    mixture) and ``C = sum_k w_k sum_i Q_k log Q_k - sum_i q log q``. So whenever ``q != m`` the
    student ``s ∝ exp(-t d)`` with large enough ``t`` violates it: the witness is *constructed*,
    not sampled (random students almost never find it at large V).
    """

    id = "thm-IV.7"
    vectorised_margin = True
    title = "Theorem IV.7 (Jensen bound, mixture KL <= sum of KLs)"
    reference = "Theorem IV.7, Sec. IV-B"
    wording = "for every student s on the open simplex: KL(q || s) <= sum_k w_k KL(Q_k || s)."

    witness_fields = {"s": WitnessKind.PER_TOKEN}
    smt = Absent("outside z3's theory (logarithms): KL(q||s) <= sum_k w_k KL(Q_k||s) compares sums "
                 "of logarithms, which are transcendental; see the symbolic and search layers")
    symbolic = {"linear": SymbolicProof(ALL_SIZES + ", students on the open simplex", ("thm-IV.7",))}

    def statement(self) -> sp.Basic:
        mix = sp.Sum(sy.q(sy.i) * sp.log(sy.q(sy.i) / sy.s[sy.i]), (sy.i, 1, sy.V))
        multi = sp.Sum(sy.w[sy.k] * sp.Sum(sy.Q[sy.k, sy.i] * sp.log(sy.Q[sy.k, sy.i] / sy.s[sy.i]), (sy.i, 1, sy.V)), (sy.k, 1, sy.K))
        return sy.inputs(ForAll(((sy.sv, sy.STUDENTS),), sp.Le(mix, multi)))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        Q = x.Q()
        q = op.evaluate(x.P, x.T, x.w)
        m = np.einsum("nk,nkv->nv", x.w, Q)
        C = np.einsum("nk,nk->n", x.w, _xlogx(Q).sum(-1)) - _xlogx(q).sum(-1)
        d = q - m
        norm2 = (d * d).sum(-1)
        # Pick t so that the predicted margin C - t |d|^2 is -max(|C|, 1e-3 |d|): well clear of zero.
        # t may be huge when q is close to m, so the student is kept as log-weights, never as
        # probabilities (which would underflow). |d| at round-off level means q = m: t = 0.
        t = np.where(norm2 > 1e-30,
                     (np.abs(C) + 2 * np.maximum(np.abs(C), 1e-3 * np.sqrt(norm2))) / np.maximum(norm2, 1e-300), 0.0)
        a = -t[:, None] * d
        log_s = a - (a.max(-1, keepdims=True) + np.log(np.exp(a - a.max(-1, keepdims=True)).sum(-1, keepdims=True)))
        values = C + ((q - m) * log_s).sum(-1)
        return Margins(values, np.zeros(len(q), bool), {"log_s": a})

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        logs = self._student_logs(witness, ctx)
        Q = precise_Q(x, ctx)
        q = op.evaluate_precise(x.P, x.T, x.w, ctx)
        lhs = _kl(q, logs, ctx)
        rhs = sum((ctx.num(wk) * _kl(row, logs, ctx) for wk, row in zip(x.w, Q)), ctx.num(0))
        return PreciseMargin(rhs - lhs, False, detail={"KL(q||s)": fmt(ctx, lhs), "sum_k w_k KL(Q_k||s)": fmt(ctx, rhs)})

    def witness_schema(self, witness: Mapping[str, Any]) -> dict[str, WitnessField]:
        # Newer witnesses hold the student as log-weights (s ∝ exp(log_s)), older files s itself.
        return {"log_s": WitnessKind.PER_TOKEN} if "log_s" in witness else dict(self.witness_fields)

    @staticmethod
    def _student_logs(witness: Mapping[str, Any], ctx: Context) -> Sequence[Any]:
        """``log s`` from the witness: log-weights ``a`` (``s ∝ exp(a)``) or, in older files, ``s`` itself."""
        if "log_s" in witness and getattr(ctx, "vectorised", False):
            lanes = ctx.row([str(v) for v in witness["log_s"]])  # type: ignore[attr-defined]
            top = float(np.max(lanes.hi))  # any real shift cancels; this one keeps exp finite
            return LaneSeq(lanes - (ctx.log(ctx.total(ctx.exp(lanes - top))) + top))  # type: ignore[attr-defined]
        if "log_s" in witness:
            a = [ctx.num(Fraction(v)) for v in witness["log_s"]]
            log_z = ctx.log(sum((ctx.exp(v) for v in a), ctx.num(0)))
            return [v - log_z for v in a]
        s = [Fraction(v) for v in witness["s"]]
        top = max(range(len(s)), key=lambda j: s[j])
        s[top] += 1 - sum(s)
        return [ctx.log(ctx.num(v)) for v in s]

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        return (f"for the student s in the witness (s ∝ exp(log_s)), KL(q||s) = {pm.detail['KL(q||s)']} exceeds "
                f"sum_k w_k KL(Q_k||s) = {pm.detail['sum_k w_k KL(Q_k||s)']}: the Jensen bound needs q to be "
                "the linear mixture of the teachers.")


def _kl(p: Sequence[Any], log_s: Sequence[Any], ctx: Context) -> Any:
    if isinstance(p, LaneSeq) and isinstance(log_s, LaneSeq):
        # Whole rows at once; a row mixing zeros and non-zeros makes is_zero raise (balls decide).
        return ctx.num(0) if ctx.is_zero(p.value) else ctx.total(p.value * (ctx.log(p.value) - log_s.value))  # type: ignore[attr-defined]
    return sum((pi * (ctx.log(pi) - ls) for pi, ls in zip(p, log_s) if not ctx.is_zero(pi)), ctx.num(0))


class ThmIV9(Property):
    """Log-loss bound: ``-log q(y) <= -sum_k w_k log Q_k(y)`` for every token ``y``.

    On the closed domain both sides live in ``[0, +inf]``: the right side is ``+inf`` when a
    positive-weight teacher rules ``y`` out (the bound then holds), and ``q(y) = 0`` against a
    finite right side is a violation.
    """

    id = "thm-IV.9"
    vectorised_margin = True
    title = "Theorem IV.9 (Jensen log-loss bound)"
    reference = "Theorem IV.9, Sec. IV-C"
    wording = "for every token y: -log q(y) <= -sum_k w_k log Q_k(y)."

    witness_fields = {"token": WitnessKind.TOKEN}
    smt = Absent("outside z3's theory (logarithms): -log q(y) <= -sum_k w_k log Q_k(y) is, after "
                 "exponentiation, a weighted geometric mean with symbolic exponents w_k; see the "
                 "symbolic and search layers")
    symbolic = {"linear": SymbolicProof(ALL_SIZES, ("thm-IV.9",)), "geometric": SymbolicProof(ALL_SIZES, ("thm-IV.9",))}

    def statement(self) -> sp.Basic:
        return sy.inputs(ForAll(((sy.y, sy.TOKENS),), sp.Le(-sp.log(sy.q(sy.y)), -sp.Sum(sy.w[sy.k] * sp.log(sy.Q[sy.k, sy.y]), (sy.k, 1, sy.K)))))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        Q = x.Q()
        q = op.evaluate(x.P, x.T, x.w)
        with np.errstate(divide="ignore", invalid="ignore"):
            rhs = -np.where(x.w[..., None] > 0, x.w[..., None] * np.log(Q), 0.0).sum(axis=-2)
            gap = rhs + np.log(q)
        gap = np.where(np.isnan(gap), np.inf, gap)
        return token_margins(gap)

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        y = witness["token"]
        Q = precise_Q(x, ctx)
        qy = op.evaluate_precise(x.P, x.T, x.w, ctx)[y]
        # Closed domain: log 0 is never evaluated. A positive-weight teacher with Q_k(y) = 0 makes
        # the right side +inf, so the bound holds (even if q(y) = 0); otherwise the right side is
        # finite and q(y) = 0 makes the left side +inf, a violation. The margin's sign is all that
        # matters, so the infinite cases get the margins +1 and -1.
        if any(wk > 0 and ctx.is_zero(row[y]) for wk, row in zip(x.w, Q)):
            return PreciseMargin(ctx.num(1), False, detail={"-log q(y)": "(any)", "rhs": "+inf"})
        rhs = -sum((ctx.num(wk) * ctx.log(row[y]) for wk, row in zip(x.w, Q) if wk > 0), ctx.num(0))
        if ctx.is_zero(qy):
            return PreciseMargin(ctx.num(-1), False, detail={"-log q(y)": "+inf (q(y) = 0)", "rhs": fmt(ctx, rhs)})
        return PreciseMargin(rhs + ctx.log(qy), False, detail={"-log q(y)": fmt(ctx, -ctx.log(qy)), "rhs": fmt(ctx, rhs)})

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        return (f"for token y = {witness['token']}, -log q(y) = {pm.detail['-log q(y)']} exceeds "
                f"-sum_k w_k log Q_k(y) = {pm.detail['rhs']}.")


def _smt_prop_IV_11(s: Setup) -> list[Stage]:
    w = s.weights()
    q = s.q(w)
    col = [s.t.Q[k][0] for k in range(s.K)]
    if s.fixed_w is None:
        # Anonymity: let teacher 0 attain the maximum at token 0 (no max auxiliary needed).
        m = col[0]
        s.cons += [m >= x for x in col[1:]]
    else:
        m = s.zmax(col, "mx")
    strict_premise = z3.Or([z3.And(zval(s.ctx, w[k]) > 0, col[k] < m) for k in range(s.K)])
    bad = z3.And(q[0] >= m, z3.Or(q[0] > m, strict_premise))

    def items(c: Candidate) -> list[Item]:
        qe = exact_q(s.enc, c)
        out = []
        for i in range(s.V):
            top = max(row[i] for row in c.Q)
            strict = any(c.w[k] > 0 and c.Q[k][i] < top for k in range(s.K))
            out.append(Item(rat(top) - qe[i], {"token": i}, strict=strict))
        return out
    return [Stage(s.assertions(bad), "", s.certifier(w, items))]


class PropIV11(Property):
    """Attenuation: ``q(i) <= max_k Q_k(i)``, strictly when a positive-weight teacher is below the max."""

    id = "prop-IV.11"
    vectorised_margin = True
    title = "Proposition IV.11 (convex-combination attenuation)"
    reference = "Proposition IV.11, Sec. IV-D"
    wording = "q(i) <= max_k Q_k(i) for all i, strict when some k* with w_k* > 0 has Q_k*(i) < max_k Q_k(i)."

    witness_fields = {"token": WitnessKind.TOKEN}
    smt = SmtEncoding(_smt_prop_IV_11, reduction="token 0 by neutrality (free weights: teacher 0 attains the max by anonymity)",
                      token0=True, relaxation=Relaxation.COLUMN0)

    def statement(self) -> sp.Basic:
        top = IndexedMax(sy.Q[sy.k, sy.i], sy.k, sy.TEACHER_IDS)
        return sy.inputs(ForAll(((sy.i, sy.TOKENS),), sp.And(sp.Le(sy.q(sy.i), top), sp.Implies(
            Exists(((sy.kstar, sy.TEACHER_IDS),), sp.And(sp.Gt(sy.w[sy.kstar], 0), sp.Lt(sy.Q[sy.kstar, sy.i], top))), sp.Lt(sy.q(sy.i), top)))))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        Q = x.Q()
        q = op.evaluate(x.P, x.T, x.w)
        top = Q.max(axis=1)
        strict = ((x.w[..., None] > 0) & (Q < top[:, None, :])).any(axis=1)
        gap = top - q
        # Rank strict tokens first at equal gap: they are the ones that can fail at gap = 0.
        i = np.argmin(np.where(strict, gap - 1e-300, gap), axis=-1)
        return Margins(np.take_along_axis(gap, i[:, None], -1)[:, 0], np.take_along_axis(strict, i[:, None], -1)[:, 0],
                       {"token": i})

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        i = witness["token"]
        Q = precise_Q(x, ctx)
        qi = op.evaluate_precise(x.P, x.T, x.w, ctx)[i]
        top = ctx.max(row[i] for row in Q)
        below = [row[i] for wk, row in zip(x.w, Q) if wk > 0]
        strict = any(ctx.sign(top - v) == 1 for v in below)
        return PreciseMargin(top - qi, strict, detail={"q(i)": fmt(ctx, qi), "max_k Q_k(i)": fmt(ctx, top)})

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        i = witness["token"]
        return (f"the pooled probability of token {i}, q({i}) = {pm.detail['q(i)']}, is not below the most "
                f"confident teacher's max_k Q_k({i}) = {pm.detail['max_k Q_k(i)']}: aggregation amplified it.")


def _smt_cor_IV_12(s: Setup) -> list[Stage]:
    """For K = 1 the bound is ``0 * max(empty) + 1 * Q_0(i)``: the empty max never matters."""
    w = s.weights()
    q = s.q(w)
    stars = [0] if s.fixed_w is None else list(range(s.K))
    bad = []
    for ks in stars:
        others = [s.t.Q[k][0] for k in range(s.K) if k != ks]
        rest = s.zmax(others, f"mo{ks}") if others else zval(s.ctx, 0)
        wk = zval(s.ctx, w[ks])
        bad.append(q[0] > (1 - wk) * rest + wk * s.t.Q[ks][0])

    def items(c: Candidate) -> list[Item]:
        qe = exact_q(s.enc, c)
        out = []
        for i in range(s.V):
            for ks in range(s.K):
                rest = max([c.Q[k][i] for k in range(s.K) if k != ks], default=Fraction(0))
                bound = (1 - c.w[ks]) * rest + c.w[ks] * c.Q[ks][i]
                out.append(Item(rat(bound) - qe[i], {"token": i, "k": ks}))
        return out
    return [Stage(s.assertions(z3.Or(bad)), "", s.certifier(w, items))]


class CorIV12(Property):
    """Safety inheritance: ``q(i) <= (1 - w_k*) max_{k != k*} Q_k(i) + w_k* Q_k*(i)``.

    With one teacher the max over no teachers is taken as 0, so the bound reads ``q(i) <= Q_1(i)``.
    """

    id = "cor-IV.12"
    vectorised_margin = True
    title = "Corollary IV.12 (safety inheritance)"
    reference = "Corollary IV.12, Sec. IV-D"
    wording = "for every i and k*: q(i) <= (1 - w_k*) max_{k != k*} Q_k(i) + w_k* Q_k*(i)."

    witness_fields = {"k": WitnessKind.TEACHER, "token": WitnessKind.TOKEN}
    smt = SmtEncoding(_smt_cor_IV_12, reduction="token 0 by neutrality", token0=True, relaxation=Relaxation.COLUMN0)

    def statement(self) -> sp.Basic:
        bound = (1 - sy.w[sy.kstar]) * IndexedMax(sy.Q[sy.k, sy.i], sy.k, sy.OTHER_TEACHERS) + sy.w[sy.kstar] * sy.Q[sy.kstar, sy.i]
        return sy.inputs(ForAll(((sy.i, sy.TOKENS), (sy.kstar, sy.TEACHER_IDS)), sp.Le(sy.q(sy.i), bound)))

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        N, K, V = x.shape
        Q = x.Q()
        q = op.evaluate(x.P, x.T, x.w)
        bounds = np.empty((N, K, V))
        for k in range(K):
            others = np.delete(Q, k, axis=1).max(axis=1) if K > 1 else np.zeros((N, V))
            bounds[:, k] = (1 - x.w[:, [k]]) * others + x.w[:, [k]] * Q[:, k]
        gap = (bounds - q[:, None, :]).reshape(N, K * V)
        flat = gap.argmin(axis=-1)
        return Margins(gap.min(axis=-1), np.zeros(N, bool), {"k": flat // V, "token": flat % V})

    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        k, i = witness["k"], witness["token"]
        Q = precise_Q(x, ctx)
        qi = op.evaluate_precise(x.P, x.T, x.w, ctx)[i]
        others = ctx.max(row[i] for j, row in enumerate(Q) if j != k) if x.K > 1 else ctx.num(0)
        bound = ctx.num(1 - x.w[k]) * others + ctx.num(x.w[k]) * Q[k][i]
        return PreciseMargin(bound - qi, False, detail={"q(i)": fmt(ctx, qi), "bound": fmt(ctx, bound)})

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        k, i = witness["k"], witness["token"]
        return (f"with the safety teacher k* = {k}, q({i}) = {pm.detail['q(i)']} exceeds the bound "
                f"(1 - w_k*) max_(k != k*) Q_k({i}) + w_k* Q_k*({i}) = {pm.detail['bound']}.")
