"""``--budget`` is a hard wall for the whole run: provers, search and operator calls included.

No timing assertion: the runs here would take minutes (or forever) without the wall, and the
subprocess hang guard (far above the budgets used) is what fails the test if the wall does not hold.
"""

from __future__ import annotations

from .conftest import HOSTILE, mtkd, report


def test_a_call_longer_than_the_budget_is_cut_by_the_wall_not_blamed_on_the_operator() -> None:
    # --call-timeout 600 would let the C-level sleep(100) run; the 1 s wall stops it. Every call
    # hangs, so any wall gives the same verdicts on any machine: a short one only shortens the waits
    # (the load probe's, capped by the budget, then the run's).
    proc = mtkd("verify", f"{HOSTILE}:hangs_in_c", "-p", "axiom1", "-p", "axiom2", "--engine", "search",
                "--budget", "1", "--call-timeout", "600", "--format", "json", "--no-corpus", "--workers", "1")
    data = report(proc)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for r in data["results"]:
        assert r["verdict"] == "unknown" and r["method"] == "budget", r
        assert "--budget of 1 s ran out" in r["message"]


def test_unfinished_properties_become_unknown_with_the_reason_budget() -> None:
    proc = mtkd("verify", "geometric", "--budget", "1", "--format", "json", "--no-corpus")
    data = report(proc)
    verdicts = [r["verdict"] for r in data["results"]]
    assert "unknown" in verdicts
    for r in data["results"]:
        if r["method"] == "budget":
            assert r["verdict"] == "unknown" and "budget" in r["message"]
        # Nothing is claimed beyond what was decided before the wall.
        assert r["verdict"] != "proved" or "z3" in r["method"] or "sympy" in r["method"]


def test_search_stops_at_the_wall() -> None:
    proc = mtkd("search", f"{HOSTILE}:hangs_in_c", "axiom1", "--budget", "1", "--call-timeout", "600",
                "--format", "json", "--workers", "1")
    data = report(proc)
    (r,) = data["results"]
    assert r["verdict"] == "unknown" and r["method"] == "budget", r
