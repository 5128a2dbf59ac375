"""Derivations shown in the report, each computed and checked by sympy rather than typed in.

A :class:`Derivation` carries a displayed formula (``expression``/``latex``), a prose account
(``text``) that says which steps sympy checked and which classical theorems are cited, a one-line
``conclusion``, and ``checked``: whether every sympy check in it came out as claimed.

Where differentiating a generic ``Sum`` over ``K`` teachers is awkward (every operator except
``linear``), the derivative is computed at concrete sizes ``K = 3, V = 3`` and compared with the
displayed general-``K`` formula instantiated at those sizes; the text says so.

>>> [d.prop_id for d in derivations("linear", {})][:2]
['axiom3', 'assumption-L']
>>> derivations("max", {})[0].expression
0
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Mapping

import sympy as sp
from sympy.core.evalf import PrecisionExhausted
from sympy.simplify.simplify import factor_sum

from mtkd.operators.exact import radical_degree
from mtkd.operators.formula import Shape
from mtkd.theorems import operator_exprs as ox
from mtkd.theorems.finite_sums import canonical_sums
from mtkd.theorems.notation import to_latex, to_unicode
from mtkd.theorems.symbols import K, Q, V, delta, i, j, k, k2, l, q, w, y

SIZES = (3, 3)
"""``(K, V)`` at which non-linear operators are differentiated symbolically."""

ILLUSTRATION_DIGITS = 30

MAX_DISPLAY_DEGREE = 100
"""An exact value is simplified for display only when its radicals' degree bound is at most this.

