"""Proofs about a user's own code: formulas traced from precise forms, derived from numpy/torch.

Acceptance of issue 8: linear pools written three ways in numpy (and in PyTorch) without a
precise form are proved by z3 / sympy at K, V <= 3; a logit average gets certified refutations
through its derived form and the geometric pool's proofs; a derived form that disagrees with the
float form is never used.
"""

from __future__ import annotations

import random
from fractions import Fraction as F
from pathlib import Path
from typing import Any

import mpmath
import pytest
import sympy as sp

from mtkd.counterexamples import check_exact
from mtkd.engines import Engine
from mtkd.operators import Operator, load_operator
from mtkd.operators.precision import HighPrecision
from mtkd.results import Verdict
from mtkd.theorems import ExactPoint, get_property
from mtkd.theorems.smt_runner import RLIMIT
from mtkd.operators.symbolic import evaluated
from mtkd.theorems import operator_exprs as ox
from mtkd.theorems.traced import analysis_of, same_sign, traced_smt_check
from mtkd.verify import VerifyOptions, verify

HERE = Path(__file__).parents[1]
OPS = HERE / "operators_traced.py"
TORCH_OPS = HERE / "operators_traced_torch.py"
SMT_PROPS = ("axiom1", "axiom1-hull", "axiom2", "axiom3", "assumption-L", "def-IV.1", "prop-IV.11", "cor-IV.12")
SMALL = {"max_k": 3, "max_v": 3}


def _load(name: str, path: Path = OPS) -> Operator:
    return load_operator(f"{path}:{name}")


def _verdicts(op: Operator, engine: Engine, props: tuple[str, ...]) -> dict[str, object]:
    report = verify(op, VerifyOptions(engine=engine, properties=props, **SMALL))
    return {r.property: r for r in report.results}


def assert_linear_proved(op: Operator) -> None:
    assert "precise (derived from the code)" in op.capabilities
    smt = _verdicts(op, Engine.SMT, SMT_PROPS)
    for prop, r in smt.items():
        assert r.verdict is Verdict.PROVED, (prop, r.message)
        assert "K in 1..3" in r.scope or "K in 2..3" in r.scope, r.scope
        assert "traced derived form" in r.scope and r.extra["form"] == "derived form"
        assert all(q["rlimit_used"] < RLIMIT for q in r.extra["queries"])  # none needed the whole quota
    sym = _verdicts(op, Engine.SYMBOLIC, ("thm-IV.7",))["thm-IV.7"]
    assert sym.verdict is Verdict.PROVED, sym.message
    assert sym.scope.startswith("K in 1..3, V in 2..3 (the traced sizes)")
    assert "identity at the traced sizes does not prove that" in sym.message


@pytest.mark.parametrize("name", ["linear_matmul", "linear_einsum", "linear_logspace"])
def test_numpy_linear_pools_without_precise_form_are_proved(name: str) -> None:
    assert_linear_proved(_load(name))


def test_torch_linear_pool_without_precise_form_is_proved() -> None:
    pytest.importorskip("torch", reason="the PyTorch spelling needs torch (CI installs torch==2.13.0+cpu)")
    assert_linear_proved(_load("linear_torch", TORCH_OPS))


def test_logit_average_is_refuted_through_its_derived_form_and_proved_where_geometric_is() -> None:
    op = _load("logit_average")
    analysis = analysis_of(op)
    assert analysis is not None and analysis.pattern(((2, 2), (3, 3))) == "geometric"
    report = verify(op, VerifyOptions(properties=("prop-IV.11", "thm-IV.7"), max_inputs=400, corpus=None, **SMALL))
    for r in report.results:
        assert r.verdict is Verdict.REFUTED and r.certified, (r.property, r.message)
        assert r.counterexample is not None and r.counterexample.certified
    assert not report.alarms
    # axiom3 at the flagship point (README): certified through the derived form's dual numbers.
    point = ExactPoint(((F(1, 5), F(3, 4), F(1, 20)), (F(1, 10), F(3, 20), F(3, 4))), (F(1), F(1)),
                       (F(9, 10), F(1, 10)))
    out = check_exact(op, get_property("axiom3"), point, {"k": 0, "k2": 1, "token": 0})
    assert out.counterexample is not None and out.counterexample.certified, out.reason
    assert out.counterexample.margin.startswith("-0.0851793683")
    sym = _verdicts(op, Engine.SYMBOLIC, ("thm-IV.9",))["thm-IV.9"]
    assert sym.verdict is Verdict.PROVED and sym.extra["pattern"] == "geometric", sym.message


