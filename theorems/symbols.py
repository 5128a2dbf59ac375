"""The sympy vocabulary the property statements and derivations are written in.

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
"""

from __future__ import annotations

import sympy as sp

# The statements share the operators' vocabulary (re-exported: ``import X as X``).
from mtkd.operators.formula import K as K
from mtkd.operators.formula import Q as Q
from mtkd.operators.formula import j as j
from mtkd.operators.formula import k as k
from mtkd.operators.formula import k2 as k2
from mtkd.operators.formula import l as l
from mtkd.operators.formula import w as w
from mtkd.theorems.notation import ForAll, NamedSet

V, N = sp.symbols("V N", integer=True, positive=True)
i, n, y = sp.symbols("i n y", integer=True, positive=True)
# U+2217, not "*": the one-line printer maps "*" to "·".
kstar = sp.Symbol("k∗", integer=True, positive=True)
a, b = sp.symbols("a b", integer=True, positive=True)
delta, delta0, eps, eta, lam_s = sp.symbols("delta delta_0 epsilon eta lambda", positive=True)

# Vector-level names (what the quantifiers bind and G receives) and their entries.
Pv, Tv, wv, wv2, sv, thetav, lamv, uv, hv = sp.symbols("P T w w' s theta lambda u h_k")
Pv2, Tv2 = sp.symbols("P' T'")
P = sp.IndexedBase("P", positive=True)
T = sp.IndexedBase("T", positive=True)
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

LATEX_NAMES = {kstar: "k^{*}", hv: "h_k", eps: r"\varepsilon"}
"""How the LaTeX printer names the symbols whose sympy names are not LaTeX."""


def inputs(body: sp.Basic, teachers: NamedSet = TEACHERS) -> ForAll:
    return ForAll(((Pv, teachers), (Tv, TEMPERATURES), (wv, WEIGHTS)), body)


def scaled(kk: sp.Basic, ii: sp.Basic) -> sp.Expr:
    """``tau_{T_k}(p_k)(i)`` written out, for the one statement about the raw teachers."""
    return P[kk, ii] ** (1 / T[kk]) / sp.Sum(P[kk, j] ** (1 / T[kk]), (j, 1, V))
