"""The SMT layer proves what is true of the linear operator and declines what it cannot encode."""

from __future__ import annotations

import pytest
import z3

from mtkd.results import Verdict
from mtkd.theorems import PROPERTIES, Absent
from mtkd.theorems.smt import PROBE_SHARE, Size, _part, _stages, encodable, make_encoder, smt_check
from mtkd.theorems.smt_runner import QUOTA, RLIMIT, SAFETY_NET, run_query

LINEAR_TRUE = ["axiom1", "axiom1-hull", "axiom2", "axiom3", "assumption-L", "def-IV.1",
               "prop-IV.11", "cor-IV.12", "thm-IV.2", "axiom5"]


@pytest.mark.parametrize("prop", LINEAR_TRUE)
def test_linear_is_proved_with_named_sizes(prop: str) -> None:
    r = smt_check("linear", {}, prop, max_k=3, max_v=3)
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
    assert all(q["rlimit_used"] < RLIMIT for q in queries)
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


def test_a_spent_quota_gives_unknown_with_the_same_reason_on_every_run() -> None:
    # The quota decides: the same query spends the same z3 resource units on any machine and at any
    # load, so a quota too small for K = 1 (it needs ~1,800 units) gives the same unknown, word for
    # word, on every run. The safety net (a minute per query) cannot stop a query of 1,000 units.
    runs = [smt_check("power", {"alpha": 2}, "def-IV.1", max_k=2, max_v=2, rlimit=1_000, time_limit=60.0)
            for _ in range(2)]
    for r in runs:
        assert r is not None and r.verdict is Verdict.UNKNOWN, r
        assert "K=1 V=2: violation: quota: all 1,000 z3 resource units (rlimit) spent" in r.message, r.message
        assert SAFETY_NET not in r.message
        assert r.extra["queries"] and all(q["status"] == "unknown" for q in r.extra["queries"])
    assert runs[0].message == runs[1].message
    assert [q["rlimit_used"] for q in runs[0].extra["queries"]] == [q["rlimit_used"] for q in runs[1].extra["queries"]]


def test_a_size_beyond_the_quota_is_excluded_from_the_scope() -> None:
    # K <= 2 needs under 50,000 units per query; every query at K = 3, V = 2 more than 200,000.
    r = smt_check("power", {"alpha": 2}, "def-IV.1", max_k=3, max_v=2, rlimit=200_000)
    assert r is not None and r.verdict is Verdict.PROVED
    assert r.scope.startswith("only at (K=1 V=2), (K=2 V=2),") and "K=3" not in r.scope
    assert "not proved: K=3 V=2" in r.message and "quota: all 200,000 z3 resource units" in r.message, r.message


def test_a_give_up_stops_the_later_rounds_and_the_scope_says_so() -> None:
    # Sizes go in rounds of K*V. At 200,000 units per query K=3, V=2 gives up (round 6); (K=3, V=3) of
    # round 9 is then never queried, and scope and message say so. (K=2, V=3), of the same round, is proved.
    r = smt_check("power", {"alpha": 2}, "def-IV.1", max_k=3, max_v=3, rlimit=200_000)
    assert r is not None and r.verdict is Verdict.PROVED and r.proof is not None and not r.proof.complete
    assert r.proof.sizes == ((1, 2), (1, 3), (2, 2), (2, 3))
    note = "larger sizes (K*V > 6: 1 of 6) not attempted after a give-up at (K=3 V=2)"
    assert r.scope.startswith("only at (K=1 V=2), (K=1 V=3), (K=2 V=2), (K=2 V=3),") and r.scope.endswith(note)
    assert "not proved: K=3 V=2" in r.message and r.message.endswith(note), r.message
    assert {(q["K"], q["V"]) for q in r.extra["queries"]} == {(1, 2), (1, 3), (2, 2), (2, 3), (3, 2)}


def test_a_probe_at_fixed_weights_decides_whether_the_free_weight_query_runs() -> None:
    # power(alpha=3), K=2, V=2. assumption-L: the probe at w=(1/2,1/2) spends its 1/12 of the quota, so
    # the same query with w free (more unknowns; it spends 12M units, ~25 CPU-s) is not attempted.
    r = smt_check("power", {"alpha": 3}, "assumption-L", max_k=2, max_v=2)
    assert r is not None and r.verdict is Verdict.UNKNOWN
    assert [(q["stage"], q["status"], q["rlimit_used"]) for q in r.extra["queries"]] == [
        ("violation at w=(1/2,1/2)", "unknown", RLIMIT // PROBE_SHARE)]
    assert "violation: not attempted (it gave up at fixed weights)" in r.message, r.message
    # axiom1-hull: the witness lam = w fails at w=(1/2,1/2), a point of the simplex, so it fails with w
    # free (z3 needs ~3M units and 12-17 CPU-s to find that again): the separation stages come next.
    r = smt_check("power", {"alpha": 3}, "axiom1-hull", max_k=2, max_v=2)
    assert r is not None and r.verdict is Verdict.PROVED and r.scope.startswith("K in 1..2, V in 2..2"), r.message
    assert [q["stage"] for q in r.extra["queries"] if q["K"] == 2] == [
        "witness lam = w at w=(1/2,1/2)", "coordinate separation at w=(1/2,1/2)", "Farkas separation at w=(1/2,1/2)",
        "coordinate separation", "Farkas separation"]


def test_a_query_stopped_by_the_safety_net_says_so() -> None:
    # With a quota too large to matter, only the time cap can stop the exact power-mean query at
    # K = 3, V = 2 (it needs more than the default quota, seconds of CPU; never 0.05 s): its reason
    # names the safety net, never the quota.
    enc = make_encoder("power", {"alpha": 2})
    assert enc is not None
    exact = _stages(enc, _part("def-IV.1"), Size(3, 2))[-1]
    out = run_query(exact.assertions[0].ctx, exact.assertions, time_limit=0.05, rlimit=10**12)
    assert (out.status, out.stopped_by) == ("unknown", SAFETY_NET), out
    assert out.reason.startswith(SAFETY_NET) and "not a quota give-up" in out.reason and "quota:" not in out.reason


def test_query_outcomes_name_what_stopped_them() -> None:
    ctx = z3.Context()
    x, y = z3.Reals("x y", ctx)
    hard = [x * x * x + y * y * x - 3 * x * y + 7 == 0, x * y > 5, x < -1]
    quota = run_query(ctx, hard, rlimit=500)
    assert (quota.status, quota.stopped_by) == ("unknown", QUOTA) and quota.reason.startswith("quota:")
    assert 500 <= quota.work < 1000  # the units spent, counted from this query's start
    easy = run_query(ctx, [x * x == 2])
    assert (easy.status, easy.stopped_by, easy.reason) == ("sat", "", "") and 0 < easy.work < RLIMIT
