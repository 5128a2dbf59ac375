"""z3 and sympy verdicts for a user's operator, from the formula traced out of its precise form.

:mod:`mtkd.theorems.tracing` turns the operator's precise form (hand-written, or derived from its
numpy / PyTorch code) into ``q(i)`` in ``Q`` and ``w`` at each size. Then:

* **rational formulas** (``+ - * /``, integer powers, ``max``) get a z3 encoding of *that formula*
  (:class:`TracedEncoder`) and go through the same property queries as the built-ins
  (:func:`mtkd.theorems.smt.check_encoder`): ``proved`` at the sizes checked, exact
  counterexamples from models. The queries use the built-ins' symmetry reductions (token 0,
  teachers 0 and 1) only after the formula was shown neutral and anonymous, and every divisor in
  the formula is first shown non-zero on the whole domain by z3;
* a formula **identical to a built-in's** at every size checked (sympy, exactly: ``linear``, or the
  normalised product of ``Q_k^{w_k}``, i.e. ``geometric``) reuses that built-in's encodings
  (geometric: fixed-weight stages) and its sympy derivations; the latter are stated for the traced
  sizes only, because identity at a few sizes does not show identity at every size;
* anything else (``exp``/``log`` left in ``w`` or ``Q``) is ``unknown`` with the reason.

Every result names the form it is about (``extra["form"]``) and its scope.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from fractions import Fraction
from typing import Any, Sequence

import sympy as sp
import z3

from mtkd.operators.smt_encoding import DirectTeachers, Encoder, Teachers, Weight, zpow, zval
from mtkd.operators.symbolic import TracedMax, evaluated
from mtkd.results import ProofScope, Result, Verdict

from . import operator_exprs as ox
from .parts import Absent, SmtEncoding
from .smt_runner import RLIMIT, SAFETY_NET_SECONDS, run_query
from .tracing import Analysis, TraceDeclined, analysis_for, is_rational, symmetries


class NotEncodable(Exception):
    """A traced expression has a part z3's real arithmetic cannot express."""


class Translator:
    """sympy -> z3 for rational traced formulas: divisions and maxima become auxiliary variables."""

    def __init__(self, ctx: z3.Context, env: dict[sp.Expr, Any], tag: str) -> None:
        self.ctx, self.env, self.tag = ctx, env, tag
        self.cons: list[z3.BoolRef] = []
        self.division_cons: list[z3.BoolRef] = []
        self.divisors: list[z3.ArithRef] = []
        self._cache: dict[sp.Expr, Any] = {}
        self._n = itertools.count()

    def _fresh(self, kind: str) -> z3.ArithRef:
        return z3.Real(f"{kind}{self.tag}_{next(self._n)}", self.ctx)

    def __call__(self, e: sp.Expr) -> z3.ArithRef:
        if e in self._cache:
            return self._cache[e]
        out = self._translate(e)
        self._cache[e] = out
        return out

    def _translate(self, e: sp.Expr) -> z3.ArithRef:
        if e in self.env:
            return self.env[e]
        if e.is_Rational:
            return zval(self.ctx, Fraction(int(e.p), int(e.q)))
        if isinstance(e, sp.Add):
            return z3.Sum([self(a) for a in e.args])
        if isinstance(e, sp.Mul):
            terms = [self(a) for a in e.args]
            out = terms[0]
            for t in terms[1:]:
                out = out * t
            return out
        if isinstance(e, sp.Pow) and e.exp.is_Integer:
            n = int(e.exp)
            base = self(e.base)
            if n >= 0:
                return zpow(base, n)
            inv = self._fresh("inv")
            # The divisor's definition; the domain lemma (traced_smt_check) shows it is never 0.
            self.division_cons.append(inv * base == 1)
            self.divisors.append(base)
            return zpow(inv, -n)
        if isinstance(e, (TracedMax, sp.Max)):
            args = [self(a) for a in e.args]
            m = self._fresh("max")
            self.cons += [m >= a for a in args] + [z3.Or([m == a for a in args])]
            return m
        raise NotEncodable(f"{type(e).__name__} ({sp.sstr(e)[:60]}) is outside z3's real arithmetic")

    def all_cons(self) -> list[z3.BoolRef]:
        return self.cons + self.division_cons