def test_torch_logit_average_traces_to_the_geometric_pool() -> None:
    pytest.importorskip("torch", reason="the PyTorch spelling needs torch (CI installs torch==2.13.0+cpu)")
    analysis = analysis_of(_load("logit_average_torch", TORCH_OPS))
    assert analysis is not None and analysis.pattern(((1, 2), (2, 3))) == "geometric"


def test_a_derived_form_that_disagrees_with_the_float_form_is_never_used() -> None:
    op = _load("wrong_derived")
    assert op.precise_func is None and "precise" not in " ".join(op.capabilities)
    assert "disagrees with the float form" in op.derive_failure
    assert "is not used" in " ".join(op.limitations())
    r = _verdicts(op, Engine.SMT, ("axiom3",))["axiom3"]
    assert r.verdict is Verdict.UNKNOWN


def test_blocked_derivation_names_the_operation() -> None:
    op = _load("float_cast")
    assert op.precise_func is None
    assert "astype(float64)" in op.derive_failure


def test_handwritten_precise_form_is_traced_and_labelled(tmp_path: Path) -> None:
    path = tmp_path / "readme_pool.py"
    path.write_text(
        "import numpy as np\n"
        "def pool(P, T, w):\n"
        "    Q = P ** (1 / T[:, None]); Q /= Q.sum(axis=1, keepdims=True)\n"
        "    return w @ Q\n"
        "def _precise(P, T, w, ctx):\n"
        "    Q = []\n"
        "    for row, t in zip(P, T):\n"
        "        powered = [ctx.exp(ctx.log(p) / t) for p in row]\n"
        "        Q.append([x / sum(powered) for x in powered])\n"
        "    return [sum(wk * Qk[i] for wk, Qk in zip(w, Q)) for i in range(len(Q[0]))]\n"
        "pool.precise = _precise\n")
    op = load_operator(f"{path}:pool")
    r = _verdicts(op, Engine.SMT, ("axiom3",))["axiom3"]
    assert r.verdict is Verdict.PROVED and r.extra["form"] == "hand-written precise form"
    assert "traced hand-written precise form" in r.scope


def test_non_neutral_code_gets_no_symmetry_based_proof() -> None:
    # token0_boost doubles token 0: the token-0 reduction of the z3 queries would be unsound.
    op = _load("token0_boost")
    got = _verdicts(op, Engine.SMT, ("axiom3", "axiom1"))
    assert got["axiom3"].verdict is Verdict.UNKNOWN and "not neutral" in got["axiom3"].message
    assert got["axiom1"].verdict is Verdict.PROVED  # no reduction needed there


def test_max_pool_traces_to_max_and_matches_the_builtin_verdicts() -> None:
    # A rational formula with maxima: z3 gets max auxiliaries; verdicts as for the built-in max.
    got = _verdicts(_load("max_pool"), Engine.SMT, ("prop-IV.11", "assumption-L", "axiom3"))
    assert got["prop-IV.11"].verdict is Verdict.PROVED, got["prop-IV.11"].message
    assert got["assumption-L"].verdict is Verdict.PROVED  # q ignores w
    axiom3 = got["axiom3"]
    assert axiom3.verdict is Verdict.REFUTED and axiom3.certified and axiom3.counterexample.margin == "0"


def _tau_mp(P: list[list[F]], T: list[F]) -> list[list[mpmath.mpf]]:
    rows = [[mpmath.mpf(p.numerator) / p.denominator for p in row] for row in P]
    rows = [[x ** (t.denominator / mpmath.mpf(t.numerator)) for x in row] for row, t in zip(rows, T)]
    return [[x / mpmath.fsum(row) for x in row] for row in rows]


def _kd_linear(P: list[list[F]], T: list[F], w: list[F]) -> list[mpmath.mpf]:
    Q = _tau_mp(P, T)
    return [mpmath.fsum(wk * row[i] for wk, row in zip(w, Q)) for i in range(len(P[0]))]


