"""Proofs for all K, V of the built-ins' axioms and bounds, every step checked by sympy.

Each built-in is written once here for generic ``K`` teachers and ``V`` tokens (1-based indices,
finite ``Sum`` objects), and that general formula is first compared exactly with the formula the
rest of the suite uses (:mod:`mtkd.theorems.operator_exprs`) instantiated at ``K = 3, V = 3``. A
proof is issued only when that comparison and every step of the argument came out as claimed
(``Derivation.checked``); classical facts are *cited* by name (Jensen's inequality, "a finite sum
of continuous functions is continuous") and applied only to sympy-verified premises.

What is proved, for which operators (open domain, every ``K >= 1``, ``V >= 2``):

* ``axiom1`` / ``axiom2`` — ``q = m / Σ m`` with every score ``m(i)`` shown positive by structure
  (:mod:`mtkd.theorems.structure`), or a mixture whose total sympy sums to one;
* ``axiom4`` — a continuity certificate of the whole map ``(P, T, w) -> q`` with the temperature
  scaling substituted (every ``log`` argument, power base and denominator shown positive);
* ``axiom5`` — (a) by sympy at ``w = e_k``; (b) through the token-wise split
  ``m(i) = h(Q_k(i), r_i)`` (checked for generic ``K``) and one-variable limits computed by sympy;
* ``thm-IV.9`` for power means with ``0 < alpha < 1``; ``def-IV.1`` for ``1 <= alpha <= 2``;
  ``prop-IV.11`` for ``alpha >= 1`` and ``max``; ``cor-IV.12``, ``axiom1-hull`` for ``linear``;
* the ``reweighted`` family (thm-III.2's second conforming operator), axioms 1-5.

>>> general_check(("geometric", ()), "geometric", "axiom2").verdict.value
'proved'
>>> general_check(("power", (("alpha", sp.Integer(2)),)), "power", "thm-IV.9") is None
True
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable

import sympy as sp
from sympy.simplify.simplify import factor_sum

from mtkd.results import ProofScope, Result, Verdict
from mtkd.theorems import operator_exprs as ox
from mtkd.theorems.derivations import Derivation, _is_zero, _label, _zero_based
from mtkd.theorems.finite_sums import canonical_sums
from mtkd.theorems.notation import IndexedMax, to_latex, to_unicode
from mtkd.theorems.structure import SIMPLEX_LEMMA, certify_continuous, is_positive, simplex_lemma_checked
from mtkd.theorems.symbols import TEACHER_IDS, K, P, Q, T, V, i, j, k, l, w, y

ALL_SIZES = "all K >= 1, V >= 2, open domain"
u = sp.Symbol("u", integer=True, positive=True)
"""Token index inside the temperature scaling's normaliser."""
x, r = sp.symbols("x r", nonnegative=True)
"""Teacher k's probability of a token, and the rest of the pool's score at that token."""
wk = sp.Symbol("w_k", positive=True)


# ----------------------------------------------------------------------------------------------
# The built-ins for generic K, V
# ----------------------------------------------------------------------------------------------

def reweight(c: sp.Rational, z: sp.Expr) -> sp.Expr:
    """``f_c(z) = z + c z (1 - z)(1 - 2z)``: ``f(0) = 0``, ``f(1) = 1``, ``f(z) + f(1 - z) = 1``."""
    return z + c * z * (1 - z) * (1 - 2 * z)


GENERAL_FORMULAS = frozenset({"linear", "reweighted", "geometric", "entropic", "power", "max"})
"""The operators :func:`score` writes for generic ``K``. Any other formula (a plug-in's) is known at
concrete sizes only: no all-sizes proof is attempted, and the bounded engines decide."""


def score(op: ox.CanonicalOp, tok: sp.Symbol) -> sp.Expr:
    """The score ``m(tok)`` of a built-in for generic ``K`` (``reweighted``: its ``K != 2`` branch)."""
    name, params = op
    p = dict(params)
    logs = sp.Sum(w[l] * sp.log(Q[l, tok]), (l, 1, K))
    if name in ("linear", "reweighted"):
        return sp.Sum(w[l] * Q[l, tok], (l, 1, K))
    if name == "geometric":
        return sp.exp(logs)
    if name == "entropic":
        return sp.exp(logs / (1 + p["beta"]))
    if name == "power":
        return sp.Sum(w[l] * Q[l, tok] ** p["alpha"], (l, 1, K)) ** (1 / p["alpha"])
    if name == "max":
        return IndexedMax(Q[l, tok], l, TEACHER_IDS)
    raise KeyError(name)


def is_mixture(op: ox.CanonicalOp) -> bool:
    """Operators whose scores already sum to one on the simplex (no normaliser)."""
    return op[0] in ("linear", "reweighted")


def pool(op: ox.CanonicalOp, tok: sp.Symbol = i) -> sp.Expr:
    """``q(tok)`` for generic ``K``, ``V``."""
    m = score(op, tok)
    return m if is_mixture(op) else m / sp.Sum(score(op, j), (j, 1, V))


