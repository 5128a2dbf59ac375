"""Each property as z3 queries for its *violation*, plus an exact re-check of any model.

A property at one size (K, V, and the fixed weights if the operator needs them) becomes a list
of :class:`Stage` queries tried in order. ``unsat`` of a stage proves the property at that size;
``sat`` either refutes it (the model is re-evaluated exactly by :func:`certify`) or, for a
stage that only tries a cheap proof witness, moves on to the next stage.

Symmetry reductions (sound for every built-in operator, and stated in the proof scope): all
built-ins are *neutral* (the same function of each token's column, then normalised), so the
violated token is taken to be 0; operators with free weights are *anonymous* (permuting
teachers together with their weights changes nothing), so the teachers named by a property
are 0 (and 1). With fixed weights, teacher choices are disjunctions over all teachers.
Certification never uses these reductions: it evaluates the margin at every token/teacher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Sequence

import sympy
import z3

from mtkd.results import Counterexample

from .smt_exact import exact_sign, fmt, normalise, snap, to_fraction
from .smt_operators import DirectTeachers, Encoder, Teachers, Weight, _normalised, zval

SNAP_DENOMINATORS: tuple[int | None, ...] = (10, 100, 1000, 10**4, 10**6, None)
"""Denominators tried, smallest first, when turning a model into a readable exact input."""


@dataclass
class Candidate:
    """An exact rational input read from a model: teachers, weights, other quantified values."""

    Q: list[list[Fraction]]
    w: list[Fraction]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Item:
    """The margin at one witness; ``strict``: the statement demands ``margin > 0`` there."""

    margin: sympy.Expr
    witness: dict[str, Any]
    strict: bool = False


@dataclass
class Stage:
    """One z3 query; ``certify`` is None when a model only means "try the next stage".

    ``unsat_proves`` is False for a stage that searches a *sufficient* condition for a
    violation: its unsat only means "try the next stage".
    """

    assertions: list[z3.BoolRef]
    note: str
    certify: Callable[[z3.ModelRef], Counterexample] | None
    unsat_proves: bool = True
    lemmas: list[list[z3.BoolRef]] = field(default_factory=list)
    """Queries that must all be unsat too before this stage's unsat counts as a proof."""


def rat(x: Fraction) -> sympy.Rational:
    return sympy.Rational(x.numerator, x.denominator)


class Setup:
    """The shared pieces of one size's queries: context, teachers, weights, ``q``."""

    def __init__(self, enc: Encoder, K: int, V: int, fixed_w: Sequence[Fraction] | None,
                 weight_vectors: Sequence[Sequence[Fraction]] = (), token0: bool = False,
                 relax: str = "") -> None:
        """``token0``: the query mentions token 0 only, so a column-local operator needs no
        other column (see :class:`DirectTeachers`). ``relax``: ``"column0"`` uses the
        operator's column-0 over-approximation of ``q(0)``; ``"positive"`` replaces the
        operator by ``q = M / sum M`` with arbitrary ``M > 0`` (see :func:`relaxed_stages`)."""
        self.enc, self.K, self.V, self.fixed_w, self.relax = enc, K, V, fixed_w, relax
        self.ctx = z3.Context()
        vectors = ([list(fixed_w)] if fixed_w is not None else []) + [list(v) for v in weight_vectors]
        if relax == "column0":
            self.t: Teachers = enc.column0_teachers(self.ctx, K, V)  # type: ignore[attr-defined]
        elif token0 and enc.column_local:
            self.t = DirectTeachers(self.ctx, K, V, column0_only=True)
        else:
            self.t = enc.teachers(self.ctx, K, V, vectors)
        self.cons: list[z3.BoolRef] = []
        self._q_cache: list[z3.ArithRef] | None = None

    def weights(self, name: str = "w") -> list[Weight]:
        """The operator's weights: fixed rationals, or fresh variables on the simplex."""
        if self.fixed_w is not None:
            return list(self.fixed_w)
        w = [z3.Real(f"{name}_{k}", self.ctx) for k in range(self.K)]
        self.cons += [x >= 0 for x in w] + [z3.Sum(w) == 1]
        return w

    def q(self, w: Sequence[Weight], tag: str = "") -> list[z3.ArithRef]:
        # Reusing q for weight-blind operators matters: with three copies of max's case split,
        # z3 must first rediscover that they coincide, and times out at K = 4.
        if not self.enc.uses_weights and self._q_cache is not None:
            return self._q_cache
        if self.relax == "column0":
            q0, cons = self.enc.relaxed_q0(self.t, w)  # type: ignore[attr-defined]
            q = [q0]
        elif self.relax == "positive":
            M = [z3.Real(f"M{tag}_{i}", self.ctx) for i in range(self.V)]
            q, cons = _normalised(self.ctx, M, tag)
            cons += [x > 0 for x in M]
        else:
            q, cons = self.enc.aggregate(self.t, w, tag)
        self.cons += cons
        self._q_cache = q
        return q

    def zmax(self, xs: Sequence[z3.ArithRef], name: str) -> z3.ArithRef:
        """A fresh ``m == max(xs)``."""
        m = z3.Real(name, self.ctx)
        self.cons += [m >= x for x in xs] + [z3.Or([m == x for x in xs])]
        return m

    def assertions(self, violation: z3.BoolRef) -> list[z3.BoolRef]:
        # Teacher constraints last: some teachers create their Q variables lazily.
        return [violation] + self.cons + self.t.constraints

    def read_w(self, model: z3.ModelRef, w: Sequence[Weight], max_den: int | None) -> list[Fraction]:
        if self.fixed_w is not None:
            return list(self.fixed_w)
        return normalise([snap(to_fraction(model.eval(x, True)), max_den) for x in w])

    def certifier(self, w: Sequence[Weight], items: Callable[[Candidate], list[Item]],
                  read_extra: Callable[[z3.ModelRef, int | None], dict[str, Any]] | None = None,
                  ) -> Callable[[z3.ModelRef], Counterexample]:
        def read(model: z3.ModelRef, max_den: int | None) -> Candidate:
            extra = read_extra(model, max_den) if read_extra else {}
            return Candidate(self.t.snap(model, max_den), self.read_w(model, w, max_den), extra)
        return lambda model: certify(model, read, items, self.enc.label)


