"""Shrinking keeps counterexamples certified and never makes them larger."""

from __future__ import annotations

from fractions import Fraction

import pytest

from mtkd.counterexamples import SearchConfig, check_exact, search_property
from mtkd.counterexamples.shrink import round_simplex, shrink, size
from mtkd.operators import load_operator
from mtkd.results import Counterexample
from mtkd.theorems import ExactPoint, get_property


@pytest.mark.parametrize("spec,pid", [("geometric", "prop-IV.11"), ("max", "axiom3"),
                                      ("power:alpha=2", "thm-IV.7"), ("geometric", "cor-IV.12")])
def test_shrunk_still_certifies_and_is_not_larger(spec: str, pid: str) -> None:
    op, prop = load_operator(spec), get_property(pid)
    found = search_property(op, prop, SearchConfig(seed=1, shrink_seconds=0)).counterexample
    assert found is not None and found.certified
    small = shrink(op, prop, found, seconds=3)
    assert size(small) <= size(found)
    out = check_exact(op, prop, ExactPoint.from_strings(small.P, small.T, small.w), small.witness)
    assert out.counterexample is not None and out.counterexample.certified
    x = ExactPoint.from_strings(small.P, small.T, small.w)
    assert all(sum(row) == 1 for row in x.P) and sum(x.w) == 1


def test_shrinking_drops_teachers_and_tokens() -> None:
    """A K=5, V=8 max-pool axiom3 failure (weight-blind) shrinks to two teachers and two tokens."""
    op, prop = load_operator("max"), get_property("axiom3")
    found = search_property(op, prop, SearchConfig(seed=0, sizes=((5, 8),), shrink_seconds=0)).counterexample
    assert found is not None and (found.K, found.V) == (5, 8)
    small = shrink(op, prop, found, seconds=5)
    assert small.certified and small.K <= 3 and small.V <= 4


def test_round_simplex_keeps_sum_and_signs() -> None:
    vals = (Fraction(1, 10**9), Fraction(0), Fraction(1) - Fraction(1, 10**9))
    r = round_simplex(vals, 2)
    assert r is not None and sum(r) == 1 and r[0] > 0 and r[1] == 0


def test_large_points_get_a_smaller_check_quota_not_a_race_with_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    import mtkd.counterexamples.shrink as shrinking

    decided: list[int] = []
    monkeypatch.setattr(shrinking, "_decide", lambda op, prop, x, w, need_certified: decided.append(x.V))
    row = ("0.05", "0.15", "0.3", "0.5")
    cx = Counterexample(P=(row, row), T=("1", "1"), w=("0.5", "0.5"), witness={"token": 0}, margin="-1",
                        precision="test", certified=True, certificate="test", explanation="test")
    op, prop = load_operator("linear"), get_property("prop-IV.11")
    assert shrink(op, prop, cx, seconds=10**6, max_checks=40) is cx
    assert len(decided) == 15  # small: every candidate is decided
    monkeypatch.setattr(shrinking, "SMALL_ENTRIES", 2)  # K * V = 8 = 4 SMALL_ENTRIES: a quarter of the checks
    decided.clear()
    assert shrink(op, prop, cx, seconds=10**6, max_checks=40) is cx
    assert len(decided) == 10
