"""No false proofs from traced formulas: z3's counterexamples hold for the user's code itself, and
searching the code never contradicts what was proved about its trace."""

from __future__ import annotations

from pathlib import Path

import pytest
from mtkd.counterexamples import check_exact
from mtkd.operators import load_operator
from mtkd.theorems import ExactPoint, get_property

from mtkd.engines import Engine
from mtkd.results import Verdict
from mtkd.verify import VerifyOptions, verify

OPS = Path(__file__).parents[1] / "operators_traced.py"


@pytest.mark.parametrize("prop", ["def-IV.1", "prop-IV.11", "assumption-L"])
def test_z3_counterexamples_on_a_trace_certify_on_the_code(prop: str) -> None:
    # A normalised mean of squares: rational, so z3 works on its trace; these three fail for it.
    op = load_operator(f"{OPS}:mean_of_squares")
    r = verify(op, VerifyOptions(engine=Engine.SMT, properties=(prop,), max_k=2, max_v=2)).results[0]
    assert r.verdict is Verdict.REFUTED and r.certified, r.message
    cx = r.counterexample
    assert cx is not None
    # Re-decided from scratch on the operator's own (derived) precise form at the exact point.
    out = check_exact(op, get_property(prop), ExactPoint.from_strings(cx.P, cx.T, cx.w), cx.witness)
    assert out.counterexample is not None and out.counterexample.certified, out.reason


@pytest.mark.parametrize("name, props, refuted", [
    ("mean_of_squares", ("axiom1", "axiom2", "axiom3"), set()),
    # Not neutral: a token-0-only z3 query would have "proved" axiom3; the search refutes it.
    ("token0_boost", ("axiom1", "axiom3"), {"axiom3"}),
    ("linear_logspace", ("axiom3", "cor-IV.12"), set()),
])
def test_search_never_contradicts_a_traced_proof(name: str, props: tuple[str, ...], refuted: set[str]) -> None:
    op = load_operator(f"{OPS}:{name}")
    report = verify(op, VerifyOptions(properties=props, max_k=2, max_v=2, max_inputs=600, corpus=None))
    assert not report.alarms, report.alarms
    for r in report.results:
        assert r.verdict is not Verdict.ERROR, r.message
        assert (r.verdict is Verdict.REFUTED) == (r.property in refuted), (r.property, r.verdict, r.message)
        if r.verdict is Verdict.REFUTED:
            assert r.certified, r.message
        else:
            assert r.verdict is Verdict.PROVED and "traced derived form" in r.scope, (r.property, r.message)


def test_a_proof_restricted_to_the_traced_sizes_is_not_contradicted_beyond_them() -> None:
    # Linear at K <= 3, geometric from K = 4: traced at K <= 3 it is the linear pool, and the
    # linear pool's sympy proof of assumption-L holds there only. The search's certified
    # counterexample (K >= 4) refutes the property without a soundness alarm.
    op = load_operator(f"{OPS}:linear_below_four")
    report = verify(op, VerifyOptions(properties=("assumption-L",), max_k=3, max_v=3, max_inputs=1500, corpus=None))
    r = report.results[0]
    assert not report.alarms, report.alarms
    assert r.verdict is Verdict.REFUTED and r.certified, r.message
    assert r.counterexample is not None and r.counterexample.K >= 4
    assert "proved only" in r.message and "traced sizes" in r.message