def reweighted_pool(c: sp.Rational, tok: sp.Symbol = i) -> sp.Expr:
    """``reweighted`` at ``K = 2``: ``f_c(w_1) Q_1 + f_c(w_2) Q_2``."""
    return reweight(c, w[1]) * Q[1, tok] + reweight(c, w[2]) * Q[2, tok]


def tau_general(expr: sp.Expr) -> sp.Expr:
    """``expr`` with every ``Q[k, i]`` replaced by ``exp(log P[k, i] / T[k]) / Σ_u exp(log P[k, u] / T[k])``."""
    def scaled(e: sp.Indexed) -> sp.Expr:
        kk, ii = e.indices
        return sp.exp(sp.log(P[kk, ii]) / T[kk]) / sp.Sum(sp.exp(sp.log(P[kk, u]) / T[kk]), (u, 1, V))

    return expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base == Q, scaled)


def _instantiate(expr: sp.Expr, n_teachers: int, n_tokens: int, tok: int) -> sp.Expr:
    expr = expr.replace(lambda e: isinstance(e, IndexedMax),
                        lambda e: sp.Max(*(e.args[0].subs(e.args[1], kk) for kk in range(1, n_teachers + 1))))
    return _zero_based(expr.subs({K: n_teachers, V: n_tokens, i: tok + 1}).doit())


@lru_cache(maxsize=None)
def matches_implementation(op: ox.CanonicalOp) -> bool:
    """The general formula at ``K = 3, V = 3`` equals :func:`operator_exprs._operator_expr` there (sympy)."""
    n = 3
    theirs = ox._operator_expr(op, n, n)
    for tok in range(n):
        mine = _instantiate(pool(op), n, n, tok)
        diff = sp.expand_log(sp.log(mine), force=True) - sp.expand_log(sp.log(theirs[tok]), force=True)
        if not (mine == theirs[tok] or _is_zero(diff)):
            return False
    if op[0] == "reweighted":
        c = dict(op[1])["c"]
        two = ox._operator_expr(op, 2, n)
        return all(_is_zero(_zero_based(reweighted_pool(c).subs(i, tok + 1)) - two[tok]) for tok in range(n))
    return True


def _formula_note(op: ox.CanonicalOp) -> str:
    ok = matches_implementation(op)
    return (f"General formula q(i) = {to_unicode(pool(op))}; instantiated at K = V = 3 it "
            f"{'equals' if ok else 'DOES NOT equal'} the suite's formula for {_label(op)} (sympy, exact).")


# ----------------------------------------------------------------------------------------------
# axiom1 / axiom2
# ----------------------------------------------------------------------------------------------

def _mixture_total(weights: sp.Expr) -> sp.Expr:
    """``Σ_i Σ_l weights_l Q_li`` with the sums exchanged and the row sums of ``Q`` substituted."""
    exchanged = canonical_sums(sp.Sum(sp.Sum(weights * Q[l, j], (l, 1, K)), (j, 1, V)))
    inner_first = sp.Sum(factor_sum(sp.Sum(exchanged.function, exchanged.limits[0])), exchanged.limits[1])
    return inner_first.xreplace({sp.Sum(Q[l, j], (j, 1, V)): 1})


@lru_cache(maxsize=None)
def distribution(op: ox.CanonicalOp) -> Derivation:
    """``axiom1`` and ``axiom2``: every ``q(i) > 0`` and ``Σ_i q(i) = 1``."""
    formula_ok = matches_implementation(op)
    lemma_ok = simplex_lemma_checked()
    if op[0] == "reweighted":
        return _reweighted_distribution(op, formula_ok and lemma_ok)
    m = score(op, i)
    positive = is_positive(m)
    if is_mixture(op):
        total = _mixture_total(w[l]).xreplace({sp.Sum(w[l], (l, 1, K)): 1})
        sums_ok = total == 1
        how = ("Σ_i q(i) = Σ_i Σ_l w_l Q_l(i) = Σ_l w_l Σ_i Q_l(i) = Σ_l w_l = 1 (sympy: finite sums exchanged, "
               f"then the row sums and the simplex substituted: {'checked' if sums_ok else 'NOT confirmed'})")
    else:
        Z = sp.Symbol("Z", positive=True)
        total = factor_sum(sp.Sum(m / Z, (i, 1, V))).xreplace({sp.Sum(m, (i, 1, V)): Z})
        sums_ok = total == 1
        how = ("with Z = Σ_j m(j), sympy gives Σ_i m(i)/Z = 1 "
               f"({'checked' if sums_ok else 'NOT confirmed'}); Z > 0 as a non-empty sum of positive scores")
    checked = formula_ok and lemma_ok and positive and sums_ok
    shown = sp.Eq(sp.Function("q")(i), pool(op))
    return Derivation(
        "axiom1", _label(op), "Distribution and positivity for all K, V", shown, to_latex(shown),
        f"{_formula_note(op)} The score m(i) = {to_unicode(m)} is positive on the open domain by structure "
        f"({'shown' if positive else 'NOT shown'}: Q > 0, exp of a real is positive, a power of a positive base "
        f"is positive, {SIMPLEX_LEMMA}: {'checked' if lemma_ok else 'NOT confirmed'}); {how}. Every node "
        "evaluates to a real number (logs and powers of positive numbers, divisions by positive numbers), so "
        "every q(i) is finite.",
        "q(i) > 0 for every token and Σ_i q(i) = 1, for all K ≥ 1, V ≥ 2 on the open domain (axiom1 and axiom2).",
        checked)