def _kd_confidence(P: list[list[F]], T: list[F], w: list[F]) -> list[mpmath.mpf]:
    Q = _tau_mp(P, T)
    c = [wk * max(row) for wk, row in zip(w, Q)]
    return [mpmath.fsum(ck * row[i] for ck, row in zip(c, Q)) / mpmath.fsum(c) for i in range(len(P[0]))]


def _kd_logit_mean(P: list[list[F]], T: list[F], w: list[F]) -> list[mpmath.mpf]:
    z = [mpmath.fsum(wk * mpmath.log(mpmath.mpf(row[i].numerator) / row[i].denominator) / t
                     for wk, row, t in zip(w, P, T)) for i in range(len(P[0]))]
    return [mpmath.exp(zi) / mpmath.fsum(mpmath.exp(zj) for zj in z) for zi in z]


@pytest.mark.parametrize("name, reference", [("kd_linear_float32", _kd_linear),
                                             ("kd_confidence_weighted", _kd_confidence),
                                             ("kd_logit_mean_float16", _kd_logit_mean)])
def test_typical_torch_kd_code_gets_a_derived_form_that_is_its_formula(name: str, reference: Any) -> None:
    """Tensor methods (``x.sum(0)``, ``Q.max(dim=-1).values``), ``F.softmax``, ``.half()`` and a
    grad-tracking result are followed by the derived form, which is then the pool's formula at 50 digits."""
    pytest.importorskip("torch", reason="the PyTorch spelling needs torch (CI installs torch==2.13.0+cpu)")
    op = _load(name, TORCH_OPS)
    assert op.precise_func is not None, op.derive_failure
    P = [[F(1, 5), F(7, 10), F(1, 10)], [F(1, 2), F(1, 3), F(1, 6)], [F(2, 3), F(1, 4), F(1, 12)]]
    T, w = [F(1), F(2), F(1, 2)], [F(1, 2), F(1, 3), F(1, 6)]
    with mpmath.workdps(60):
        want = reference(P, T, w)
        got = op.evaluate_precise(P, T, w, HighPrecision(50))
        assert all(abs(mpmath.mpf(g) - x) < mpmath.mpf(10) ** -45 for g, x in zip(got, want)), (got, want)


def test_weight_derivative_is_encoded_by_a_polynomial_of_the_same_sign() -> None:
    # confidence: q = sum_k w_k m_k Q_k / sum_k w_k m_k (m_k = max_i Q_k(i)); its axiom3 derivative over
    # the common denominator is decided within 2M resource units at K=3, V=2, where the derivative with
    # one auxiliary inverse per division spends more than 12M (the default quota) without an answer.
    analysis = analysis_of(load_operator("confidence"))
    assert analysis is not None
    r = traced_smt_check(analysis, "axiom3", max_k=3, max_v=2, rlimit=2_000_000)
    assert r is not None and r.verdict is Verdict.PROVED and r.scope.startswith("K in 2..3, V in 2..2"), r.message
    # Same sign as the derivative at exact points, also where a divisor with an odd power is negative.
    rng = random.Random(0)
    K, V = 3, 2
    e = analysis.formula(K, V)[0]
    odd = ox.w[0] / (ox.Q[0, 0] - 2)
    for expr in (e, odd):
        d = sp.diff(expr, ox.w[0]) - sp.diff(expr, ox.w[1])
        poly = same_sign(d, expr, K)
        assert not any(isinstance(p, sp.Pow) and p.exp < 0 for p in sp.preorder_traversal(poly))
        for _ in range(20):
            Q = [[sp.Rational(rng.randint(1, 99), 100)] for _ in range(K)]
            point = {ox.Q[k, 0]: Q[k][0] for k in range(K)} | {ox.Q[k, 1]: 1 - Q[k][0] for k in range(K)}
            raw = [rng.randint(1, 9) for _ in range(K)]
            point |= {ox.w[k]: sp.Rational(raw[k], sum(raw)) for k in range(K)}
            assert sp.sign(evaluated(poly).xreplace(point)) == sp.sign(evaluated(d).xreplace(point))
