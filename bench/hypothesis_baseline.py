"""The Hypothesis side of the benchmarks that race the suite's search (certify_speed.py, search_vs_hypothesis.py).

A competent user's ``@given`` test of a property: the property's own float64 margin on drawn inputs,
stopped at the first violation (uncertified) or when the budget runs out. The callers choose the
input strategy, the clock, the phases and whether the margin is a ``target``.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from hypothesis import HealthCheck, Phase, given, seed, settings, target
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from mtkd.errors import OperatorFailure
from mtkd.operators import load_operator
from mtkd.theorems import Batch, get_property

ROOT = Path(__file__).resolve().parents[1]
HARD = str(ROOT / "tests" / "operators_hard.py")
HARD_PAIRS = [(f"{HARD}:{name}", "axiom1") for name in ("THIN", "THREE", "TEMPS", "FACE")]
"""Axiom 1 on the thin-region operators of tests/operators_hard.py."""


class _Found(BaseException):
    """Ends a Hypothesis run at the first violation (BaseException: Hypothesis does not catch it)."""


class _OutOfTime(BaseException):
    pass


def time_to_violation(spec: str, pid: str, s: int, budget: float, inputs: st.SearchStrategy[Batch], *,
                      clock: Callable[[], float], phases: Sequence[Phase], use_target: bool,
                      tolerance: float = 0.0) -> float | None:
    """``clock`` seconds until Hypothesis (seed ``s``) finds a margin below ``-tolerance``; ``None``: no find.

    A strict witness with margin ``<= 0`` is a find too. ``None`` also when Hypothesis gives up
    (at V = 1000 it may not even build an input).
    """
    op, prop = load_operator(spec), get_property(pid)
    rng = np.random.default_rng(s)
    start = clock()

    @seed(s)
    @settings(max_examples=10**9, deadline=None, database=None, phases=list(phases),
              suppress_health_check=list(HealthCheck))
    @given(inputs)
    def check(x: Batch) -> None:
        if clock() - start > budget:
            raise _OutOfTime
        try:
            m = prop.margins(op, x, rng)
        except OperatorFailure:
            return
        v = float(m.values[0])
        if use_target and np.isfinite(v):
            target(-v)
        if v < -tolerance or (m.strict[0] and v <= 0):
            raise _Found

    try:
        check()
    except _Found:
        return clock() - start
    except (_OutOfTime, HypothesisException):
        return None
    return None


def summarise(times: list[float | None], budget: float, digits: int) -> dict[str, Any]:
    """Successes, and the median seconds with a miss charged as the whole budget."""
    hits = [t for t in times if t is not None]
    charged = [t if t is not None else budget for t in times]
    return {"success": f"{len(hits)}/{len(times)}", "median_s": round(statistics.median(charged), digits),
            "times": [None if t is None else round(t, digits) for t in times]}