def _reweighted_distribution(op: ox.CanonicalOp, base_ok: bool) -> Derivation:
    c = dict(op[1])["c"]
    z = sp.Symbol("z", real=True)
    f = reweight(c, z)
    derivative = sp.diff(f, z)
    slope_min = sp.minimum(derivative, z, sp.Interval(0, 1))
    symmetric = _is_zero(f + f.subs(z, 1 - z) - 1)
    ends = f.subs(z, 0) == 0 and f.subs(z, 1) == 1
    q2 = reweighted_pool(c)
    total = _pull_constants(sp.expand(sp.Sum(q2, (i, 1, V))).doit()).xreplace(
        {sp.Sum(Q[1, i], (i, 1, V)): 1, sp.Sum(Q[2, i], (i, 1, V)): 1}).subs(w[2], 1 - w[1])
    sums_ok = _is_zero(total - 1)
    increasing = bool(slope_min.is_positive)
    checked = base_ok and symmetric and ends and increasing and sums_ok and distribution(("linear", ())).checked
    shown = sp.Eq(sp.Function("f")(z), f)
    return Derivation(
        "axiom1", _label(op), "Distribution and positivity for all K, V", shown, to_latex(shown),
        f"{_formula_note(op)} For K ≠ 2 the operator is the linear pool (its proof applies). For K = 2, "
        f"q(i) = f(w_1) Q_1(i) + f(w_2) Q_2(i) with f(z) = {to_unicode(f)}. sympy: f(z) + f(1 − z) = 1 "
        f"({'checked' if symmetric else 'NOT confirmed'}), f(0) = 0 and f(1) = 1 ({'checked' if ends else 'NOT confirmed'}), "
        f"min over [0, 1] of f'(z) = {to_unicode(derivative)} is {slope_min} > 0 ({'checked' if increasing else 'NOT confirmed'}), "
        "so f is strictly increasing and maps [0, 1] onto [0, 1]; hence (f(w_1), f(w_2)) is a point of the "
        f"simplex and Σ_i q(i) = f(w_1) + f(1 − w_1) = 1 (sympy, row sums substituted: {'checked' if sums_ok else 'NOT confirmed'}); "
        "q(i) ≥ min(Q_1(i), Q_2(i)) > 0 as a convex combination of positive numbers.",
        "q(i) > 0 and Σ_i q(i) = 1 for all K, V on the open domain.",
        checked)


# ----------------------------------------------------------------------------------------------
# axiom4
# ----------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def continuity(op: ox.CanonicalOp) -> Derivation:
    """``axiom4``: the map ``(P, T, w) -> q(i)`` is certified continuous node by node."""
    formulas = [pool(op)]
    if op[0] == "reweighted":
        formulas.append(reweighted_pool(dict(op[1])["c"]))
    certs = [certify_continuous(tau_general(f)) for f in formulas]
    checked = matches_implementation(op) and all(c.ok for c in certs) and simplex_lemma_checked()
    rules = sorted({rule for c in certs for rule in c.rules})
    failure = "; ".join(c.failure for c in certs if not c.ok)
    shown = sp.Eq(sp.Function("q")(i), tau_general(formulas[-1]))
    return Derivation(
        "axiom4", _label(op), "Continuity by structure", shown, to_latex(shown),
        f"{_formula_note(op)} With the temperature scaling substituted (Q_k(i) = exp(log P_k(i)/T_k) / "
        "Σ_u exp(log P_k(u)/T_k)), q(i) is a function of (P, T, w) built from these continuous pieces only: "
        + ("; ".join(rules) if not failure else f"NO certificate ({failure})")
        + f". Positivity of every log argument, power base and denominator: P > 0, T > 0 (open domain), "
        f"exp > 0, and {SIMPLEX_LEMMA}. A composition of continuous functions is continuous (cited), so q is "
        "jointly continuous on (open teachers) × (0, ∞)^K × Δ_K for every K, V."
        + (" For K = 2 the reweighted formula was certified as well; K is discrete, so continuity is per K."
           if op[0] == "reweighted" else ""),
        "G is jointly continuous in (P, T, w) on the open domain, for all K ≥ 1, V ≥ 2.",
        checked)


# ----------------------------------------------------------------------------------------------
# axiom5
# ----------------------------------------------------------------------------------------------

def _at_vertex(expr: sp.Expr) -> sp.Expr:
    """``expr`` at ``w = e_k`` (``w_l = δ_lk``), sums over teachers evaluated."""
    at = expr.replace(lambda e: isinstance(e, sp.Indexed) and e.base == w,
                      lambda e: sp.KroneckerDelta(e.indices[0], k))
    # Only the sums over teachers are evaluated: the sums over tokens stay as they are, to be
    # matched with the row sums Σ_j Q_k(j) = 1 afterwards.
    return at.replace(lambda e: isinstance(e, sp.Sum) and e.limits[0][2] == K,
                      lambda e: sp.refine(e.doit(), sp.Q.le(k, K) & sp.Q.ge(k, 1)))


