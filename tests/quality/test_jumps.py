"""Axiom 4: operators with a jump are refuted with a certified jump; correct built-ins never."""

from __future__ import annotations

import numpy as np
import pytest

from mtkd.counterexamples import SearchConfig, search_property
from mtkd.counterexamples.jumps import bisect_segments
from mtkd.operators import load_operator, wrap_callable
from mtkd.operators.precision import Interval
from mtkd.results import Verdict
from mtkd.theorems import Batch, ExactPoint, get_property
from tests.operators_jumps import ARGMAX, SWITCH, THRESHOLD

AXIOM4 = get_property("axiom4")


def test_thresholded_linear_pool_gets_axiom4_refuted_with_a_certified_jump() -> None:
    op = wrap_callable(THRESHOLD, "tests.operators_jumps:THRESHOLD")
    r = search_property(op, AXIOM4, SearchConfig(seed=0, seconds=120, max_inputs=1500, shrink_seconds=0))
    assert r.verdict is Verdict.REFUTED and r.certified, r.message
    cx = r.counterexample
    assert cx is not None and "1e-20, 1e-30, 1e-40" in cx.explanation


@pytest.mark.parametrize("op,w_from,w_to", [
    (ARGMAX, (0.3, 0.3, 0.4), (0.6, 0.3, 0.1)),   # the largest weight moves from teacher 2 to teacher 0
    (SWITCH, (0.3, 0.3, 0.4), (0.8, 0.1, 0.1)),   # the largest weight crosses 1/2: geometric -> linear
])
def test_constructed_jumps_are_found_by_bisection_and_certified(op, w_from, w_to, monkeypatch) -> None:
    from mtkd.counterexamples import jumps

    wrapped = wrap_callable(op, f"tests.operators_jumps:{op.name.upper()}")
    P = np.array([[[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.1, 0.1, 0.8]]])
    x = Batch(P, np.ones((1, 3)), np.array([w_from]))
    y = Batch(P, np.ones((1, 3)), np.array([w_to]))
    # A segment in w only, bisected in float64 by the search's own code (with this fixed end).
    monkeypatch.setattr(jumps, "segment_ends", lambda batch, rng: y)
    found = bisect_segments(wrapped, x, np.random.default_rng(0))
    assert found.jump[0]
    witness = {"segment": 1, **{k: v[0].tolist() for k, v in found.witness().items()}}
    pm = AXIOM4.precise_margin(wrapped, ExactPoint.from_floats(P[0], np.ones(3), np.array(w_from)), witness,
                               Interval(60))
    assert Interval(60).sign(pm.value) == -1, pm.detail


@pytest.mark.parametrize("spec", ["linear", "power:alpha=-1", "max", "reweighted"])
def test_continuous_builtins_never_get_a_jump(spec: str) -> None:
    op = load_operator(spec)
    rng = np.random.default_rng(7)
    from mtkd.counterexamples.generators import generate

    for K, V in ((2, 3), (3, 8)):
        found = bisect_segments(op, generate(rng, 64, K, V), rng)
        assert not found.jump.any(), spec
