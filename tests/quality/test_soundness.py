"""Soundness regressions: ways the suite once could certify a false refutation or hide a failure."""

from __future__ import annotations

import textwrap
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest

from mtkd.counterexamples import SearchConfig, check_exact, search_property
from mtkd.operators import load_operator
from mtkd.operators.protocol import Operator
from mtkd.theorems.family import distinct_pair
from mtkd.results import Verdict
from mtkd.theorems import ExactPoint, get_property
from mtkd.verify import VerifyOptions, verify

TAU = f"""
import sys

import numpy as np

sys.path.insert(0, {str(Path(__file__).parents[1])!r})
from zoo_operators import _tau, _tau_precise  # temperature scaling as users write it, float and ctx
"""


def _operator(tmp_path: Path, body: str) -> Operator:
    path = tmp_path / "user_op.py"
    path.write_text(TAU + textwrap.dedent(body))
    return load_operator(f"{path}:pool")


def test_precise_form_skipping_zero_weights_is_not_a_false_axiom3_refutation(tmp_path: Path) -> None:
    # A linear pool whose precise form skips zero-weight teachers through ctx.is_zero: a weight at
    # 0 that the perturbation raises must not count as zero, or its derivative is lost.
    op = _operator(tmp_path, """
        def pool(P, T, w):
            return w @ _tau(P[None], T[None])[0]

        def _precise(P, T, w, ctx):
            Q = _tau_precise(P, T, ctx)
            return [sum((wk * Qk[i] for wk, Qk in zip(w, Q) if not ctx.is_zero(wk)), ctx.num(0))
                    for i in range(len(P[0]))]

        pool.precise = _precise
    """)
    x = ExactPoint(((F(1, 6), F(5, 6)), (F(1, 2), F(1, 2))), (F(1), F(1)), (F(0), F(1)))
    out = check_exact(op, get_property("axiom3"), x, {"k": 0, "k2": 1, "token": 1}, exact=True)
    assert out.counterexample is None, out.counterexample
    r = search_property(op, get_property("axiom3"), SearchConfig(seed=0, max_inputs=2000, shrink_seconds=0))
    assert r.verdict is Verdict.NOT_REFUTED, r.message


def test_precise_form_that_disagrees_with_the_operator_is_an_error(tmp_path: Path) -> None:
    # The float form applies the temperature the wrong way round; the precise form is right.
    op = _operator(tmp_path, """
        def pool(P, T, w):
            return w @ _tau(P[None], 1 / T[None])[0]

        def _precise(P, T, w, ctx):
            Q = _tau_precise(P, T, ctx)
            return [sum((wk * Qk[i] for wk, Qk in zip(w, Q)), ctx.num(0)) for i in range(len(P[0]))]

        pool.precise = _precise
    """)
    r = search_property(op, get_property("axiom5"), SearchConfig(seed=0, max_inputs=3000, shrink_seconds=0))
    assert r.verdict is Verdict.ERROR and "disagrees with the operator" in r.message


def test_search_error_under_a_proof_is_reported_not_hidden() -> None:
    linear = load_operator("linear")

    def broken(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        raise RuntimeError("boom")

    # The symbolic/SMT engines prove the linear formula; the object under test still raises.
    op = Operator("broken-linear", broken, algebraic=linear.algebraic)
    report = verify(op, VerifyOptions(properties=("axiom1",), max_inputs=200, corpus=None))
    (r,) = report.results
    assert r.verdict is Verdict.ERROR and "boom" in r.message and "had proved" in r.message
    assert report.exit_code == 1


def test_float_only_replay_recomputes_the_margin() -> None:
    # Without a precise form nothing is trusted from the file: the margin is recomputed.
    op = load_operator("linear")
    float_only = Operator("float-linear", op.func, batched_func=op.batched_func)
    x = ExactPoint(((F(1, 2), F(1, 2)), (F(1, 4), F(3, 4))), (F(1), F(1)), (F(1, 2), F(1, 2)))
    out = check_exact(float_only, get_property("axiom1"), x, {"token": 0}, None)
    assert out.counterexample is None and "within the operator's measured round-off" in out.reason


def test_near_linear_operator_still_fails_the_jensen_bound(tmp_path: Path) -> None:
    # q = (1 - 1e-6) linear + 1e-6 geometric: q != m, so some student violates thm-IV.7, but only a
    # very peaked one, which must stay representable (log-weights, not probabilities).
    op = _operator(tmp_path, """
        def _pools(lQ, w):
            m = np.einsum("nk,nkv->nv", w, np.exp(lQ))
            s = np.einsum("nk,nkv->nv", w, lQ)
            g = np.exp(s - s.max(-1, keepdims=True))
            return m, g / g.sum(-1, keepdims=True)

        def _batched(P, T, w):
            m, g = _pools(np.log(_tau(P, T)), w)
            return (1 - 1e-6) * m + 1e-6 * g

        def pool(P, T, w):
            return _batched(P[None], T[None], w[None])[0]

        def _precise(P, T, w, ctx):
            Q = _tau_precise(P, T, ctx)
            V = len(P[0])
            m = [sum((wk * Qk[i] for wk, Qk in zip(w, Q)), ctx.num(0)) for i in range(V)]
            g = [ctx.exp(sum((wk * ctx.log(Qk[i]) for wk, Qk in zip(w, Q)), ctx.num(0))) for i in range(V)]
            G = sum(g[1:], g[0])
            e = ctx.num("1/1000000")
            return [(1 - e) * a + e * b / G for a, b in zip(m, g)]

        pool.batched, pool.precise = _batched, _precise
    """)
    r = search_property(op, get_property("thm-IV.7"), SearchConfig(seed=0, max_inputs=3000, shrink_seconds=0))
    assert r.verdict is Verdict.REFUTED and r.certified, r.message


@pytest.mark.parametrize("specs,expected", [(["linear", "power:alpha=1"], None),
                                            (["linear", "power:alpha=1", "geometric"], ("linear", "geometric"))])
def test_distinct_operators_must_be_shown_to_differ(specs: list[str], expected: tuple[str, str] | None) -> None:
    found = distinct_pair(specs)
    if expected is None:
        assert found is None  # power:alpha=1 is linear under another name
    else:
        assert found is not None and all(f"`{name}`" in found for name in expected)