def _split(op: ox.CanonicalOp) -> tuple[sp.Expr, sp.Expr, bool]:
    """``(h(x, r), r_i, checked)``: ``m(i) = h(Q_k(i), r_i)`` with ``r_i`` free of teacher ``k`` (generic K)."""
    name, params = op
    p = dict(params)
    rest = lambda f: sp.Sum((1 - sp.KroneckerDelta(l, k)) * f, (l, 1, K))  # noqa: E731 - local shorthand
    if name in ("linear", "reweighted"):
        h, ri = wk * x + r, rest(w[l] * Q[l, i])
    elif name == "power":
        a = p["alpha"]
        h, ri = (wk * x ** a + r) ** (1 / a), rest(w[l] * Q[l, i] ** a)
    elif name in ("geometric", "entropic"):
        s = 1 + p.get("beta", 0)
        h, ri = x ** (wk / s) * r, sp.exp(rest(w[l] * sp.log(Q[l, i])) / s)
    else:
        raise KeyError(name)
    m = score(op, i)
    recombined = h.subs({x: Q[k, i], wk: w[k], r: ri}, simultaneous=True)
    if name in ("geometric", "entropic"):  # compare logs: products become sums
        recombined, m = (sp.expand_log(sp.log(e), force=True) for e in (recombined, m))
    elif name == "power":  # compare the sums inside the outer power
        recombined, m = recombined.args[0], m.args[0]
    # Σ_l (1 − δ_lk) f_l + f_k − Σ_l f_l: sympy resolves the Kronecker sum for k in 1..K.
    ok = _is_zero(sp.refine(sp.expand(recombined - m).doit(), sp.Q.le(k, K) & sp.Q.ge(k, 1)))
    return h, ri, ok


@lru_cache(maxsize=None)
def temperature_coherence(op: ox.CanonicalOp) -> Derivation:
    """``axiom5``: (a) at ``w = e_k``; (b) per-teacher temperature limits via the token-wise split."""
    name = op[0]
    base = matches_implementation(op) and continuity(op).checked and distribution(op).checked
    # (a)
    if name == "reweighted":
        c = dict(op[1])["c"]
        two = reweighted_pool(c)
        vertex_ok = (_is_zero(two.subs({w[1]: 1, w[2]: 0}) - Q[1, i]) and _is_zero(two.subs({w[1]: 0, w[2]: 1}) - Q[2, i])
                     and temperature_coherence(("linear", ())).checked)
        vertex = sp.Eq(sp.Subs(sp.Function("q")(i), (w[1], w[2]), (1, 0)), two.subs({w[1]: 1, w[2]: 0}),
                       evaluate=False)
    else:
        at = _at_vertex(pool(op))
        at = at.xreplace({sp.Sum(Q[k, j], (j, 1, V)): 1})
        vertex_ok = _is_zero(at - Q[k, i])
        vertex = sp.Eq(sp.Subs(sp.Function("q")(i), w, sp.Symbol("e_k")), at)
    # (b)
    h, ri, split_ok = _split(op)
    p_ = sp.Symbol("p", positive=True)
    gap = sp.Symbol("g", positive=True)  # p_j / p_max = 1 / (1 + g) < 1 for a non-maximal token
    Tk = sp.Symbol("T_k", positive=True)
    to_one = sp.limit(p_ ** (1 / Tk), Tk, sp.oo) == 1
    to_zero = sp.limit((1 + gap) ** (-1 / Tk), Tk, 0, "+") == 0
    from_zero = sp.limit(h, x, 0, "+")
    # Where the operator is defined at x = 0, its value there must be that limit (continuity from the
    # right); where it is not (a zero raised to a negative power), FORMALIZATION's reference value is
    # the limit along the segment, which is the same one-variable limit.
    defined = not any(isinstance(e, sp.Pow) and e.base == x and e.exp.is_negative for e in sp.preorder_traversal(h))
    zero_ok = from_zero.is_finite is True and ((not defined) or _is_zero(h.subs(x, 0) - from_zero))
    no_weight_ok = _is_zero(sp.diff(h.subs(wk, 0), x))
    s_size = sp.Symbol("s", positive=True, integer=True)
    # r_i is an exp (positive) for the geometric family and a sum of non-negative terms otherwise.
    rest_sign = sp.Symbol("r", positive=True) if name in ("geometric", "entropic") else r
    positive_at_top = bool(h.subs({x: 1 / s_size, r: rest_sign}).is_positive)
    checked = base and vertex_ok and split_ok and to_one and to_zero and zero_ok and no_weight_ok and positive_at_top
    text = (
        f"{_formula_note(op)} (a) sympy substitutes w_l = δ_lk, evaluates the sums over teachers and the row sum "
        f"Σ_j Q_k(j) = 1: q(i) = {to_unicode(vertex.rhs)} = Q_k(i) ({'checked' if vertex_ok else 'NOT confirmed'}); "
        "Q_k = τ_{T_k}(p_k), so G(P, T, e_k) = τ_{T_k}(p_k) for every T_k, and T_k = 1 leaves p_k unchanged. "
        f"(b) For generic K, sympy confirms the token-wise split m(i) = h(Q_k(i), r_i) with h(x, r) = {to_unicode(h)} "
        f"and r_i = {to_unicode(ri)}, free of teacher k ({'checked' if split_ok else 'NOT confirmed'}). sympy's limits: "
        f"p^(1/T) → 1 as T → ∞ ({'checked' if to_one else 'NOT confirmed'}), so every Q_k(j) → 1/V (a finite sum of "
        f"limits); (1 + g)^(−1/T) → 0 as T → 0+ for g > 0 ({'checked' if to_zero else 'NOT confirmed'}), so Q_k(j) → 0 "
        "off argmax p_k and → 1/|S| on the argmax set S. The limit teacher of T_k → ∞ is interior, where h is "
        "continuous (axiom4's certificate), so q → the pool with teacher k uniform at T_k = 1. As T_k → 0+: "
        f"lim_(x→0+) h(x, r) = {to_unicode(from_zero)} for w_k > 0 (sympy); "
        + ("h(0, r) is that value, so the one-hot reference pool is the limit "
           if defined else "h is undefined at x = 0, and FORMALIZATION's reference value is the limit along "
           "p_k ← (1 − e)·onehot + e·p_k, i.e. the same one-variable limits ")
        + f"({'checked' if zero_ok else 'NOT confirmed'}); for w_k = 0, h does not depend on x "
        f"({'checked' if no_weight_ok else 'NOT confirmed'}). On S, h(1/|S|, r) > 0, so the normaliser's limit "
        "is positive and q(i) = m(i)/Σ m converges token by token to the reference pool, along any path; "
        "for ties S has several tokens and the reference is uniform on S, as FORMALIZATION fixes.")
    return Derivation(
        "axiom5", _label(op), "Temperature coherence: (a) at w = e_k, (b) per-teacher limits", vertex,
        to_latex(vertex), text, "axiom5 (a) and (b) hold for all K ≥ 1, V ≥ 2 on the open domain.", checked)


