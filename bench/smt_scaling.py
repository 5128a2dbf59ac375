"""How far the SMT layer scales: grow K = V until some z3 query needs more than 10 s.

Run as ``.venv/bin/python bench/smt_scaling.py``; prints a markdown table (saved in
``bench/smt_scaling.md``). For every encodable (operator, property) pair of ``linear``, ``max``
and ``power:alpha=2`` it calls :func:`smt_check` with ``max_k = max_v = n`` for n = 2, 3, ...
(each call re-checks the smaller sizes, as the orchestrator would; z3's rlimit is lifted so
that only the 10 s wall clock stops a query) and stops at the first n
where a query gives up, where the property is refuted (a refutation stops the search at its
smallest size), at ``N_MAX``, or when the pair's budget is spent.
"""

from __future__ import annotations

import os
import platform
import time

from mtkd.theorems.smt import encodable, smt_check

OPERATORS = [("linear", {}), ("max", {}), ("power", {"alpha": 2.0})]
PROPERTIES = ["axiom1", "axiom1-hull", "axiom2", "axiom3", "assumption-L", "def-IV.1",
              "prop-IV.11", "cor-IV.12", "thm-IV.2", "axiom5"]
QUERY_LIMIT = 10.0  # seconds per z3 query (the default before the rlimit quota decided: bench/smt_rlimit.md)
RLIMIT = 10**12     # effectively unlimited: the question is wall-clock scaling
N_MAX = 7           # K = V = 7 already has 49 teacher variables; enough to see the trend
PAIR_BUDGET = 60.0  # seconds per (operator, property) pair, to keep the run under 10 minutes


def label(op: str, params: dict) -> str:
    return op + "".join(f":{k}={v:g}" for k, v in params.items())


def bench_pair(op: str, params: dict, prop: str) -> str:
    """One table row."""
    reached, last_times, outcome, total = 0, "", "", 0.0
    for n in range(2, N_MAX + 1):
        start = time.perf_counter()
        r = smt_check(op, params, prop, max_k=n, max_v=n, time_limit=QUERY_LIMIT, rlimit=RLIMIT)
        total += time.perf_counter() - start
        assert r is not None
        queries = r.extra.get("queries", [])
        if r.verdict.value == "refuted":
            q = queries[-1]
            outcome = (f"refuted at K={q['K']}" + (f", V={q['V']}" if q["V"] else "")
                       + (" (certified)" if r.certified else " (not certified)"))
            last_times = ", ".join(f"{x['seconds']:.3f}" for x in queries if x["K"] == q["K"]
                                   and x["V"] == q["V"])
            reached = 0  # a refutation ends the search at its smallest size: no K = V "reached"
            break
        if r.verdict.value != "proved" or "only at" in r.scope:
            bad = [x for x in queries if x["status"] == "unknown"]
            outcome = (f"first undecided at K=V={n}"
                       + (f" (K={bad[0]['K']}, V={bad[0]['V']}: {bad[0]['seconds']:.1f} s)" if bad else ""))
            break
        reached = n
        at_n = [x for x in queries if x["K"] == n and (x["V"] in (n, None))]
        last_times = ", ".join(f"{x['seconds']:.3f}" for x in at_n)
        outcome = "proved at every size tried"
        if total > PAIR_BUDGET:
            outcome += f" (pair budget {PAIR_BUDGET:.0f} s spent)"
            break
    size = f"{reached}" if reached else "-"
    return f"| {label(op, params)} | {prop} | {size} | {last_times} | {total:.1f} | {outcome} |"


def main() -> None:
    start = time.perf_counter()
    print("# SMT layer scaling (z3 nlsat, per-query limit 10 s)\n")
    print(f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}. Largest K = V such that every size with "
          f"K, V <= n was decided within 10 s per query (capped at {N_MAX}); per-query seconds "
          "are for the queries at K = V = n, or at the refuting size.\n")
    print("| operator | property | largest K = V | per-query seconds | total s | outcome |")
    print("|---|---|---|---|---|---|")
    for op, params in OPERATORS:
        for prop in PROPERTIES:
            if encodable(op, params, prop):
                print(bench_pair(op, params, prop), flush=True)
    print(f"\nTotal wall time: {time.perf_counter() - start:.0f} s.")


if __name__ == "__main__":
    main()