class TracedEncoder(Encoder):
    """A traced rational formula as a z3 encoding (free weights, teachers ``Q`` directly)."""

    free_weights = True

    def __init__(self, analysis: Analysis, sizes: Sequence[tuple[int, int]]) -> None:
        self.analysis = analysis
        self.label = f"traced {analysis.form}"
        formulas = [(K, V, analysis.formula(K, V)) for K, V in sizes]
        self.column_local = all(
            all(not isinstance(s, sp.Indexed) or s.base != ox.Q or s.indices[1] == i for s in e.free_symbols)
            for _, _, q in formulas for i, e in enumerate(q))
        self.uses_weights = any(e.has(ox.w) for _, _, q in formulas for e in q)

    def _env(self, t: Teachers, w: Sequence[Weight]) -> dict[sp.Expr, Any]:
        env: dict[sp.Expr, Any] = {ox.Q[k, i]: t.Q[k][i] for k in range(t.K) for i in range(len(t.Q[0]))}
        env.update({ox.w[k]: zval(t.ctx, w[k]) for k in range(t.K)})
        return env

    def teachers(self, ctx: z3.Context, K: int, V: int, weight_vectors: Any) -> Teachers:
        return DirectTeachers(ctx, K, V)

    def aggregate(self, t: Teachers, w: Sequence[Weight], tag: str) -> tuple[list[z3.ArithRef], list[z3.BoolRef]]:
        q = self.analysis.formula(t.K, t.V)
        tr = Translator(t.ctx, self._env(t, w), "q" + tag)
        return [tr(q[i]) for i in range(len(t.Q[0]))], tr.all_cons()

    def derivative_sign(self, t: Teachers, w: Sequence[Weight], i: int, k: int, k2: int
                        ) -> tuple[z3.ArithRef, list[z3.BoolRef]] | None:
        e = self.analysis.formula(t.K, t.V)[i]
        d = sp.diff(e, ox.w[k]) - sp.diff(e, ox.w[k2])
        tr = Translator(t.ctx, self._env(t, w), "der")
        return tr(same_sign(d, e, t.K)), tr.all_cons()

    def exact_q(self, Q: Sequence[Sequence[sp.Expr]], w: Sequence[sp.Expr]) -> list[sp.Expr]:
        K, V = len(Q), len(Q[0])
        sub = {ox.Q[k, i]: Q[k][i] for k in range(K) for i in range(V)}
        sub.update({ox.w[k]: w[k] for k in range(K)})
        return [evaluated(e).xreplace(sub) for e in self.analysis.formula(K, V)]


def same_sign(d: sp.Expr, e: sp.Expr, K: int) -> sp.Expr:
    """A polynomial with the sign of ``d`` (a weight derivative of ``e``) wherever ``e`` is defined.

    Over its common denominator ``d = num / prod_j b_j**n_j``; when every ``b_j`` is one of
    ``e``'s divisors (non-zero on the whole domain: the domain lemma of :func:`traced_smt_check`)
    or positive by sign rules, ``sign(d) = sign(num * prod of the b_j with odd n_j)``. nlsat
    decides such a sign condition far sooner than ``d`` itself, whose every division becomes an
    auxiliary inverse: ``confidence``'s axiom3 at K=3, V=2 needs 0.49M resource units this way
    and gives up after 12M the other way. Otherwise ``d`` is returned unchanged.

    >>> a, b = ox.w[0] * ox.Q[0, 0], ox.w[0] + ox.w[1]
    >>> e = a / b
    >>> same_sign(sp.diff(e, ox.w[0]), e, 2)
    Q[0, 0]*w[1]
    """
    num, den = sp.fraction(sp.together(d))
    powers = sp.Mul(den).as_powers_dict()
    divisors = set(_divisors(e))
    if not all(b.is_Rational or b in divisors or _plainly_positive(evaluated(b), K) for b in powers):
        return d
    return sp.Mul(num, *(b for b, n in powers.items() if n % 2))


def _sizes(max_k: int, max_v: int) -> tuple[tuple[int, int], ...]:
    return tuple((K, V) for K in range(1, max_k + 1) for V in range(2, max_v + 1))


def _divisors(e: sp.Expr) -> list[sp.Expr]:
    return [node.base for node in sp.preorder_traversal(e)
            if isinstance(node, sp.Pow) and node.exp.is_Integer and node.exp < 0]