# ----------------------------------------------------------------------------------------------
# Power-mean comparisons (thm-IV.9, def-IV.1, prop-IV.11)
# ----------------------------------------------------------------------------------------------

def _second_sign(f: Callable[[sp.Symbol], sp.Expr]) -> sp.Expr:
    z = sp.Symbol("z", positive=True)
    return sp.simplify(sp.diff(f(z), z, 2))


@lru_cache(maxsize=None)
def power_log_loss(op: ox.CanonicalOp) -> Derivation:
    """thm-IV.9 for ``0 < alpha < 1``: ``M_0 <= M_alpha`` and ``Z = Σ M_alpha <= Σ M_1 = 1``."""
    a = dict(op[1])["alpha"]
    in_range = 0 < a < 1
    concave_power = _second_sign(lambda z: z ** a)
    concave_log = _second_sign(sp.log)
    z = sp.Symbol("z", positive=True)
    root_increasing = bool(sp.diff(z ** (1 / a), z).is_positive)
    mixture_ok = _mixture_total(w[l]).xreplace({sp.Sum(w[l], (l, 1, K)): 1}) == 1
    # log M_α = (1/α) log Σ w Q^α, and α Σ w log Q = Σ w log Q^α (logs of positives).
    s = sp.Symbol("S", positive=True)
    log_root = _is_zero(sp.expand_log(sp.log(s ** (1 / a)), force=True) - sp.log(s) / a)
    checked = (in_range and bool(concave_power.is_negative) and bool(concave_log.is_negative) and root_increasing
               and mixture_ok and log_root and matches_implementation(op))
    shown = sp.Le(-sp.log(sp.Function("q")(y)), -sp.Sum(w[k] * sp.log(Q[k, y]), (k, 1, K)))
    return Derivation(
        "thm-IV.9", _label(op), f"Log-loss bound for the power mean, α = {a} in (0, 1)", shown, to_latex(shown),
        f"{_formula_note(op)} Write M_α(j) = (Σ_k w_k Q_k(j)^α)^(1/α) and Z = Σ_j M_α(j), so q(y) = M_α(y)/Z. "
        f"sympy: (z^α)'' = {to_unicode(concave_power)} < 0 and (log z)'' = {to_unicode(concave_log)} < 0 for z > 0, "
        f"(z^(1/α))' > 0 ({'checked' if root_increasing else 'NOT confirmed'}), log(S^(1/α)) = log(S)/α "
        f"({'checked' if log_root else 'NOT confirmed'}). Jensen's inequality (cited) for the concave z^α gives "
        "Σ_k w_k Q_k(j)^α ≤ (Σ_k w_k Q_k(j))^α, so M_α(j) ≤ Σ_k w_k Q_k(j), and Z ≤ Σ_j Σ_k w_k Q_k(j) = 1 "
        f"(sums exchanged, row sums and simplex substituted: {'checked' if mixture_ok else 'NOT confirmed'}). "
        "Jensen for the concave log gives α Σ_k w_k log Q_k(y) = Σ_k w_k log Q_k(y)^α ≤ log Σ_k w_k Q_k(y)^α = "
        "α log M_α(y); divide by α > 0. Hence −log q(y) = −log M_α(y) + log Z ≤ −Σ_k w_k log Q_k(y) + 0.",
        "−log q(y) ≤ −Σ_k w_k log Q_k(y) for all K ≥ 1, V ≥ 2 on the open domain.",
        checked)


