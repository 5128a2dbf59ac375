"""One z3 query under hard limits: a deterministic resource limit and a wall-clock limit.

z3's own ``timeout`` parameter is advisory (it is polled, and some tactics ignore it for long
stretches), so every query gets its own :class:`z3.Context` and a :class:`threading.Timer`
that calls ``ctx.interrupt()`` when the wall-clock budget is spent. ``ctypes`` releases the GIL
while ``check()`` runs, so the timer thread fires on time. ``rlimit`` is deterministic across
machines and is what makes a limit reproducible; the wall clock is the safety net.

>>> import z3
>>> ctx = z3.Context()
>>> x = z3.Real("x", ctx)
>>> run_query(ctx, [x * x == 2, x < 0], time_limit=5.0, rlimit=10_000_000).status
'sat'
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Sequence

import z3

from mtkd import budget


@dataclass
class QueryOutcome:
    """What one solver call returned; ``model`` is only set when ``status == "sat"``."""

    status: str  # "sat" | "unsat" | "unknown"
    seconds: float
    reason: str = ""
    model: z3.ModelRef | None = None


def run_query(ctx: z3.Context, assertions: Sequence[z3.BoolRef], *, time_limit: float,
              rlimit: int) -> QueryOutcome:
    """Check ``assertions`` (all built in ``ctx``) with both limits enforced."""
    # QF_NRA selects nlsat directly, which is complete for polynomial real arithmetic; the
    # default portfolio first tries incomplete tactics that waste the budget on these queries.
    # The run's --budget wall: z3 cannot be interrupted by its alarm, so it gets at most what is left.
    time_limit = max(0.05, budget.clamp(time_limit))
    solver = z3.SolverFor("QF_NRA", ctx=ctx)
    solver.set("rlimit", int(rlimit))
    solver.set("timeout", max(1, int(time_limit * 1000)))
    solver.add(*assertions)
    timer = threading.Timer(time_limit, ctx.interrupt)
    start = time.perf_counter()
    timer.start()
    try:
        answer = solver.check()
    finally:
        timer.cancel()
    seconds = time.perf_counter() - start
    if answer == z3.sat:
        return QueryOutcome("sat", seconds, model=solver.model())
    if answer == z3.unsat:
        return QueryOutcome("unsat", seconds)
    if budget.expired():
        raise budget.BudgetExhausted()
    reason = solver.reason_unknown()
    if seconds >= time_limit * 0.98 or reason in ("canceled", "timeout", "interrupted from keyboard"):
        reason = f"wall-clock limit ({time_limit:g} s; z3 said: {reason})"
    return QueryOutcome("unknown", seconds, reason=reason)