def certify(model: z3.ModelRef, read: Callable[[z3.ModelRef, int | None], Candidate],
            items: Callable[[Candidate], list[Item]], label: str) -> Counterexample:
    """Turn a model into a counterexample whose violation is re-established exactly.

    Tries small denominators first (readable inputs), then the model's own values.
    """
    for max_den in SNAP_DENOMINATORS:
        cand = read(model, max_den)
        violated = []
        for item in items(cand):
            sign = exact_sign(item.margin)
            if sign < 0 or (sign == 0 and item.strict):
                violated.append(item)
        if violated:
            worst = min(violated, key=lambda it: float(sympy.N(it.margin, 30)))
            how = "rational arithmetic" if worst.margin.is_Rational else \
                "minimal polynomial and isolating interval (sympy)"
            kind = "= 0 where the statement is strict" if exact_sign(worst.margin) == 0 else "< 0"
            return Counterexample(
                P=tuple(tuple(fmt(x) for x in row) for row in cand.Q),
                T=tuple("1" for _ in cand.Q), w=tuple(fmt(x) for x in cand.w),
                witness={**worst.witness, **cand.extra}, margin=fmt(worst.margin),
                precision="exact (rational)" if worst.margin.is_Rational else "exact (algebraic)",
                certified=True,
                certificate=(f"z3 model snapped to denominators <= {max_den or 'model'}; margin "
                             f"re-evaluated exactly by {how}: {fmt(worst.margin)} {kind}"),
                explanation=(f"{label}: P rows are the temperature-scaled teachers Q with T = 1 "
                             "(valid for every T by the bijection lemma)"))
    cand = read(model, None)
    return Counterexample(
        P=tuple(tuple(fmt(x) for x in row) for row in cand.Q), T=tuple("1" for _ in cand.Q),
        w=tuple(fmt(x) for x in cand.w), witness=dict(cand.extra), margin="",
        precision="z3 model (algebraic values approximated to 40 digits)", certified=False,
        certificate="not certified: the exact re-evaluation of the model did not show a violation",
        explanation=f"{label}: z3 reported a violation that exact arithmetic could not confirm")


def exact_q(enc: Encoder, c: Candidate, w: Sequence[Fraction] | None = None) -> list[sympy.Expr]:
    return enc.exact_q([[rat(x) for x in row] for row in c.Q], [rat(x) for x in (w or c.w)])


def neg_abs(diff: sympy.Expr) -> sympy.Expr:
    """``-|diff|`` for an algebraic ``diff``, with the sign decided exactly."""
    return -diff if exact_sign(diff) >= 0 else diff


# --------------------------------------------------------------------------- properties


def axiom1(s: Setup) -> list[Stage]:
    w = s.weights()
    q = s.q(w)
    bad = z3.Or([x < 0 for x in q] + [z3.Sum(q) != 1])

    def items(c: Candidate) -> list[Item]:
        qe = exact_q(s.enc, c)
        return [Item(x, {"token": i}) for i, x in enumerate(qe)] + \
               [Item(neg_abs(sympy.Add(*qe) - 1), {"sum": True})]
    return [Stage(s.assertions(bad), "", s.certifier(w, items))]


def axiom2(s: Setup) -> list[Stage]:
    w = s.weights()
    q = s.q(w)

    def items(c: Candidate) -> list[Item]:
        return [Item(x, {"token": i}, strict=True) for i, x in enumerate(exact_q(s.enc, c))]
    return [Stage(s.assertions(z3.Or([x <= 0 for x in q])), "", s.certifier(w, items))]