@lru_cache(maxsize=None)
def power_attenuation(op: ox.CanonicalOp) -> Derivation:
    """prop-IV.11 for power means with ``alpha >= 1`` (``linear`` included) and for ``max``."""
    name = op[0]
    a = dict(op[1]).get("alpha", sp.Integer(1))
    mixture_ok = _mixture_total(w[l]).xreplace({sp.Sum(w[l], (l, 1, K)): 1}) == 1
    z = sp.Symbol("z", positive=True)
    if name == "max":
        in_range, convex, root_increasing = True, sp.Integer(0), True
        body = ("Z = Σ_j max_k Q_k(j) ≥ Σ_j Q_k*(j) = 1 term by term, so q(i) = max_k Q_k(i)/Z ≤ max_k Q_k(i). "
                "Strictness: if Q_k*(i) < max_k Q_k(i) for some k*, the term j = i is strict, so Z > 1 and "
                "q(i) < max_k Q_k(i).")
    else:
        in_range = a >= 1
        convex = _second_sign(lambda t: t ** a)
        root_increasing = bool(sp.diff(z ** (1 / a), z).is_positive)
        body = (f"(z^α)'' = {to_unicode(convex)} ≥ 0 (sympy), so Jensen (cited) gives (Σ_k w_k Q_k(j))^α ≤ Σ_k w_k "
                "Q_k(j)^α: Σ_k w_k Q_k(j) ≤ M_α(j) since z^(1/α) is increasing "
                f"({'checked' if root_increasing else 'NOT confirmed'}); so Z = Σ_j M_α(j) ≥ Σ_j Σ_k w_k Q_k(j) = 1 "
                f"(sums exchanged: {'checked' if mixture_ok else 'NOT confirmed'}) and q(i) = M_α(i)/Z ≤ M_α(i). "
                "With m = max_k Q_k(i): Σ_k w_k Q_k(i)^α ≤ m^α Σ_k w_k = m^α, so M_α(i) ≤ m; if some k* with w_k* > 0 "
                "has Q_k*(i) < m, its term is strictly smaller and M_α(i) < m.") if a != 1 else (
                "q(i) = Σ_k w_k Q_k(i) ≤ m Σ_k w_k = m with m = max_k Q_k(i), strictly when a positive-weight "
                f"teacher is below m (its term w_k*(m − Q_k*(i)) > 0); Σ_i q(i) = 1 {'checked' if mixture_ok else 'NOT confirmed'}.")
    checked = in_range and bool(convex.is_nonnegative) and root_increasing and mixture_ok and matches_implementation(op)
    shown = sp.Le(sp.Function("q")(i), IndexedMax(Q[k, i], k, TEACHER_IDS))
    return Derivation(
        "prop-IV.11", _label(op), "Attenuation: q(i) ≤ max_k Q_k(i), strict below a positive-weight teacher",
        shown, to_latex(shown), f"{_formula_note(op)} {body}",
        "q(i) ≤ max_k Q_k(i), strictly when some positive-weight teacher is below the maximum, for all K, V.",
        checked)


def _pull_constants(expr: sp.Expr) -> sp.Expr:
    """Factors free of a sum's index moved out of it (``Σ_l c w_l = c Σ_l w_l``), term by term."""
    return expr.replace(lambda e: isinstance(e, sp.Sum), factor_sum)


@lru_cache(maxsize=None)
def power_variance(op: ox.CanonicalOp) -> Derivation:
    """def-IV.1 for ``1 <= alpha <= 2``: ``q(i) <= M_alpha(i) <= M_2(i)``, so ``q(i)^2 <= Σ w Q^2``."""
    a = dict(op[1]).get("alpha", sp.Integer(1))
    in_range = 1 <= a <= 2
    if a == 1:
        # Σ w Q² − (Σ w Q)² = Σ w (Q − q)²: expand with q a symbol, then Σ w Q = q and Σ w = 1.
        qs = sp.Symbol("q_i", positive=True)
        expanded = _pull_constants(canonical_sums(sp.Sum(w[l] * (Q[l, i] - qs) ** 2, (l, 1, K))))
        reduced = expanded.xreplace({sp.Sum(w[l] * Q[l, i], (l, 1, K)): qs, sp.Sum(w[l], (l, 1, K)): 1})
        identity_ok = _is_zero(reduced - (canonical_sums(sp.Sum(w[l] * Q[l, i] ** 2, (l, 1, K))) - qs ** 2))
        body = (f"sympy: Σ_k w_k (Q_k(i) − q(i))² = Σ_k w_k Q_k(i)² − q(i)² after substituting Σ_k w_k Q_k(i) = q(i) "
                f"and Σ_k w_k = 1 ({'checked' if identity_ok else 'NOT confirmed'}); a weighted sum of squares is ≥ 0.")
        checked = identity_ok and matches_implementation(op)
    else:
        convex = _second_sign(lambda t: t ** (2 / a))
        checked = (in_range and bool(convex.is_nonnegative) and power_attenuation(op).checked
                   and matches_implementation(op))
        body = (f"q(i) = M_α(i)/Z ≤ M_α(i) since Z ≥ 1 (prop-IV.11's derivation for α ≥ 1). (z^(2/α))'' = "
                f"{to_unicode(convex)} ≥ 0 (sympy) for α ≤ 2, so Jensen (cited) on Q^α gives M_α(i)^2 = "
                "(Σ_k w_k Q_k(i)^α)^(2/α) ≤ Σ_k w_k Q_k(i)². Hence q(i)² ≤ Σ_k w_k Q_k(i)².")
    shown = sp.Ge(sp.Sum(w[k] * Q[k, i] ** 2, (k, 1, K)) - sp.Function("q")(i) ** 2, 0)
    return Derivation("def-IV.1", _label(op), "Cross-teacher variance is non-negative", shown, to_latex(shown),
                      f"{_formula_note(op)} {body}", "Σ_k w_k Q_k(i)² − q(i)² ≥ 0 for all K, V.", checked)


