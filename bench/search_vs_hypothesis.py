"""Guided suite search vs plain Hypothesis ``@given`` (and Hypothesis with ``target()``).

Reproduce (the reduced run reported in bench/README.md, about 6 minutes; writes
bench/search_vs_hypothesis.json; the full protocol is --hyp-seeds 10 --hyp-budget 10):

    .venv/bin/python bench/search_vs_hypothesis.py --seeds 10 --budget 10 --hyp-seeds 5 --hyp-budget 3

* easy pairs (refuted built-in pairs at V=4 and V=1000): the suite's time to a *certified*
  counterexample vs Hypothesis' time to an uncertified float64 one;
* hard pairs (``tests/operators_hard.py``, Axiom 1): success rate and median time, a miss
  counting as the full budget.

Hypothesis draws ``K`` in 1..4 (hard pairs: 1..5), rows of ``P`` from floats in ``[1e-6, 1]``
normalised, ``T`` log-uniform in ``[1e-3, 1e3]``, ``w`` normalised floats; the margin is the
property's own float64 margin, so both sides answer the same question.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, seed, settings, target
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from mtkd.counterexamples import SearchConfig, search_property
from mtkd.errors import OperatorFailure
from mtkd.operators import load_operator
from mtkd.theorems import Batch, get_property

ROOT = Path(__file__).resolve().parents[1]
HARD = str(ROOT / "tests" / "operators_hard.py")
EASY = [("geometric", "prop-IV.11"), ("geometric", "axiom3"), ("power:alpha=2", "thm-IV.9"),
        ("max", "axiom5"), ("entropic:beta=0.5", "cor-IV.12"), ("power:alpha=-1", "def-IV.1")]
HARD_PAIRS = [(f"{HARD}:{name}", "axiom1") for name in ("THIN", "THREE", "TEMPS", "FACE")]
DEFAULT_V = (2, 3, 4, 8)


class _Found(BaseException):
    """Ends a Hypothesis run at the first violation (BaseException: Hypothesis does not catch it)."""


class _OutOfTime(BaseException):
    pass


def suite_time(spec: str, pid: str, s: int, budget: float, V: int | None) -> float | None:
    sizes = tuple((k, V) for k in (1, 2, 3, 4)) if V else SearchConfig().sizes
    r = search_property(load_operator(spec), get_property(pid),
                        SearchConfig(seed=s, seconds=budget, max_inputs=10**7, sizes=sizes, shrink_seconds=0))
    return r.extra.get("time_to_first_certified")


def hypothesis_time(spec: str, pid: str, s: int, budget: float, V: int | None, use_target: bool,
                    max_k: int) -> float | None:
    op, prop = load_operator(spec), get_property(pid)
    rng = np.random.default_rng(s)
    vs = st.just(V) if V else st.sampled_from(DEFAULT_V)

    @st.composite
    def inputs(draw: Any) -> Batch:
        K, v = draw(st.integers(1, max_k)), draw(vs)
        P = np.array(draw(st.lists(st.floats(1e-6, 1.0), min_size=K * v, max_size=K * v))).reshape(1, K, v)
        T = 10 ** np.array(draw(st.lists(st.floats(-3, 3), min_size=K, max_size=K)))[None]
        w = np.array(draw(st.lists(st.floats(1e-6, 1.0), min_size=K, max_size=K)))[None]
        return Batch(P / P.sum(-1, keepdims=True), T, w / w.sum(-1, keepdims=True), "hypothesis")

    start = time.monotonic()

    @seed(s)
    @settings(max_examples=10**9, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(inputs())
    def check(x: Batch) -> None:
        if time.monotonic() - start > budget:
            raise _OutOfTime
        try:
            m = prop.margins(op, x, rng)
        except OperatorFailure:
            return
        v = float(m.values[0])
        if use_target and np.isfinite(v):
            target(-v)
        if v < 0 or (m.strict[0] and v <= 0):
            raise _Found

    try:
        check()
    except _Found:
        return time.monotonic() - start
    except (_OutOfTime, HypothesisException):
        return None  # out of time, or (V = 1000) Hypothesis cannot even build the input
    return None


def summarise(times: list[float | None], budget: float) -> dict[str, Any]:
    hits = [t for t in times if t is not None]
    charged = [t if t is not None else budget for t in times]
    return {"success": f"{len(hits)}/{len(times)}", "median_s": round(statistics.median(charged), 3),
            "times": [None if t is None else round(t, 3) for t in times]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=float, default=10.0)
    ap.add_argument("--hyp-seeds", type=int, default=10)
    ap.add_argument("--hyp-budget", type=float, default=10.0)
    ap.add_argument("--out", default=str(ROOT / "bench" / "search_vs_hypothesis.json"))
    args = ap.parse_args()
    rows = []
    plan = [(spec, pid, V, "easy") for spec, pid in EASY for V in (4, 1000)] + \
           [(spec, pid, None, "hard") for spec, pid in HARD_PAIRS]
    for spec, pid, V, group in plan:
        row: dict[str, Any] = {"operator": spec.split(":")[-1] if group == "hard" else spec, "property": pid,
                               "V": V or "2..64 (suite) / 2..8 (Hypothesis)", "group": group}
        row["suite"] = summarise([suite_time(spec, pid, s, args.budget, V) for s in range(args.seeds)], args.budget)
        max_k = 5 if group == "hard" else 4
        for name, use_target in (("hypothesis", False), ("hypothesis_target", True)):
            row[name] = summarise([hypothesis_time(spec, pid, s, args.hyp_budget, V, use_target, max_k)
                                   for s in range(args.hyp_seeds)], args.hyp_budget)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
