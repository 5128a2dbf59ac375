"""One z3 query under two limits: a deterministic work quota that decides, and a time cap behind it.

The quota is z3's ``rlimit`` (resource units: z3 counts them as it works, identically on every
machine and at any load), so whether a query is decided depends on the query alone. Wall-clock
seconds are only a safety net set far above what the quota costs: on a loaded machine the
same work takes several times longer, and a time limit that fired first would let load decide
the report. Each query gets its own :class:`z3.Context` and a :class:`threading.Timer` that calls
``ctx.interrupt()`` when the cap is reached (z3's own ``timeout`` is polled, and some tactics
ignore it for long stretches); ``ctypes`` releases the GIL while ``check()`` runs, so the timer
fires on time. A query the safety net stopped says so (:data:`SAFETY_NET`), never "quota".

>>> import z3
>>> ctx = z3.Context()
>>> x = z3.Real("x", ctx)
>>> out = run_query(ctx, [x * x == 2, x < 0])
>>> out.status, 0 < out.work < RLIMIT
('sat', True)
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Sequence

import z3

from mtkd import budget

RLIMIT = 12_000_000
"""z3 resource units one query may spend: the quota that decides. The largest query that today's
committed report decides needs 9,123,435 units (``confidence`` / ``axiom1-hull`` at K=3, V=2,
Farkas stage; ``bench/smt_rlimit.md``), so 12M leaves a third more. z3 spends 0.23-21M units per
CPU-second depending on the query, so the whole quota costs 0.6-52 CPU-s on the 2-core machine."""

SAFETY_NET_SECONDS = 600.0
"""Wall-clock cap of one query: a safety net, ~11x the CPU time of the slowest quota measured
(52 CPU-s) and ~4.6x its wall time at load 6 under ``nice`` (130 s). A query stopped here means an
overloaded machine or a z3 that stopped counting; it is reported as such, never as the quota."""

QUOTA = "quota"
SAFETY_NET = "time cap (safety net)"


@dataclass(frozen=True)
class QueryOutcome:
    """What one solver call returned; ``model`` is only set when ``status == "sat"``.

    ``work``: z3 resource units the query spent (deterministic); ``cpu_seconds``: the CPU time of
    the thread that ran it; ``stopped_by``: for ``unknown``, :data:`QUOTA`, :data:`SAFETY_NET` or
    ``"z3"`` (the solver gave up by itself, e.g. an incomplete theory)."""

    status: str  # "sat" | "unsat" | "unknown"
    seconds: float
    reason: str = ""
    model: z3.ModelRef | None = None
    work: int = 0
    cpu_seconds: float = 0.0
    stopped_by: str = ""


def run_query(ctx: z3.Context, assertions: Sequence[z3.BoolRef], *, rlimit: int = RLIMIT,
              time_limit: float = SAFETY_NET_SECONDS) -> QueryOutcome:
    """Check ``assertions`` (all built in ``ctx``) within ``rlimit`` units, ``time_limit`` seconds at most."""
    # QF_NRA selects nlsat directly, which is complete for polynomial real arithmetic; the
    # default portfolio first tries incomplete tactics that waste the budget on these queries.
    # The run's --budget wall: z3 cannot be interrupted by its alarm, so it gets at most the time left.
    time_limit = max(0.05, budget.clamp(time_limit))
    solver = z3.SolverFor("QF_NRA", ctx=ctx)
    solver.set("rlimit", int(rlimit))  # relative: the context may already have counted units
    solver.set("timeout", max(1, int(time_limit * 1000)))
    solver.add(*assertions)
    counted = _rlimit_count(solver)
    fired = threading.Event()

    def interrupt() -> None:
        fired.set()
        ctx.interrupt()

    timer = threading.Timer(time_limit, interrupt)
    start, cpu = time.perf_counter(), time.thread_time()
    timer.start()
    try:
        answer = solver.check()
    finally:
        timer.cancel()
    seconds, cpu = time.perf_counter() - start, time.thread_time() - cpu
    work = _rlimit_count(solver) - counted
    if answer == z3.sat:
        return QueryOutcome("sat", seconds, model=solver.model(), work=work, cpu_seconds=cpu)
    if answer == z3.unsat:
        return QueryOutcome("unsat", seconds, work=work, cpu_seconds=cpu)
    if budget.expired():
        raise budget.BudgetExhausted()
    said = solver.reason_unknown()
    if "resource limit" in said:
        return QueryOutcome("unknown", seconds, work=work, cpu_seconds=cpu, stopped_by=QUOTA, reason=(
            f"{QUOTA}: all {rlimit:,} z3 resource units (rlimit) spent"))
    if fired.is_set() or said in ("canceled", "timeout"):
        return QueryOutcome("unknown", seconds, work=work, cpu_seconds=cpu, stopped_by=SAFETY_NET, reason=(
            f"{SAFETY_NET}: stopped at {time_limit:g} s wall clock with {work:,} of its {rlimit:,} rlimit units "
            f"spent; not a quota give-up: another machine or load may decide it (z3 said: {said})"))
    return QueryOutcome("unknown", seconds, work=work, cpu_seconds=cpu, stopped_by="z3",
                        reason=f"z3 gave up by itself: {said}")


def _rlimit_count(solver: z3.Solver) -> int:
    """The context's running count of resource units ("rlimit count" in z3's statistics)."""
    stats = solver.statistics()
    return int(stats.get_key_value("rlimit count")) if "rlimit count" in stats.keys() else 0