@lru_cache(maxsize=None)
def linear_safety() -> Derivation:
    """cor-IV.12 and axiom1-hull for ``linear``: ``q`` is the w-mixture."""
    op = ("linear", ())
    ks = sp.Symbol("k∗", integer=True, positive=True)
    top = sp.Symbol("M", positive=True)  # max_{k != k*} Q_k(i)
    # q(i) − bound = Σ_l (1 − δ_lk*) w_l (Q_l(i) − M) + w_k*·(Q_k*(i) − Q_k*(i)) after Σ_l w_l = 1.
    q_i = sp.Sum(w[l] * Q[l, i], (l, 1, K))
    bound = (1 - w[ks]) * top + w[ks] * Q[ks, i]
    rest = sp.Sum((1 - sp.KroneckerDelta(l, ks)) * w[l] * (Q[l, i] - top), (l, 1, K))
    lhs = sp.refine(sp.expand(q_i - bound - rest).doit(), sp.Q.le(ks, K) & sp.Q.ge(ks, 1))
    lhs = _pull_constants(canonical_sums(lhs)).xreplace({sp.Sum(w[l], (l, 1, K)): 1})
    identity_ok = _is_zero(lhs)
    checked = identity_ok and matches_implementation(op)
    shown = sp.Eq(sp.Function("q")(i) - bound, rest)
    return Derivation(
        "cor-IV.12", "linear", "Safety bound: q(i) − bound = Σ_(l≠k*) w_l (Q_l(i) − max_(k≠k*) Q_k(i))",
        shown, to_latex(shown),
        f"{_formula_note(op)} sympy: q(i) − [(1 − w_k*) M + w_k* Q_k*(i)] equals Σ_l (1 − δ_lk*) w_l (Q_l(i) − M) once "
        f"Σ_l w_l = 1 is substituted ({'checked' if identity_ok else 'NOT confirmed'}), M = max_(k≠k*) Q_k(i); every "
        "term has w_l ≥ 0 and Q_l(i) − M ≤ 0. The convex-hull reading of Axiom 1 holds with λ = w (q = Σ_k w_k Q_k "
        "by definition).",
        "q(i) ≤ (1 − w_k*) max_(k≠k*) Q_k(i) + w_k* Q_k*(i) for all k*, K, V; and q is in the hull with λ = w.",
        checked)


@lru_cache(maxsize=None)
def max_ignores_weights() -> Derivation:
    op = ("max", ())
    free = not any(isinstance(e, sp.Indexed) and e.base == w for e in sp.preorder_traversal(pool(op)))
    checked = free and matches_implementation(op)
    shown = sp.Eq(sp.Function("q")(i), pool(op))
    return Derivation(
        "assumption-L", "max", "q does not depend on w", shown, to_latex(shown),
        f"{_formula_note(op)} The general-K formula contains no weight ({'checked' if free else 'NOT confirmed'}), "
        "so q is constant, hence affine, in w.", "assumption-L (affine form) holds for all K, V.", checked)


@lru_cache(maxsize=None)
def reweighted_monotone(op: ox.CanonicalOp) -> Derivation:
    """axiom3 for ``reweighted``: at K = 2, dq(i)/dδ = f'(w_1)(Q_1(i) − Q_2(i)) with f' > 0."""
    c = dict(op[1])["c"]
    d = sp.Symbol("delta", positive=True)
    q2 = reweighted_pool(c)
    moved = q2.subs({w[1]: w[1] + d, w[2]: w[2] - d}, simultaneous=True)
    derivative = sp.diff(moved, d).subs(d, 0).subs(w[2], 1 - w[1])
    z = sp.Symbol("z", real=True)
    fprime = sp.diff(reweight(c, z), z)
    expected = fprime.subs(z, w[1]) * (Q[1, i] - Q[2, i])
    form_ok = _is_zero(derivative - expected)
    slope_min = sp.minimum(fprime, z, sp.Interval(0, 1))
    checked = form_ok and bool(slope_min.is_positive) and matches_implementation(op)
    shown = sp.Eq(sp.Derivative(sp.Function("q")(i), d), expected)
    return Derivation(
        "axiom3", _label(op), "Weight monotonicity of the reweighted pool", shown, to_latex(shown),
        f"{_formula_note(op)} K ≠ 2 is the linear pool (its all-K proof applies). At K = 2 (teachers 1, 2; moving δ "
        f"from 2 to 1, the other direction by symmetry) sympy gives dq(i)/dδ at δ = 0 = {to_unicode(expected)} on the "
        f"simplex ({'checked' if form_ok else 'NOT confirmed'}), using f'(z) = f'(1 − z). min over [0, 1] of f' is "
        f"{slope_min} > 0, so the derivative has the sign of Q_1(i) − Q_2(i) > 0.",
        "axiom3 holds for all K, V (strict one-sided derivative > 0).", checked)