def axiom1_hull(s: Setup) -> list[Stage]:
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
        c.extra["y"] = [fmt(x) for x in c.extra["y"]]
        qe = exact_q(s.enc, c)
        floor = min(sum(yi * rat(x) for yi, x in zip(yv, row)) for row in c.Q)
        return [Item(sympy.Add(*[yi * x for yi, x in zip(yv, qe)]) - floor,
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


def axiom3(s: Setup) -> list[Stage]:
    w = s.weights()
    der = s.enc.derivative_sign(s.t, w, 0, 0, 1)
    assert der is not None
    sign_term, cons = der
    s.cons += cons
    bad = z3.And(s.t.Q[0][0] > s.t.Q[1][0], zval(s.ctx, w[1]) > 0, sign_term <= 0)

    def items(c: Candidate) -> list[Item]:
        delta = sympy.Symbol("delta")
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
                        d = sympy.diff(qd[i], delta).subs(delta, 0)
                        out.append(Item(d, {"token": i, "k": k, "k2": k2}, strict=True))
        return out
    return [Stage(s.assertions(bad), "", s.certifier(w, items))]


def assumption_L(s: Setup) -> list[Stage]:
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
        c.extra["lam"], c.extra["w2"] = fmt(lv), [fmt(x) for x in v]
        return [Item(neg_abs(qc[i] - rat(lv) * qa[i] - (1 - rat(lv)) * qb[i]), {"token": i})
                for i in range(s.V)]
    return [Stage(s.assertions(bad), "", s.certifier(w, items, read_extra))]


def def_IV_1(s: Setup) -> list[Stage]:
    w = s.weights()
    q = s.q(w)
    second = z3.Sum([zval(s.ctx, w[k]) * s.t.Q[k][0] * s.t.Q[k][0] for k in range(s.K)])

    def items(c: Candidate) -> list[Item]:
        qe = exact_q(s.enc, c)
        return [Item(sum(rat(c.w[k]) * rat(c.Q[k][i]) ** 2 for k in range(s.K)) - qe[i] ** 2,
                     {"token": i}) for i in range(s.V)]
    return [Stage(s.assertions(second - q[0] * q[0] < 0), "", s.certifier(w, items))]


def prop_IV_11(s: Setup) -> list[Stage]:
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


def cor_IV_12(s: Setup) -> list[Stage]:
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


def axiom5a(s: Setup) -> list[Stage]:
    """``G(P, T, e_k) = tau_{T_k}(p_k)``, i.e. ``q(e_k) = Q_k``: a statement about Q alone."""
    e0 = [Fraction(int(k == 0)) for k in range(s.K)]
    s = Setup(s.enc, s.K, s.V, e0)
    q = s.q(e0)

    def items(c: Candidate) -> list[Item]:
        qe = exact_q(s.enc, c, e0)
        return [Item(neg_abs(qe[i] - rat(c.Q[0][i])), {"token": i, "k": 0}) for i in range(s.V)]
    return [Stage(s.assertions(z3.Or([q[i] != s.t.Q[0][i] for i in range(s.V)])), "",
                  s.certifier(e0, items))]


def thm_IV_2(K: int) -> list[Stage]:
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
                              w=tuple(fmt(x) for x in wv), witness={"s": [fmt(x) for x in svv]},
                              margin=fmt(margin), precision="exact (rational)", certified=ok,
                              certificate=f"margin re-evaluated exactly in Q: {fmt(margin)}" if ok
                              else "exact re-evaluation did not confirm the violation")
    return [Stage([bad] + cons, "operator-independent", certify_model)]


def relaxed_stages(enc: Encoder, prop_id: str, K: int, V: int) -> list[Stage]:
    """Proof-only stages that over-approximate a hard operator (power means) before the exact one.

    ``axiom1``/``axiom2`` only need ``q = M / sum M`` with ``M > 0`` (a power mean of positive
    numbers is positive); the token-0 properties only need column 0 plus the power-mean
    inequality for the other columns, itself proved by z3 for this K (``lemmas``).
    """
    if not enc.relaxable:
        return []
    if prop_id in ("axiom1", "axiom2"):
        note, setup, lemmas = "relaxation q = M/sum M, M > 0", Setup(enc, K, V, None, relax="positive"), []
    elif prop_id in ("def-IV.1", "prop-IV.11", "cor-IV.12"):
        note = "relaxation to column 0 + power-mean inequality (lemma proved by z3)"
        setup, lemmas = Setup(enc, K, V, None, relax="column0"), [enc.mean_lemma(K)]  # type: ignore[attr-defined]
    else:
        return []
    return [Stage(st.assertions, note, None, lemmas=lemmas) for st in BUILDERS[prop_id](setup)]


TOKEN0_ONLY = frozenset({"axiom3", "assumption-L", "def-IV.1", "prop-IV.11", "cor-IV.12"})
"""Properties whose violation query mentions only token 0 (after the neutrality reduction)."""

BUILDERS: dict[str, Callable[[Setup], list[Stage]]] = {
    "axiom1": axiom1,
    "axiom1-hull": axiom1_hull,
    "axiom2": axiom2,
    "axiom3": axiom3,
    "assumption-L": assumption_L,
    "def-IV.1": def_IV_1,
    "prop-IV.11": prop_IV_11,
    "cor-IV.12": cor_IV_12,
    "axiom5": axiom5a,
}
"""Per-size query builders for the operator-dependent properties (``thm-IV.2`` is separate)."""