def _plainly_positive(d: sp.Expr, K: int) -> bool:
    """``d > 0`` on the domain by sympy's sign rules, or as ``sum_k w_k c_k(Q)`` with every
    ``c_k > 0`` (a convex combination of positive numbers: ``w`` is on the simplex)."""
    if d.is_positive:
        return True
    ws = [ox.w[k] for k in range(K)]
    try:
        poly = sp.Poly(sp.expand(d), *ws)
    except sp.PolynomialError:
        return False
    return (all(sum(m) == 1 for m in poly.monoms()) and len(poly.monoms()) == K
            and all(c.is_positive for c in poly.coeffs()))


def _domain_lemma(enc: TracedEncoder, K: int, V: int, time_limit: float, rlimit: int
                  ) -> tuple[bool, dict[str, Any]]:
    """No divisor of the traced formula vanishes for Q, w in the domain: by sign rules where
    they suffice (:func:`_plainly_positive`), else by z3 (unsat needed). Computed once per size."""
    key = ("domain lemma", K, V)
    if key not in enc.analysis.memo:
        enc.analysis.memo[key] = _domain_lemma_uncached(enc, K, V, time_limit, rlimit)
    return enc.analysis.memo[key]


def _domain_lemma_uncached(enc: TracedEncoder, K: int, V: int, time_limit: float, rlimit: int
                           ) -> tuple[bool, dict[str, Any]]:
    q = enc.analysis.formula(K, V)
    if all(_plainly_positive(evaluated(d), K) for e in q for d in _divisors(e)):
        return True, {}
    ctx = z3.Context()
    t = DirectTeachers(ctx, K, V)
    w = [z3.Real(f"w_{k}", ctx) for k in range(K)]
    tr = Translator(ctx, enc._env(t, w), "lemma")
    for e in q:
        tr(e)
    dom = t.constraints + [x >= 0 for x in w] + [z3.Sum(w) == 1]
    out = run_query(ctx, [z3.Or([d == 0 for d in tr.divisors])] + tr.cons + dom, time_limit=time_limit, rlimit=rlimit)
    return out.status == "unsat", {"K": K, "V": V, "stage": "lemma: no divisor vanishes", "status": out.status,
                                   "rlimit_used": out.work, "seconds": round(out.seconds, 3)}


def _unknown(prop_id: str, method: str, form: str, why: str) -> Result:
    return Result(prop_id, Verdict.UNKNOWN, method=method, message=f"traced {form}: {why}", extra={"form": form})


