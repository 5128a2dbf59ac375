"""Every property id of ``FORMALIZATION.md`` as a sympy statement, and its rendering.

Reading conventions (see :mod:`mtkd.theorems.notation` for the quantifier objects):

* ``K`` teachers, ``V`` tokens, both generic; indices run from 1.
* ``P[k,i]`` raw teachers, ``T[k] > 0`` temperatures, ``w[k]`` weights,
  ``Q[k,i] = P[k,i]^(1/T[k]) / Σ_j P[k,j]^(1/T[k])`` the temperature-scaled teachers.
* ``G(P, T, w, i)`` is the operator's output at token ``i``; ``q(i)`` abbreviates
  ``G(P, T, w, i)`` at the ``(P, T, w)`` quantified in front of the statement.
* Domains: ``(Δ_V)^K`` teacher matrices (rows on the probability simplex; open domain, every entry
  ``> 0``, by default, and the closed domain reported separately), ``(Δ°_V)^K`` explicitly open,
  ``Δ_K`` the weight simplex, ``Δ°_V`` students on the open simplex, ``𝒢`` a set of operators.
* ``max`` over an empty index set (``cor-IV.12`` with ``K = 1``) is 0; the term it multiplies then
  has coefficient ``1 - w_k* = 0`` anyway.

>>> "Σ_{k=1..K}" in render("thm-IV.9", "unicode")
True
>>> render("axiom2", "latex").startswith(r"\\forall")
True
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Literal

import sympy as sp

from mtkd.theorems.notation import (
    Exists,
    ForAll,
    IndexedMax,
    NamedSet,
    RowReplaced,
    Satisfies,
    to_latex,
    to_unicode,
)

K, V, N = sp.symbols("K V N", integer=True, positive=True)
i, j, k, l, n, y = sp.symbols("i j k l n y", integer=True, positive=True)
k2 = sp.Symbol("k'", integer=True, positive=True)
# U+2217, not "*": the one-line printer maps "*" to "·".
kstar = sp.Symbol("k∗", integer=True, positive=True)
a, b = sp.symbols("a b", integer=True, positive=True)
delta, delta0, eps, eta, lam_s = sp.symbols("delta delta_0 epsilon eta lambda", positive=True)

# Vector-level names (what the quantifiers bind and G receives) and their entries.
Pv, Tv, wv, wv2, sv, thetav, lamv, uv, hv = sp.symbols("P T w w' s theta lambda u h_k")
Pv2, Tv2 = sp.symbols("P' T'")
P = sp.IndexedBase("P", positive=True)
T = sp.IndexedBase("T", positive=True)
Q = sp.IndexedBase("Q", positive=True)
w = sp.IndexedBase("w", nonnegative=True)
# No sign assumption on s: thm-IV.2 needs "s_a > 0" to stay a hypothesis rather than fold to True.
s = sp.IndexedBase("s")
e = sp.IndexedBase("e")
lam = sp.IndexedBase("lambda", nonnegative=True)
theta = sp.IndexedBase("theta", real=True)
qn = sp.IndexedBase("q")
G = sp.Function("G")
q = sp.Function("q")
Gop, G1, G2 = sp.symbols("G G_1 G_2")  # operators as bound variables...
G1f, G2f = sp.Function("G_1"), sp.Function("G_2")  # ...and applied to inputs
dist = sp.Function("d")

TEACHERS = NamedSet("(Δ_V)^K", r"(\Delta_V)^K")
OPEN_TEACHERS = NamedSet("(Δ°_V)^K", r"(\Delta^{\circ}_V)^K")
TEMPERATURES = NamedSet("(0,∞)^K", r"(0,\infty)^K")
WEIGHTS = NamedSet("Δ_K", r"\Delta_K")
STUDENTS = NamedSet("Δ°_V", r"\Delta^{\circ}_V")
TOKENS = NamedSet("{1,…,V}", r"\{1,\dots,V\}")
TEACHER_IDS = NamedSet("{1,…,K}", r"\{1,\dots,K\}")
OTHER_TEACHERS = NamedSet("{1,…,K}∖{k∗}", r"\{1,\dots,K\}\setminus\{k^{*}\}")
NONNEG_K = NamedSet("[0,∞)^K", r"[0,\infty)^K")
INPUTS = NamedSet("(Δ_V)^K×(0,∞)^K×Δ_K", r"(\Delta_V)^K\times(0,\infty)^K\times\Delta_K")
OPERATORS = NamedSet("𝒢", r"\mathcal{G}")
POS_INTEGERS = NamedSet("ℕ₊", r"\mathbb{N}_{+}")
TARGETS = NamedSet("(Δ°_V)^N", r"(\Delta^{\circ}_V)^N")
LOGITS = NamedSet("ℝ^(N×V)", r"\mathbb{R}^{N\times V}")

_LATEX_NAMES = {kstar: "k^{*}", hv: "h_k", eps: r"\varepsilon"}

AXIOMS = ("axiom1", "axiom2", "axiom3", "axiom4", "axiom5")


def _inputs(body: sp.Basic, teachers: NamedSet = TEACHERS) -> ForAll:
    return ForAll(((Pv, teachers), (Tv, TEMPERATURES), (wv, WEIGHTS)), body)


def _scaled(kk: sp.Basic, ii: sp.Basic) -> sp.Expr:
    """``tau_{T_k}(p_k)(i)`` written out, for the one statement about the raw teachers."""
    return P[kk, ii] ** (1 / T[kk]) / sp.Sum(P[kk, j] ** (1 / T[kk]), (j, 1, V))


def _axiom1() -> sp.Basic:
    return _inputs(sp.And(
        ForAll(((i, TOKENS),), sp.And(sp.Ge(q(i), 0), sp.Contains(q(i), sp.Reals))),
        sp.Eq(sp.Sum(q(i), (i, 1, V)), 1),
    ))


def _axiom1_hull() -> sp.Basic:
    return _inputs(Exists(((lamv, WEIGHTS),), ForAll(((i, TOKENS),), sp.Eq(q(i), sp.Sum(lam[k] * Q[k, i], (k, 1, K))))))


def _axiom2() -> sp.Basic:
    return _inputs(ForAll(((i, TOKENS),), sp.Gt(q(i), 0)), teachers=OPEN_TEACHERS)


def _axiom3() -> sp.Basic:
    moved = wv + delta * (e[k] - e[k2])
    return _inputs(ForAll(((k, TEACHER_IDS), (k2, TEACHER_IDS), (i, TOKENS)), sp.Implies(
        sp.And(sp.Ne(k, k2), sp.Gt(Q[k, i], Q[k2, i]), sp.Gt(w[k2], 0)),
        Exists(((delta0, sp.Interval.open(0, sp.oo)),), ForAll(((delta, sp.Interval.open(0, delta0)),),
                                                                 sp.Gt(G(Pv, Tv, moved, i), q(i)))),
    )))


def _axiom4() -> sp.Basic:
    close = sp.Lt(dist(sp.Tuple(Pv2, Tv2, wv2), sp.Tuple(Pv, Tv, wv)), eta)
    near = ForAll(((i, TOKENS),), sp.Lt(sp.Abs(G(Pv2, Tv2, wv2, i) - q(i)), eps))
    return _inputs(ForAll(((eps, sp.Interval.open(0, sp.oo)),), Exists(((eta, sp.Interval.open(0, sp.oo)),), ForAll(
        ((Pv2, TEACHERS), (Tv2, TEMPERATURES), (wv2, WEIGHTS)), sp.Implies(close, near)))))


def _axiom5() -> sp.Basic:
    single = ForAll(((Pv, TEACHERS), (Tv, TEMPERATURES), (k, TEACHER_IDS), (i, TOKENS)),
                    sp.Eq(G(Pv, Tv, e[k], i), _scaled(k, i)))
    # h_k: uniform over argmax p_k (one-hot when the maximum is unique), as FORMALIZATION fixes.
    to_uniform = sp.Eq(sp.Limit(q(i), T[k], sp.oo), G(RowReplaced(Pv, k, uv), RowReplaced(Tv, k, 1), wv, i))
    to_argmax = sp.Eq(sp.Limit(q(i), T[k], 0, "+"), G(RowReplaced(Pv, k, hv), RowReplaced(Tv, k, 1), wv, i))
    limits = _inputs(ForAll(((k, TEACHER_IDS), (i, TOKENS)), sp.And(to_uniform, to_argmax)))
    return sp.And(single, limits)


def _assumption_l() -> sp.Basic:
    mixed = G(Pv, Tv, lam_s * wv + (1 - lam_s) * wv2, i)
    return ForAll(((Pv, TEACHERS), (Tv, TEMPERATURES), (wv, WEIGHTS), (wv2, WEIGHTS), (lam_s, sp.Interval(0, 1)),
                   (i, TOKENS)), sp.Eq(mixed, lam_s * G(Pv, Tv, wv, i) + (1 - lam_s) * G(Pv, Tv, wv2, i)))


def separable_statement() -> sp.Basic:
    """The stronger form of Assumption L, reported next to it: ``q(i) = Σ_k w_k f_k(Q_k(i))``."""
    f = sp.Function("f")
    return Exists(((f, NamedSet("((0,1]→ℝ)^K", r"((0,1]\to\mathbb{R})^K")),), _inputs(ForAll(
        ((i, TOKENS),), sp.Eq(q(i), sp.Sum(w[k] * f(k, Q[k, i]), (k, 1, K))))))


def _def_iv1() -> sp.Basic:
    return _inputs(ForAll(((i, TOKENS),), sp.Ge(sp.Sum(w[k] * Q[k, i] ** 2, (k, 1, K)) - q(i) ** 2, 0)))


def _thm_iv2() -> sp.Basic:
    two_positive = Exists(((a, TEACHER_IDS), (b, TEACHER_IDS)), sp.And(
        sp.Ne(a, b), sp.Gt(w[a], 0), sp.Gt(w[b], 0), sp.Gt(s[a], 0), sp.Gt(s[b], 0)))
    lhs, rhs = sp.Sum(w[k] ** 2 * s[k], (k, 1, K)), sp.Sum(w[k] * s[k], (k, 1, K))
    return ForAll(((wv, WEIGHTS), (sv, NONNEG_K)), sp.And(sp.Le(lhs, rhs), sp.Implies(two_positive, sp.Lt(lhs, rhs))))


def _thm_iv7() -> sp.Basic:
    mix = sp.Sum(q(i) * sp.log(q(i) / s[i]), (i, 1, V))
    multi = sp.Sum(w[k] * sp.Sum(Q[k, i] * sp.log(Q[k, i] / s[i]), (i, 1, V)), (k, 1, K))
    return _inputs(ForAll(((sv, STUDENTS),), sp.Le(mix, multi)))


def _thm_iv9() -> sp.Basic:
    return _inputs(ForAll(((y, TOKENS),), sp.Le(-sp.log(q(y)), -sp.Sum(w[k] * sp.log(Q[k, y]), (k, 1, K)))))


def _prop_iv11() -> sp.Basic:
    top = IndexedMax(Q[k, i], k, TEACHER_IDS)
    return _inputs(ForAll(((i, TOKENS),), sp.And(sp.Le(q(i), top), sp.Implies(
        Exists(((kstar, TEACHER_IDS),), sp.And(sp.Gt(w[kstar], 0), sp.Lt(Q[kstar, i], top))), sp.Lt(q(i), top)))))


def _cor_iv12() -> sp.Basic:
    bound = (1 - w[kstar]) * IndexedMax(Q[k, i], k, OTHER_TEACHERS) + w[kstar] * Q[kstar, i]
    return _inputs(ForAll(((i, TOKENS), (kstar, TEACHER_IDS)), sp.Le(q(i), bound)))


def _thm_iii1() -> sp.Basic:
    return Exists(((Gop, OPERATORS),), sp.And(*(Satisfies(Gop, name) for name in AXIOMS)))


def _thm_iii2() -> sp.Basic:
    both = sp.And(*(Satisfies(g, name) for g in (G1, G2) for name in AXIOMS))
    differ = Exists(((sp.Tuple(Pv, Tv, wv), INPUTS), (i, TOKENS)), sp.Ne(G1f(Pv, Tv, wv, i), G2f(Pv, Tv, wv, i)))
    return Exists(((G1, OPERATORS), (G2, OPERATORS)), sp.And(both, differ))


def _prop_v2() -> sp.Basic:
    softmax = sp.exp(theta[n, i]) / sp.Sum(sp.exp(theta[n, j]), (j, 1, V))
    return ForAll(((N, POS_INTEGERS), (qn, TARGETS)), Exists(((thetav, LOGITS),), ForAll(
        ((n, NamedSet("{1,…,N}", r"\{1,\dots,N\}")), (i, TOKENS)), sp.Eq(softmax, qn[n, i]))))


_BUILDERS: dict[str, Callable[[], sp.Basic]] = {
    "axiom1": _axiom1,
    "axiom1-hull": _axiom1_hull,
    "axiom2": _axiom2,
    "axiom3": _axiom3,
    "axiom4": _axiom4,
    "axiom5": _axiom5,
    "assumption-L": _assumption_l,
    "assumption-L-separable": separable_statement,
    "def-IV.1": _def_iv1,
    "thm-IV.2": _thm_iv2,
    "thm-IV.7": _thm_iv7,
    "thm-IV.9": _thm_iv9,
    "prop-IV.11": _prop_iv11,
    "cor-IV.12": _cor_iv12,
    "thm-III.1": _thm_iii1,
    "thm-III.2": _thm_iii2,
    "prop-V.2": _prop_v2,
}

PROPERTY_IDS: tuple[str, ...] = tuple(_BUILDERS)


@lru_cache(maxsize=None)
def statement(prop_id: str) -> sp.Basic:
    """The sympy statement of ``prop_id`` (a sympy ``Boolean``); ``KeyError`` lists the valid ids.

    >>> statement("thm-IV.9").body.body.rel_op
    '<='
    """
    try:
        return _BUILDERS[prop_id]()
    except KeyError:
        raise KeyError(f"unknown property id {prop_id!r}; valid ids: {', '.join(PROPERTY_IDS)}") from None


@lru_cache(maxsize=None)
def render(prop_id: str, fmt: Literal["unicode", "latex"]) -> str:
    """``statement(prop_id)`` printed as one line of Unicode or as LaTeX."""
    expr = statement(prop_id)
    if fmt == "unicode":
        return to_unicode(expr)
    if fmt == "latex":
        return to_latex(expr, _LATEX_NAMES)
    raise ValueError(f"fmt must be 'unicode' or 'latex', got {fmt!r}")