sympy's ``simplify`` of assumption L's Hessian entry at w_0 = 1/3 took at most 0.43 CPU-s at
bounds <= 81 (every built-in; entropic:beta=0.5 is the 81, power means with integer alpha <= 16);
at 200 to 72900 (power means with alpha = -0.4, 0.4, -3.6, 1.2) 4-6 CPU-s for a 230-400-operation
form no reader can use, and over 300 s at 960400 (alpha = 2.8). Above the bound the report shows
the value to 30 digits and names the degree bound."""


@dataclass(frozen=True)
class Derivation:
    """One derivation: formula, prose, conclusion, and whether sympy confirmed every step."""

    prop_id: str
    operator: str
    title: str
    expression: sp.Basic
    latex: str
    text: str
    conclusion: str
    checked: bool


def _is_zero(expr: sp.Expr) -> bool:
    """Exact zero test: ``simplify`` must return literally 0 (no numerical shortcut)."""
    return sp.simplify(expr) == 0


def _label(op: ox.CanonicalOp) -> str:
    name, params = op
    return name if not params else f"{name}({', '.join(f'{p}={v}' for p, v in params)})"


def _zero_based(expr: sp.Expr) -> sp.Expr:
    """Shift the 1-based indices of a displayed formula to the 0-based ones of :mod:`operator_exprs`."""
    return expr.replace(lambda e: isinstance(e, sp.Indexed),
                        lambda e: e.base[tuple(idx - 1 for idx in e.indices)])


def _shift(concrete: sp.Expr) -> sp.Expr:
    """``w + delta (e_k - e_k')`` at teachers ``k = 0, k' = 1`` of a concrete expression."""
    return concrete.subs({ox.w[0]: ox.w[0] + delta, ox.w[1]: ox.w[1] - delta}, simultaneous=True)


# ----------------------------------------------------------------------------------------------
# axiom3: d q(i) / d delta at delta = 0
# ----------------------------------------------------------------------------------------------

def _axiom3_linear(op: ox.CanonicalOp) -> Derivation:
    moved = sp.Sum((w[l] + delta * (sp.KroneckerDelta(l, k) - sp.KroneckerDelta(l, k2))) * Q[l, i], (l, 1, K))
    first = sp.diff(moved, delta).doit()
    # Teacher indices lie in 1..K; refine resolves sympy's Piecewise over that range.
    derivative = sp.refine(first, sp.Q.le(k, K) & sp.Q.le(k2, K))
    second = sp.diff(moved, delta, 2)
    checked = _is_zero(derivative - (Q[k, i] - Q[k2, i])) and _is_zero(second)
    return Derivation(
        "axiom3", _label(op), "Weight monotonicity: derivative of q(i) along w_k += δ, w_k' -= δ",
        derivative, to_latex(sp.Eq(sp.Derivative(q(i), delta), derivative)),
        "For generic K, sympy differentiates q(i; δ) = Σ_l (w_l + δ(δ_{lk} − δ_{lk'})) Q_l(i) in δ: "
        f"dq(i)/dδ = {to_unicode(derivative)} and d²q(i)/dδ² = 0, so q(i; δ) − q(i) = δ·(Q_k(i) − Q_k'(i)) "
        "exactly, for every δ ∈ (0, w_k'] (the moved weights stay on the simplex).",
        "axiom3 holds for all K, V: the derivative Q_k(i) − Q_k'(i) is > 0 by hypothesis, and q(i) is "
        "exactly linear in δ, so q(i) strictly increases for every admissible δ > 0.",
        checked)


def _log_rate(op: ox.CanonicalOp) -> sp.Expr:
    """``g(j) = d log m(j) / d delta`` at delta = 0, as the general-K formula shown in the report."""
    return ox.symbolic_class(op[0]).log_rate(dict(op[1]))


def _first_token_derivative(op: ox.CanonicalOp, n_teachers: int, n_tokens: int) -> sp.Expr:
    """sympy's own ``d q(0)/d delta`` at delta = 0 for teachers ``k = 0, k' = 1``."""
    q0 = ox._operator_expr(op, n_teachers, n_tokens)[0]
    return sp.diff(_shift(q0), delta).subs(delta, 0)


def _illustration(op: ox.CanonicalOp) -> str:
    """The derivative at a point where Q_k(0) > Q_k'(0), as a sentence if it is negative there.

    K = 2, V = 3, w = (9/10, 1/10), Q_k = (1/5, 3/4, 1/20), Q_k' = (1/10, 3/20, 3/4): most of q's
    mass sits on token 1, where teacher k is far more confident than k', so token 0's own log-ratio
    log 2 is below its q-average.
    """
    point = {ox.w[0]: sp.Rational(9, 10), ox.w[1]: sp.Rational(1, 10)}
    rows = ((sp.Rational(1, 5), sp.Rational(3, 4), sp.Rational(1, 20)),
            (sp.Rational(1, 10), sp.Rational(3, 20), sp.Rational(3, 4)))
    point.update({ox.Q[kk, ii]: rows[kk][ii] for kk in range(2) for ii in range(3)})
    value = _first_token_derivative(op, 2, 3).subs(point).evalf(ILLUSTRATION_DIGITS)
    if value >= 0:  # this point shows nothing for this operator; say nothing rather than mislead
        return ""
    return (f" Illustration (K=2, V=3, w=(9/10, 1/10), Q_k=(1/5, 3/4, 1/20), Q_k'=(1/10, 3/20, 3/4), "
            f"i=0, so Q_k(0) > Q_k'(0)): dq(0)/dδ ≈ {sp.N(value, 6)} ({ILLUSTRATION_DIGITS}-digit evaluation; "
            "an illustration, not a certified counterexample).")


def _axiom3_normalised(op: ox.CanonicalOp) -> Derivation:
    """Operators of the form q(j) = m(j) / Σ m: dq(i)/dδ = q(i) (g(i) − Σ_j q(j) g(j)), g = d log m."""
    n_teachers, n_tokens = SIZES
    g = _log_rate(op)
    displayed = q(i) * (g.subs(j, i) - sp.Sum(q(j) * g, (j, 1, V)))
    # Check 1: the displayed g, instantiated at K = 3, matches d log m(j)/dδ computed by sympy.
    ms = [ox.unnormalised_expr(op, n_teachers, jj) for jj in range(n_tokens)]
    g_sympy = [sp.diff(sp.log(_shift(m)), delta).subs(delta, 0) for m in ms]
    g_shown = [_zero_based(g.subs({k: 1, k2: 2, j: jj + 1, K: n_teachers}).doit()) for jj in range(n_tokens)]
    rates_match = all(_is_zero(a - b) for a, b in zip(g_sympy, g_shown))
    # Check 2: sympy's derivative of the whole normalised operator equals the displayed formula.
    qs = ox._operator_expr(op, n_teachers, n_tokens)
    template = qs[0] * (g_shown[0] - sp.Add(*(qs[jj] * g_shown[jj] for jj in range(n_tokens))))
    formula_matches = _is_zero(_first_token_derivative(op, n_teachers, n_tokens) - template)
    sign = (f"The sign is that of g(i) − Σ_j q(j) g(j) with g(j) = {to_unicode(g)}: negative exactly when "
            "g at token i is below its q-average. The hypothesis Q_k(i) > Q_k'(i) only makes g(i) > 0, "
            "so it does not fix the sign.")
    return Derivation(
        "axiom3", _label(op), "Weight monotonicity: derivative of q(i) along w_k += δ, w_k' -= δ",
        displayed, to_latex(sp.Eq(sp.Derivative(q(i), delta), displayed)),
        f"q(j) = m(j)/Σ m with m(j) = {to_unicode(ox.unnormalised_expr(op, 2, 0))} (shown for K=2, token 0). "
        f"Generic-K differentiation of Σ/∏ is awkward in sympy, so the derivative was computed at K={n_teachers}, "
        f"V={n_tokens} (teachers k=0, k'=1, token 0) and compared exactly with the displayed formula instantiated "
        f"there: rate g(j) {'matches' if rates_match else 'DOES NOT match'}, full derivative "
        f"{'matches' if formula_matches else 'DOES NOT match'}. " + sign + _illustration(op),
        "axiom3 is not implied by the hypothesis: the sign of the derivative is not fixed "
        "(a refutation needs a certified counterexample from the certifier).",
        rates_match and formula_matches)


def _axiom3_max(op: ox.CanonicalOp) -> Derivation:
    n_teachers, n_tokens = SIZES
    derivative = sp.simplify(_first_token_derivative(op, n_teachers, n_tokens))
    no_weights = all(not (e.free_symbols & {ox.w[kk] for kk in range(n_teachers)})
                     for e in ox._operator_expr(op, n_teachers, n_tokens))
    return Derivation(
        "axiom3", _label(op), "Weight monotonicity: derivative of q(i) along w_k += δ, w_k' -= δ",
        derivative, to_latex(sp.Eq(sp.Derivative(q(i), delta), derivative)),
        f"q(i) = max_k Q_k(i) / Σ_j max_k Q_k(j) contains no weight (checked at K={n_teachers}, V={n_tokens}; "
        "the formula ignores w at every K), so sympy's derivative is identically 0.",
        "Strictness fails: dq(i)/dδ = 0, so q(i) never strictly increases (axiom3 refuted in its strict part "
        "once the certifier confirms a concrete input).",
        derivative == 0 and no_weights)


# ----------------------------------------------------------------------------------------------
# assumption-L: Hessian in w
# ----------------------------------------------------------------------------------------------

def _assumption_l_linear(op: ox.CanonicalOp) -> Derivation:
    a, b = sp.symbols("a b", integer=True, positive=True)
    qi = sp.Sum(w[l] * Q[l, i], (l, 1, K))
    hessian_entry = sp.diff(qi, w[a], w[b]).doit()
    separable_gap = qi - sp.Sum(w[l] * sp.Lambda(sp.Symbol("x"), sp.Symbol("x"))(Q[l, i]), (l, 1, K))
    checked = hessian_entry == 0 and _is_zero(separable_gap)
    return Derivation(
        "assumption-L", _label(op), "Assumption L: Hessian of q(i) in w",
        hessian_entry, to_latex(sp.Eq(sp.Derivative(q(i), w[a], w[b]), hessian_entry)),
        "For generic K, sympy differentiates q(i) = Σ_l w_l Q_l(i) twice in (w_a, w_b): the result is 0 for "
        "every a, b, so q is affine in w (on all of ℝ^K, hence on the simplex). The separable form holds "
        "with f_k = identity: q(i) − Σ_l w_l·f_l(Q_l(i)) simplifies to 0.",
        "assumption-L holds for all K, V, including the separable form q(i) = Σ_k w_k f_k(Q_k(i)) with f_k(x) = x.",
        checked)


def _assumption_l_nonlinear(op: ox.CanonicalOp) -> Derivation:
    # On the simplex with K = 2 only w_0 is free (w_1 = 1 - w_0): affine in w iff d²q/dw_0² = 0.
    # The general entry is unreadable, so it is shown at a rational teacher point, where it is a
    # function of w_0 alone, and its exact value at w_0 = 1/3 decides "not identically zero".
    teachers = {ox.Q[0, 0]: sp.Rational(1, 5), ox.Q[0, 1]: sp.Rational(4, 5),
                ox.Q[1, 0]: sp.Rational(1, 2), ox.Q[1, 1]: sp.Rational(1, 2)}
    q0 = ox._operator_expr(op, 2, 2)[0].subs(teachers).subs(ox.w[1], 1 - ox.w[0])
    entry = sp.diff(q0, ox.w[0], 2)
    at_third = entry.subs(ox.w[0], sp.Rational(1, 3))
    degree = radical_degree(at_third)
    simplified = degree is not None and degree <= MAX_DISPLAY_DEGREE
    exact = sp.simplify(at_third) if simplified else at_third
    value = exact.evalf(ILLUSTRATION_DIGITS)
    # A value at w_0 = 1/3 told apart from zero shows the entry is not identically zero; only
    # otherwise is the whole entry simplified (minutes for power means with a fractional alpha).
    zero = not _certainly_nonzero(exact) and sp.simplify(entry) == 0
    displayed = exact if simplified else sp.Float(value, ILLUSTRATION_DIGITS)
    in_words = to_unicode(exact) if simplified else (
        f"a radical expression of degree bound {degree}, too large to simplify for display," if degree
        else "an expression not simplified for display,")
    shown = sp.Eq(sp.Subs(sp.Derivative(q(0), ox.w[0], 2), ox.w[0], sp.Rational(1, 3)), displayed)
    if zero:
        text = ("With K=2, V=2 and w_1 = 1 − w_0 (the simplex), sympy's second derivative d²q(0)/dw_0² is "
                "identically 0 at Q=((1/5, 4/5), (1/2, 1/2)): q does not depend on w at all, so it is "
                "(trivially) affine in w. The separable form is not established symbolically.")
        conclusion = "Hessian identically 0 (q ignores w); no proof for general K is claimed here."
    else:
        text = ("With K=2, V=2 and w_1 = 1 − w_0 (restricting to the simplex, where affinity is asked), sympy "
                "differentiates q(0) twice in w_0 at Q=((1/5, 4/5), (1/2, 1/2)); at w_0 = 1/3 the exact value is "
                f"{in_words} ≈ {sp.N(value, 6)} ({ILLUSTRATION_DIGITS}-digit evaluation), so the Hessian "
                "is not identically zero and q is not affine in w. The separable form "
                "q(i) = Σ_k w_k f_k(Q_k(i)) is affine in w, so it fails too.")
        conclusion = "assumption-L fails (non-zero Hessian entry); so does the separable form."
    return Derivation(
        "assumption-L", _label(op), "Assumption L: Hessian of q(i) in w",
        displayed, to_latex(shown), text, conclusion, zero or value != 0)


def _certainly_nonzero(x: sp.Expr) -> bool:
    """True when sympy evaluates ``x`` to :data:`ILLUSTRATION_DIGITS` correct digits and it is not 0
    (``strict``: an expression it cannot tell from zero raises instead of returning noise)."""
    try:
        return bool(x.evalf(ILLUSTRATION_DIGITS, strict=True) != 0)
    except PrecisionExhausted:
        return False


# ----------------------------------------------------------------------------------------------
# Operator-independent facts
# ----------------------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def variance_reduction() -> Derivation:
    """thm-IV.2: ``w² <= w`` on [0, 1], hence ``Σ w_k² s_k <= Σ w_k s_k``, strict with two positive weights."""
    x = sp.Symbol("x", real=True)
    s = sp.IndexedBase("s")
    sigma = sp.IndexedBase("sigma")
    on_unit = sp.solve_univariate_inequality(x - x**2 >= 0, x, relational=False, domain=sp.Interval(0, 1))
    factored = sp.factor(x - x**2)
    gap = sp.Sum(w[k] * s[k], (k, 1, K)) - sp.Sum(w[k] ** 2 * s[k], (k, 1, K))
    gap_form = sp.Sum(w[k] * (1 - w[k]) * s[k], (k, 1, K))
    gap_matches = canonical_sums(gap - gap_form) == 0
    wk, rest, sk = sp.symbols("w_k r s_k", nonnegative=True)
    term_nonneg = (wk * rest * sk).is_nonnegative  # 1 - w_k = r >= 0 on the simplex
    wa, wb, sa = sp.symbols("w_a w_b s_a", positive=True)
    strict = (wa * (wb + rest) * sa).is_positive  # 1 - w_a = w_b + (others) > 0 when w_b > 0
    # (A2): Var(Σ w_k ε_k) = Σ_{j,l} w_j w_l Cov(ε_j, ε_l) with Cov = δ_{jl} σ_j collapses to Σ w_j² σ_j.
    variance = sp.refine(sp.Sum(sp.Sum(w[j] * w[l] * sp.KroneckerDelta(j, l) * sigma[j], (l, 1, K)),
                                (j, 1, K)).doit(), sp.Q.le(j, K))
    variance_ok = canonical_sums(variance - sp.Sum(w[j] ** 2 * sigma[j], (j, 1, K))) == 0
    checked = (on_unit == sp.Interval(0, 1) and bool(term_nonneg) and bool(strict) and gap_matches
               and variance_ok)
    return Derivation(
        "thm-IV.2", "any (needs assumption-L)", "Variance reduction: Σ w_k² s_k ≤ Σ w_k s_k",
        gap_form, to_latex(sp.Eq(gap, gap_form)),
        f"sympy: x − x² = {to_unicode(factored)}, and {{x ∈ [0,1] : x − x² ≥ 0}} = {on_unit}. For generic K, "
        "Σ w_k s_k − Σ w_k² s_k equals Σ w_k(1 − w_k)s_k (finite sums normalised and compared); each term is a "
        "product of non-negative factors (sympy's sign assumptions), and with two positive weights w_a, w_b "
        "the factor 1 − w_a ≥ w_b > 0 makes the a-term positive when s_a > 0. Under (A2), sympy collapses "
        "Σ_j Σ_l w_j w_l δ_jl σ_j to Σ_j w_j² σ_j. The theorem applies to an operator only where assumption-L "
        "(with f_k = identity) holds.",
        "Σ w_k² s_k ≤ Σ w_k s_k for all K and s ≥ 0, strict with two positive weights whose s are positive.",
        checked)


def _positive_second_derivative(f: Callable[[sp.Symbol], sp.Expr]) -> tuple[sp.Expr, bool]:
    x = sp.Symbol("x", positive=True)
    second = sp.simplify(sp.diff(f(x), x, 2))
    return second, bool(second.is_positive)


@lru_cache(maxsize=None)
def jensen_kl() -> Derivation:
    """thm-IV.7 for the w-mixture: the student terms cancel, leaving a Jensen gap of phi(x) = x log x."""
    s = sp.IndexedBase("s", positive=True)
    phi_second, phi_convex = _positive_second_derivative(lambda x: x * sp.log(x))
    mix = sp.Sum(w[k] * Q[k, i], (k, 1, K))

    def kl(p: sp.Expr) -> sp.Expr:
        return sp.Sum(p * (sp.log(p) - sp.log(s[i])), (i, 1, V))

    gap = kl(mix) - sp.Sum(w[k] * kl(Q[k, i]), (k, 1, K))
    gap_flat = canonical_sums(gap)
    jensen_gap = (sp.Sum(mix * sp.log(mix), (i, 1, V))
                  - sp.Sum(w[k] * sp.Sum(Q[k, i] * sp.log(Q[k, i]), (i, 1, V)), (k, 1, K)))
    student_free = s not in {e.base for e in gap_flat.atoms(sp.Indexed)}
    cancels = canonical_sums(gap_flat - jensen_gap) == 0
    checked = phi_convex and student_free and cancels
    return Derivation(
        "thm-IV.7", "linear", "Jensen bound: KL(q‖s) − Σ_k w_k KL(Q_k‖s) for the w-mixture",
        jensen_gap, to_latex(sp.Eq(sp.Symbol(r"\mathrm{gap}"), jensen_gap)),
        "With q(i) = Σ_k w_k Q_k(i) (the linear operator), sympy expands KL(q‖s) − Σ_k w_k KL(Q_k‖s) over generic "
        "K, V (logs split using positivity of the open domain), normalises the finite double sums, and finds that "
        f"every log s_i term cancels ({'checked' if student_free and cancels else 'NOT confirmed'}), leaving "
        "Σ_i φ(q(i)) − Σ_k w_k Σ_i φ(Q_k(i)) with φ(x) = x log x. "
        f"sympy: φ''(x) = {phi_second} > 0 for x > 0, so φ is convex; Jensen's inequality (cited) gives "
        "φ(Σ_k w_k Q_k(i)) ≤ Σ_k w_k φ(Q_k(i)) for each i, so the gap is ≤ 0.",
        "KL(q‖s) ≤ Σ_k w_k KL(Q_k‖s) for every student s on the open simplex when q is the w-mixture.",
        checked)


@lru_cache(maxsize=None)
def jensen_log_loss() -> Derivation:
    """thm-IV.9 for the w-mixture: -log is convex."""
    second, convex = _positive_second_derivative(lambda x: -sp.log(x))
    bound = sp.Le(-sp.log(sp.Sum(w[k] * Q[k, y], (k, 1, K))), -sp.Sum(w[k] * sp.log(Q[k, y]), (k, 1, K)))
    return Derivation(
        "thm-IV.9", "linear", "Log-loss bound: −log is convex",
        bound, to_latex(bound),
        f"sympy: (−log x)'' = {second} > 0 for x > 0, so −log is convex on (0, ∞); Jensen's inequality (cited) "
        "with weights w on the simplex gives −log(Σ_k w_k Q_k(y)) ≤ −Σ_k w_k log Q_k(y).",
        "−log q(y) ≤ −Σ_k w_k log Q_k(y) for all K, V on the open domain when q is the w-mixture.",
        convex)


@lru_cache(maxsize=None)
def geometric_log_loss() -> Derivation:
    """thm-IV.9 for the geometric pool: ``-log q(y) = -Σ w log Q_y + log Z`` with ``Z <= 1``."""
    geo = sp.Product(Q[k, y] ** w[k], (k, 1, K))
    Z = sp.Sum(sp.Product(Q[k, j] ** w[k], (k, 1, K)), (j, 1, V))
    identity = sp.Eq(-sp.log(geo / Z), -sp.Sum(w[k] * sp.log(Q[k, y]), (k, 1, K)) + sp.log(Z))
    # force=True splits logs of products/powers: valid because every Q is positive (open domain).
    identity_ok = _is_zero(sp.expand_log(identity.lhs - identity.rhs, force=True))
    log_second = sp.diff(sp.log(sp.Symbol("x", positive=True)), sp.Symbol("x", positive=True), 2)
    log_concave = bool(log_second.is_negative)
    # Σ_j Σ_k w_k Q_kj = Σ_k w_k Σ_j Q_kj = Σ_k w_k = 1: exchange the finite sums, then use the row
    # sums and the simplex.
    exchanged = canonical_sums(sp.Sum(sp.Sum(w[k] * Q[k, j], (k, 1, K)), (j, 1, V)))
    inner_first = sp.Sum(factor_sum(sp.Sum(exchanged.function, exchanged.limits[0])), exchanged.limits[1])
    # xreplace (exact structural match): subs declines to touch sums containing bound indices.
    total = inner_first.xreplace({sp.Sum(Q[k, j], (j, 1, V)): 1}).xreplace({sp.Sum(w[k], (k, 1, K)): 1})
    total_ok = exchanged.limits[0][0] == j and total == 1
    x = sp.Symbol("x", positive=True)
    log_increasing = bool(sp.diff(sp.log(x), x).is_positive) and sp.log(1) == 0
    checked = identity_ok and log_concave and total_ok and log_increasing
    return Derivation(
        "thm-IV.9", "geometric", "Log-loss bound for the geometric pool: −log q(y) = −Σ w log Q_y + log Z",
        identity, to_latex(identity),
        "Checked by sympy for generic K, V: (1) the identity −log(∏_k Q_k(y)^{w_k} / Z) = −Σ_k w_k log Q_k(y) "
        "+ log Z (logs split using positivity); (2) log''(x) = −1/x² < 0, so log is concave and the weighted "
        "AM–GM inequality (cited; it is Jensen's inequality for log) gives ∏_k Q_k(j)^{w_k} ≤ Σ_k w_k Q_k(j); "
        "(3) Σ_j Σ_k w_k Q_k(j) = Σ_k w_k Σ_j Q_k(j) = 1 (finite sums exchanged, then row sums and the simplex "
        "substituted), so Z ≤ 1; (4) log'(x) = 1/x > 0 and log 1 = 0, so log Z ≤ 0.",
        "−log q(y) ≤ −Σ_k w_k log Q_k(y) for all K ≥ 1, V ≥ 2 on the open domain.",
        checked)


@lru_cache(maxsize=None)
def entropic_closed_form() -> Derivation:
    """The entropic pool's closed form from Lagrangian stationarity (K = 3, V = 3, symbolic beta)."""
    n_teachers, n_tokens = SIZES
    c = sp.Symbol("c", positive=True)  # c = 1 + beta > 0 exactly when beta > -1
    lagrange = sp.Symbol("mu", real=True)
    qs = sp.symbols(f"q0:{n_tokens}", positive=True)
    ws = [ox.w[kk] for kk in range(n_teachers - 1)]
    ws.append(1 - sp.Add(*ws))  # the simplex
    objective = (sp.Add(*(ws[kk] * qs[ii] * sp.log(qs[ii] / ox.Q[kk, ii])
                          for kk in range(n_teachers) for ii in range(n_tokens)))
                 + (c - 1) * sp.Add(*(qs[ii] * sp.log(qs[ii]) for ii in range(n_tokens))))
    lagrangian = objective + lagrange * (sp.Add(*qs) - 1)
    stationary = [sp.solve(sp.diff(lagrangian, qs[ii]), qs[ii]) for ii in range(n_tokens)]
    closed = [sp.Mul(*(ox.Q[kk, ii] ** (ws[kk] / c) for kk in range(n_teachers))) for ii in range(n_tokens)]
    unique = all(len(sol) == 1 for sol in stationary)
    ratios = [sp.simplify(sp.expand_log(sp.log(sol[0] / cf), force=True)) for sol, cf in zip(stationary, closed)]
    proportional = unique and all(_is_zero(r - ratios[0]) for r in ratios) and not (
        ratios[0].free_symbols & {ox.Q[kk, ii] for kk in range(n_teachers) for ii in range(n_tokens)})
    hessian = sp.hessian(objective, qs)
    diagonal = all(sp.simplify(hessian[a, b]) == 0 for a in range(n_tokens) for b in range(n_tokens) if a != b)
    convex = diagonal and all(sp.simplify(hessian[a, a]).is_positive for a in range(n_tokens))
    beta = sp.Symbol("beta")
    shown = sp.Eq(q(i), sp.Product(Q[k, i] ** w[k], (k, 1, K)) ** (1 / (1 + beta))
                  / sp.Sum(sp.Product(Q[k, j] ** w[k], (k, 1, K)) ** (1 / (1 + beta)), (j, 1, V)))
    return Derivation(
        "thm-III.2", "entropic", "Entropic pool: closed form from Lagrangian stationarity",
        shown, to_latex(shown),
        f"At K={n_teachers}, V={n_tokens} with w on the simplex and symbolic c = 1 + β > 0, sympy solves "
        "∂/∂q_i [Σ_k w_k KL(q‖Q_k) − β H(q) + μ(Σ q − 1)] = 0 for each q_i; every solution divided by "
        "∏_k Q_k(i)^{w_k/(1+β)} is the same constant exp(−1 − μ/(1+β)) "
        f"({'checked' if proportional else 'NOT confirmed'}), so q ∝ (∏_k Q_k^{{w_k}})^{{1/(1+β)}}. "
        f"The objective's Hessian is diag((1+β)/q_i) ({'checked' if convex else 'NOT confirmed'}), positive "
        "for β > −1: the objective is strictly convex, so this stationary point is the unique minimiser on "
        "the simplex (KKT sufficiency for convex problems, cited).",
        "q ∝ (∏_k Q_k^{w_k})^{1/(1+β)} is the entropic pool for every β > −1.",
        proportional and convex)


@lru_cache(maxsize=None)
def logit_matching() -> Derivation:
    """prop-V.2: one free logit vector per input reproduces any positive target exactly."""
    qs = sp.symbols(f"q0:{SIZES[1]}", positive=True)
    last = 1 - sp.Add(*qs[:-1])  # the target sums to 1
    target = list(qs[:-1]) + [last]
    softmax = [sp.exp(sp.log(t)) / sp.Add(*(sp.exp(sp.log(u)) for u in target)) for t in target]
    ok = all(_is_zero(sm - t) for sm, t in zip(softmax, target))
    theta = sp.IndexedBase("theta")
    shown = sp.Eq(theta[i], sp.log(q(i)))
    return Derivation(
        "prop-V.2", "any", "Capacity: logits θ_i = log q(i) reproduce q",
        shown, to_latex(shown),
        f"sympy: softmax(log q) = q for a positive target summing to 1 (checked at V={SIZES[1]}); then "
        "KL(q‖softmax(θ)) = 0. It needs q(i) > 0 (axiom2) and Σ q = 1 (axiom1); targets with zeros are "
        "only reached in the limit.",
        "A student with one free logit vector per training input matches every positive target exactly.",
        ok)


# ----------------------------------------------------------------------------------------------

EXTRAS: Mapping[str, Callable[[], Derivation]] = {
    "geometric_log_loss": geometric_log_loss,
    "entropic_closed_form": entropic_closed_form,
}
"""Operator-specific derivations by the name an operator lists in ``derivation_extras``."""


@lru_cache(maxsize=None)
def _derivations(op: ox.CanonicalOp) -> tuple[Derivation, ...]:
    from mtkd.theorems.proofs_general import general_derivations

    return _shape_derivations(op) + general_derivations(op)


def _shape_derivations(op: ox.CanonicalOp) -> tuple[Derivation, ...]:
    shape = ox.symbolic_class(op[0]).shape
    if shape is Shape.MIXTURE:
        return (_assumption_l_nonlinear(op), variance_reduction(), logit_matching())
    if shape is Shape.AFFINE:
        return (_axiom3_linear(op), _assumption_l_linear(op), variance_reduction(), jensen_kl(),
                jensen_log_loss(), logit_matching())
    axiom3 = _axiom3_max(op) if shape is Shape.WEIGHT_FREE else _axiom3_normalised(op)
    out = [axiom3, _assumption_l_nonlinear(op), variance_reduction()]
    out += [EXTRAS[name]() for name in ox.symbolic_class(op[0]).derivation_extras]
    out.append(logit_matching())
    return tuple(out)


def derivations(op_name: str, params: Mapping[str, float]) -> tuple[Derivation, ...]:
    """The derivations the report shows for a built-in operator (memoised per canonical operator).

    ``power`` with ``alpha = 1`` is the linear operator and ``entropic`` with ``beta = 0`` the
    geometric one (see :func:`mtkd.theorems.operator_exprs.canonical_operator`), so they share its
    derivations.
    """
    return _derivations(ox.canonical_operator(op_name, params))
