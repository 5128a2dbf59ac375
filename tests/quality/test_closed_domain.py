"""Known verdicts on the closed domain, derived by hand first.

* ``linear``: ``q = sum_k w_k Q_k``. Every statement holds with zeros too: ``dq(i)/d delta =
  Q_k(i) - Q_k'(i) > 0`` (axiom3), ``tau_T(p) -> uniform on supp(p)`` as ``T -> inf`` (axiom5 (b),
  closed reading), ``-log`` is convex with ``-log 0 = +inf`` (thm-IV.9), Jensen (def-IV.1, IV.7),
  a mixture is below the max (IV.11, IV.12). So the closed-domain search must refute nothing.
* Zero forcing (``geometric``, ``power:alpha=-1``): if ``Q_k'(i) = 0 < Q_k(i)`` and ``w_k' > 0``,
  then ``q(i) = 0`` for every small move of weight from ``k'`` to ``k``: the derivative is exactly
  0 and axiom3's strictness fails, a certificate the dual numbers give exactly. ``linear`` at
  the same point has derivative ``Q_k(i) - Q_k'(i) = 1/2``.
"""

from __future__ import annotations

import numpy as np
import pytest

from mtkd.counterexamples import SearchConfig, search_property
from mtkd.counterexamples.certify import check_exact
from mtkd.counterexamples.generators import CLOSED_P_GENERATORS, temps_moderate, weights_dirichlet
from mtkd.engines import Engine
from mtkd.operators import load_operator
from mtkd.results import Verdict
from mtkd.theorems import PROPERTIES, Batch, Domain, ExactPoint, get_property
from mtkd.verify import VerifyOptions, verify

POINT = ExactPoint.from_strings([["0.5", "0.5"], ["1", "0"]], ["1", "1"], ["0.5", "0.5"])
WITNESS = {"k": 0, "k2": 1, "token": 1}


def test_linear_is_refuted_nowhere_on_the_closed_domain() -> None:
    # Except where the literature says it fails: the linear pool is not externally Bayesian.
    props = tuple(pid for pid in PROPERTIES if pid != "pool-external-bayesianity")
    report = verify(load_operator("linear"), VerifyOptions(seed=0, max_inputs=2000, budget=120, engine=Engine.SEARCH,
                                                           corpus=None, domain=Domain.CLOSED, properties=props))
    bad = {r.property: r.message[:200] for r in report.results if r.verdict in (Verdict.REFUTED, Verdict.ERROR)}
    assert not bad
    assert {r.verdict for r in report.results} == {Verdict.NOT_REFUTED, Verdict.UNKNOWN}  # unknown: axiom2


@pytest.mark.parametrize("spec", ["geometric", "power:alpha=-1", "entropic:beta=0.5"])
def test_zero_forcing_makes_the_axiom3_derivative_exactly_zero(spec: str) -> None:
    out = check_exact(load_operator(spec), get_property("axiom3"), POINT, WITNESS)
    cx = out.counterexample
    assert cx is not None and cx.certified and "exactly 0" in cx.certificate
    assert "does not change at all" in cx.explanation


@pytest.mark.parametrize("spec", ["linear", "power:alpha=2"])
def test_without_zero_forcing_the_derivative_is_positive(spec: str) -> None:
    # power:alpha=2 at this point: q(1) ∝ sqrt(w_0/4) grows with w_0; linear: derivative 1/2.
    out = check_exact(load_operator(spec), get_property("axiom3"), POINT, WITNESS)
    assert out.counterexample is None and "certified >= 0" in out.reason


def _one_sparse_teacher(rng: np.random.Generator) -> Batch:
    """Teacher 0 dense, teacher 1 with random zeros: the supports overlap, so every pool is defined."""
    N, K, V = 32, 2, 4
    P = rng.dirichlet(np.ones(V), size=(N, K))
    P[:, 1] = CLOSED_P_GENERATORS[0](rng, N, 1, V)[:, 0]
    return Batch(P, temps_moderate(rng, N, K), weights_dirichlet(rng, N, K), "one sparse teacher")


@pytest.mark.parametrize("spec", ["geometric", "power:alpha=-1"])
def test_search_finds_the_zero_forced_axiom3_violation(spec: str) -> None:
    config = SearchConfig(seed=0, seconds=60, max_inputs=2000, guided=False, shrink_seconds=0)
    r = search_property(load_operator(spec), get_property("axiom3"), config, batches=_one_sparse_teacher)
    assert r.verdict is Verdict.REFUTED and r.certified
    cx = r.counterexample
    assert any(v == "0" for row in cx.P for v in row), "the violation found lives at a zero"


def test_search_on_the_same_inputs_leaves_linear_alone() -> None:
    config = SearchConfig(seed=0, seconds=60, max_inputs=2000, guided=False, shrink_seconds=0)
    r = search_property(load_operator("linear"), get_property("axiom3"), config, batches=_one_sparse_teacher)
    assert r.verdict is Verdict.NOT_REFUTED
