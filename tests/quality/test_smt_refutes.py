"""SMT refutations carry exact certificates, and their margins survive an independent re-check.

Every margin is recomputed here from the counterexample's strings with ``fractions.Fraction``
only, without the SMT layer's sympy code: geometric means are evaluated through exact integer
roots, which exist because the layer picks teachers whose row ratios are perfect powers.
"""

from __future__ import annotations

from fractions import Fraction
from math import prod

import pytest

from mtkd.results import Counterexample, Verdict
from mtkd.theorems.smt import smt_check


def frac_rows(cx: Counterexample) -> list[list[Fraction]]:
    return [[Fraction(x) for x in row] for row in cx.P]


def exact_root(x: Fraction, n: int) -> Fraction:
    """The exact rational n-th root of ``x``; fails the test if there is none."""
    def iroot(m: int) -> int:
        r = round(m ** (1.0 / n))
        for c in (r - 1, r, r + 1):
            if c >= 0 and c**n == m:
                return c
        raise AssertionError(f"{m} is not a perfect {n}-th power")
    return Fraction(iroot(x.numerator), iroot(x.denominator))


def frac_pow(x: Fraction, e: Fraction) -> Fraction:
    return exact_root(x ** e.numerator, e.denominator)


def geometric_q(Q: list[list[Fraction]], w: list[Fraction]) -> list[Fraction]:
    # q is invariant under scaling a teacher's row, so use ratios to the first entry.
    M = [prod(frac_pow(row[i] / row[0], wk) for row, wk in zip(Q, w)) for i in range(len(Q[0]))]
    return [m / sum(M) for m in M]


def max_q(Q: list[list[Fraction]]) -> list[Fraction]:
    M = [max(col) for col in zip(*Q)]
    return [m / sum(M) for m in M]


def check_common(r, prop: str) -> Counterexample:
    assert r is not None and r.verdict is Verdict.REFUTED, r and r.message
    cx = r.counterexample
    assert r.certified and cx is not None and cx.certified, cx
    assert cx.precision == "exact (rational)"
    assert "re-evaluated exactly" in cx.certificate
    Q, w = frac_rows(cx), [Fraction(x) for x in cx.w]
    assert all(x > 0 for row in Q for x in row) and all(sum(row) == 1 for row in Q)
    assert all(x >= 0 for x in w) and sum(w) == 1 and cx.T == ("1",) * len(Q)
    return cx


def test_max_axiom3_strictness_is_refuted_with_zero_derivative() -> None:
    cx = check_common(smt_check("max", {}, "axiom3", max_k=2, max_v=2), "axiom3")
    Q, w = frac_rows(cx), [Fraction(x) for x in cx.w]
    i, k, k2 = cx.witness["token"], cx.witness["k"], cx.witness["k2"]
    assert Q[k][i] > Q[k2][i] and w[k2] > 0          # the premise of axiom 3 holds
    assert Fraction(cx.margin) == 0
    # max ignores the weights: q after moving weight equals q before, exactly.
    assert max_q(Q)[i] - max_q(Q)[i] == 0


def test_max_cor_IV_12_is_refuted() -> None:
    cx = check_common(smt_check("max", {}, "cor-IV.12", max_k=2, max_v=2), "cor-IV.12")
    Q, w = frac_rows(cx), [Fraction(x) for x in cx.w]
    i, ks = cx.witness["token"], cx.witness["k"]
    bound = (1 - w[ks]) * max(Q[k][i] for k in range(len(Q)) if k != ks) + w[ks] * Q[ks][i]
    margin = bound - max_q(Q)[i]
    assert margin < 0 and margin == Fraction(cx.margin)


@pytest.mark.parametrize("weights", ["1/2,1/2", "1/3,2/3"])
def test_geometric_prop_IV_11_is_refuted_at_fixed_weights(weights: str) -> None:
    r = smt_check("geometric", {"weights": weights}, "prop-IV.11", max_k=2, max_v=3)
    cx = check_common(r, "prop-IV.11")
    Q, w = frac_rows(cx), [Fraction(x) for x in cx.w]
    assert w == [Fraction(x) for x in weights.split(",")]
    i = cx.witness["token"]
    margin = max(row[i] for row in Q) - geometric_q(Q, w)[i]
    assert margin < 0 and margin == Fraction(cx.margin)


def test_geometric_def_IV_1_is_refuted() -> None:
    cx = check_common(smt_check("geometric", {"weights": "1/3,2/3"}, "def-IV.1",
                                max_k=2, max_v=3), "def-IV.1")
    Q, w = frac_rows(cx), [Fraction(x) for x in cx.w]
    i = cx.witness["token"]
    margin = sum(wk * row[i] ** 2 for wk, row in zip(w, Q)) - geometric_q(Q, w)[i] ** 2
    assert margin < 0 and margin == Fraction(cx.margin)


def test_geometric_hull_is_refuted_by_a_separating_direction() -> None:
    cx = check_common(smt_check("geometric", {"weights": "1/2,1/2"}, "axiom1-hull",
                                max_k=2, max_v=3), "axiom1-hull")
    Q, w = frac_rows(cx), [Fraction(x) for x in cx.w]
    y = [Fraction(x) for x in cx.witness["y"]]
    q = geometric_q(Q, w)
    # Farkas: y.q < min_k y.Q_k means no lam on the simplex gives q = sum lam_k Q_k.
    margin = sum(a * b for a, b in zip(y, q)) - min(sum(a * b for a, b in zip(y, row)) for row in Q)
    assert margin < 0 and margin == Fraction(cx.margin)


def test_power2_axiom3_is_refuted_at_a_vertex() -> None:
    r = smt_check("power", {"alpha": 2}, "axiom3", max_k=2, max_v=3)
    cx = check_common(r, "axiom3")
    Q, w = frac_rows(cx), [Fraction(x) for x in cx.w]
    i, k, k2 = cx.witness["token"], cx.witness["k"], cx.witness["k2"]
    assert Q[k][i] > Q[k2][i] and w[k2] > 0
    # d q(i)/d delta = q(i)/(2 Z) (Z D(i)/S(i) - sum_j M(j) D(j)/S(j)) with S = sum_k w_k Q_k^2,
    # M = sqrt(S), D = Q_k^2 - Q_k2^2; at a vertex w = e_k2 every quantity is rational.
    assert w[k2] == 1
    M = [Q[k2][j] for j in range(len(Q[0]))]
    S = [m * m for m in M]
    D = [Q[k][j] ** 2 - Q[k2][j] ** 2 for j in range(len(M))]
    Z = sum(M)
    derivative = M[i] / Z / (2 * Z) * (Z * D[i] / S[i] - sum(m * d / s for m, d, s in zip(M, D, S)))
    assert derivative < 0 and derivative == Fraction(cx.margin)