# ----------------------------------------------------------------------------------------------
# Which proof decides which cell
# ----------------------------------------------------------------------------------------------

def _alpha(op: ox.CanonicalOp) -> sp.Rational | None:
    return dict(op[1]).get("alpha")


def _reweight_ok(op: ox.CanonicalOp) -> bool:
    c = dict(op[1]).get("c")
    return c is not None and -1 < c < 2


def plan(op: ox.CanonicalOp, prop_id: str) -> tuple[Derivation, ...] | None:
    """The derivations that prove ``prop_id`` for ``op`` for all K, V, or ``None``."""
    name = op[0]
    if name not in GENERAL_FORMULAS:
        return None
    a = _alpha(op)
    if prop_id in ("axiom1", "axiom2"):
        if name == "reweighted" and not _reweight_ok(op):
            return None
        return (distribution(op),)
    if prop_id == "axiom4":
        return (continuity(op),)
    if prop_id == "axiom5" and name in ("linear", "geometric", "power") or (
            prop_id == "axiom5" and name == "reweighted" and _reweight_ok(op)):
        return (temperature_coherence(op),)
    if prop_id == "axiom3" and name == "reweighted" and _reweight_ok(op):
        return (reweighted_monotone(op),)
    if prop_id == "thm-IV.9" and name == "power" and a is not None and 0 < a < 1:
        return (power_log_loss(op),)
    if prop_id == "prop-IV.11" and (name in ("linear", "max") or (name == "power" and a is not None and a >= 1)):
        return (power_attenuation(op),)
    if prop_id == "prop-IV.11" and name == "reweighted" and _reweight_ok(op):
        return (distribution(op),)  # q = λ·Q with λ = f(w) on the simplex, λ_k > 0 iff w_k > 0
    if prop_id == "def-IV.1" and (name == "linear" or (name == "power" and a is not None and 1 <= a <= 2)):
        return (power_variance(op),)
    if prop_id in ("cor-IV.12", "axiom1-hull") and name == "linear":
        return (linear_safety(),)
    if prop_id == "axiom1-hull" and name == "reweighted" and _reweight_ok(op):
        return (distribution(op),)  # λ = f(w) is on the simplex (proved there)
    if prop_id == "assumption-L" and name == "max":
        return (max_ignores_weights(),)
    return None


_CAVEATS = {
    ("reweighted", "prop-IV.11"): " q = f(w_1) Q_1 + f(w_2) Q_2 at K = 2 is a convex combination whose coefficient "
                                   "f(w_k) > 0 exactly when w_k > 0 (f strictly increasing, f(0) = 0), so "
                                   "Prop. IV.11's own convex-combination proof applies; K ≠ 2 is linear.",
    ("reweighted", "axiom1-hull"): " The hull witness is λ = (f(w_1), f(w_2)) at K = 2 and λ = w otherwise.",
}


def general_check(op: ox.CanonicalOp, requested: str, prop_id: str) -> Result | None:
    """A ``proved`` result for all K, V from the derivations above, or ``None`` (nothing proved here)."""
    steps = plan(op, prop_id)
    if steps is None or not all(d.checked for d in steps):
        return None
    if op[0] == "reweighted" and prop_id in ("prop-IV.11", "axiom1-hull") and not power_attenuation(("linear", ())).checked:
        return None
    alias = "" if requested == op[0] else f" ({requested} with these parameters is the {op[0]} operator.)"
    conclusion = steps[0].conclusion
    chain = " | ".join(f"{d.title}: {d.text}" for d in steps)
    scope = ALL_SIZES + (", T in (0, inf)^K, w on the simplex (jointly)" if prop_id == "axiom4" else "")
    return Result(prop_id, Verdict.PROVED, method="symbolic (sympy)", scope=scope,
                  message=f"{conclusion}{_CAVEATS.get((op[0], prop_id), '')}{alias} Steps: {chain}",
                  proof=ProofScope(complete=True), extra={"scope_mark": "∀"})


def general_derivations(op: ox.CanonicalOp) -> tuple[Derivation, ...]:
    """Every derivation of this module that applies to ``op`` (shown in the report)."""
    from mtkd.theorems.catalogue import PROPERTIES

    seen: dict[tuple[str, str], Derivation] = {}
    for prop_id in PROPERTIES:
        for d in plan(op, prop_id) or ():
            seen.setdefault((d.prop_id, d.title), d)
    return tuple(seen.values())