def traced_smt_check(analysis: Analysis, prop_id: str, *, max_k: int = 4, max_v: int = 4,
                     time_limit: float = SAFETY_NET_SECONDS, rlimit: int = RLIMIT) -> Result | None:
    """z3 on the traced formula (see the module doc); None when the property has no encoding."""
    from .smt import _part, check_encoder, smt_check

    part = _part(prop_id)
    if isinstance(part, Absent):
        return None
    method, form = "smt (z3)", analysis.form
    sizes = _sizes(max_k, max_v)
    try:
        formulas = {s: analysis.formula(*s) for s in sizes}
        pattern = analysis.pattern(sizes)
    except TraceDeclined as exc:
        return _unknown(prop_id, method, form, str(exc))
    where = f"K in 1..{max_k}, V in 2..{max_v}"
    if pattern == "geometric":
        r = smt_check("geometric", {}, prop_id, max_k=max_k, max_v=max_v, time_limit=time_limit, rlimit=rlimit)
        if r is None:
            return _unknown(prop_id, method, form, f"equals the geometric pool's formula at {where} (sympy, exactly), "
                            "and the geometric pool has no z3 encoding of this property")
        return _relabel(r, form, f"the traced {form} equals the geometric pool's formula at {where} "
                                 "(sympy, exactly), so the geometric pool's encoding applies")
    if not all(is_rational(q) for q in formulas.values()):
        return _unknown(prop_id, method, form, (
            f"exp/log remain in w or Q at some size in {where} and the formula is not the geometric pool's "
            "(normalised product of Q_k^w_k); z3's real arithmetic has no encoding for it"))
    # Queries with a symmetry reduction (token 0, teachers 0 and 1) are sound only for a neutral and
    # anonymous formula: check both whenever the encoding reduces anything.
    if isinstance(part, SmtEncoding) and (part.reduction or part.token0):
        for (K, V), q in formulas.items():
            if ("symmetries", K, V) not in analysis.memo:
                analysis.memo[("symmetries", K, V)] = symmetries(q, K, V)
            neutral, anonymous = analysis.memo[("symmetries", K, V)]
            if not (neutral and anonymous):
                return _unknown(prop_id, method, form, (
                    f"at K={K}, V={V} the formula is not {'neutral' if not neutral else 'anonymous'} (permuting "
                    f"{'tokens' if not neutral else 'teachers with their weights'} changes it), and the z3 queries "
                    "of this property rely on that symmetry"))
    enc = TracedEncoder(analysis, sizes)
    lemma_queries = []
    for K, V in sizes:
        try:
            ok, query = _domain_lemma(enc, K, V, time_limit, rlimit)
        except NotEncodable as exc:
            return _unknown(prop_id, method, form, str(exc))
        if query:
            lemma_queries.append(query)
        if not ok:
            return _unknown(prop_id, method, form, f"z3 could not show that the formula's divisors are non-zero "
                                                   f"on the whole domain at K={K}, V={V}")
    # Identical formulas get identical queries: the three numpy spellings of a pool share one run.
    key = (tuple(formulas.items()), prop_id, max_k, max_v, time_limit, rlimit)
    if key not in _RESULTS:
        try:
            _RESULTS[key] = check_encoder(enc, prop_id, max_k=max_k, max_v=max_v, time_limit=time_limit,
                                          rlimit=rlimit)
        except NotEncodable as exc:
            return _unknown(prop_id, method, form, str(exc))
    r = _RESULTS[key]
    if r is None:
        return None
    r = _relabel(r, form, f"z3 on the traced {form} (exactly the operator's formula at these sizes)")
    if lemma_queries:
        r = replace(r, extra={**r.extra, "queries": lemma_queries + list(r.extra.get("queries", []))})
    return r


_RESULTS: dict[Any, Result | None] = {}


def _relabel(r: Result, form: str, how: str) -> Result:
    extra = {**r.extra, "form": form}
    if r.verdict is Verdict.PROVED:
        return replace(r, scope=f"{r.scope}; {how}", extra=extra)
    return replace(r, message=f"{how}: {r.message}", extra=extra)


def traced_symbolic_check(analysis: Analysis, prop_id: str, *, max_k: int = 4, max_v: int = 4) -> Result | None:
    """A built-in's sympy proof for a traced formula identical to it at every traced size, bounded to them.

    The bounded scope is the claim: identity at the traced sizes is checked exactly, identity at
    other sizes is not (the message states the all-K argument and the assumption it needs).
    """
    from .symbolic_verdicts import symbolic_check

    sizes = _sizes(max_k, max_v)
    try:
        pattern = analysis.pattern(sizes)
    except TraceDeclined:
        return None  # the SMT engine reports the reason
    if pattern is None:
        return None
    r = symbolic_check(pattern, {}, prop_id)
    if r is None or r.verdict is not Verdict.PROVED:
        return None
    form = analysis.form
    scope = f"K in 1..{max_k}, V in 2..{max_v} (the traced sizes), open domain, traced {form}"
    message = (f"The traced {form} equals the {pattern} pool's formula at every size K in 1..{max_k}, V in 2..{max_v} "
               f"(sympy, exactly), so the {pattern} pool's sympy-checked argument applies at those sizes: "
               f"{r.message} "
               f"The argument covers all K, V if the code computes the {pattern} pool's formula at every size; identity "
               "at the traced sizes does not prove that, so the claim is restricted to them.")
    return replace(r, scope=scope, message=message, proof=ProofScope(complete=True, sizes=sizes),
                   extra={"form": form, "pattern": pattern,
                          "all_sizes_if": f"the code computes the {pattern} pool's formula at every K, V"})


def analysis_of(op: Any) -> Analysis | None:
    """The traced analysis of a loaded operator, or None when it has no precise form to trace."""
    if op.precise_func is None:
        return None
    form = "derived form" if getattr(op, "derived_note", "") else "hand-written precise form"
    return analysis_for(op.spec, op.precise_func, form)
