"""The SMT layer proves what is true of the linear operator and declines what it cannot encode."""

from __future__ import annotations

import pytest

from mtkd.results import Verdict
from mtkd.theorems import PROPERTIES, Absent
from mtkd.theorems.smt import encodable, smt_check

LINEAR_TRUE = ["axiom1", "axiom1-hull", "axiom2", "axiom3", "assumption-L", "def-IV.1",
               "prop-IV.11", "cor-IV.12", "thm-IV.2", "axiom5"]


@pytest.mark.parametrize("prop", LINEAR_TRUE)
def test_linear_is_proved_with_named_sizes(prop: str) -> None:
    r = smt_check("linear", {}, prop, max_k=3, max_v=3, time_limit=10.0)
    assert r is not None
    assert r.verdict is Verdict.PROVED, r.message
    assert r.method == "smt (z3)" and not r.certified
    # The scope must say exactly which sizes: K up to 3, and V up to 3 where V matters.
    k_min = 2 if prop in ("axiom3", "assumption-L") else 1
    assert f"K in {k_min}..3" in r.scope
    if prop != "thm-IV.2":
        assert "V in 2..3" in r.scope
    queries = r.extra["queries"]
    assert queries and all(q["status"] == "unsat" for q in queries)
    assert all(q["seconds"] < 10.0 for q in queries)
    assert max(q["K"] for q in queries) == 3


@pytest.mark.parametrize("op, params, prop", [
    ("linear", {}, "thm-IV.7"),
    ("linear", {}, "thm-IV.9"),
    ("linear", {}, "axiom4"),
    ("geometric", {}, "axiom3"),          # d/dw of Q**w involves log Q
    ("power", {"alpha": -1.0}, "axiom1"),  # negative exponents are not encoded
    ("power", {"alpha": 3.141592653589793}, "axiom1"),  # irrational alpha is not algebraic
    ("no-such-operator", {}, "axiom1"),
    ("linear", {}, "no-such-property"),
])
def test_unencodable_pairs_return_none(op: str, params: dict, prop: str) -> None:
    assert not encodable(op, params, prop)
    assert smt_check(op, params, prop, max_k=2, max_v=2) is None


def test_outside_theory_names_the_log_theorems() -> None:
    outside = {p.id: p.smt.reason for p in PROPERTIES.values()
               if isinstance(p.smt, Absent) and "outside z3's theory" in p.smt.reason}
    assert set(outside) == {"thm-IV.7", "thm-IV.9"}
    assert all("logarithm" in why for why in outside.values())


def test_encodable_agrees_with_smt_check() -> None:
    assert encodable("linear", {}, "axiom3")
    assert encodable("geometric", {"weights": "1/3,2/3"}, "prop-IV.11")
    assert encodable("power", {"alpha": 0.5}, "def-IV.1")


def test_tiny_rlimit_gives_unknown_with_a_reason() -> None:
    # rlimit is deterministic: one unit of work cannot decide any power-mean query.
    r = smt_check("power", {"alpha": 2}, "def-IV.1", max_k=2, max_v=2, rlimit=1)
    assert r is not None
    assert r.verdict is Verdict.UNKNOWN, (r.verdict, r.message)
    assert "resource limit" in r.message, r.message
    assert r.extra["queries"] and all(q["status"] == "unknown" for q in r.extra["queries"])


def test_timed_out_size_is_excluded_from_the_scope() -> None:
    # K = 3, V = 2 needs far more than 0.5 s (it times out at 10 s); K <= 2 takes milliseconds.
    r = smt_check("power", {"alpha": 2}, "def-IV.1", max_k=3, max_v=2, time_limit=0.5)
    assert r is not None and r.verdict is Verdict.PROVED
    assert r.scope.startswith("only at (K=1 V=2), (K=2 V=2),") and "K=3" not in r.scope
    assert "not proved: K=3 V=2" in r.message and "wall-clock" in r.message, r.message


def test_wall_clock_limit_is_enforced() -> None:
    # An rlimit too large to matter: only the wall clock can stop these queries.
    r = smt_check("power", {"alpha": 2}, "axiom1-hull", max_k=3, max_v=3,
                  time_limit=0.5, rlimit=10**12)
    assert r is not None
    assert all(q["seconds"] < 2.0 for q in r.extra["queries"])
