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
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import Phase
from hypothesis import strategies as st
from hypothesis_baseline import HARD_PAIRS, ROOT, summarise, time_to_violation

from mtkd.counterexamples import SearchConfig, search_property
from mtkd.operators import load_operator
from mtkd.theorems import Batch, get_property

EASY = [("geometric", "prop-IV.11"), ("geometric", "axiom3"), ("power:alpha=2", "thm-IV.9"),
        ("max", "axiom5"), ("entropic:beta=0.5", "cor-IV.12"), ("power:alpha=-1", "def-IV.1")]
DEFAULT_V = (2, 3, 4, 8)
DIGITS = 3  # wall-clock seconds in the JSON


def suite_time(spec: str, pid: str, s: int, budget: float, V: int | None) -> float | None:
    sizes = tuple((k, V) for k in (1, 2, 3, 4)) if V else SearchConfig().sizes
    r = search_property(load_operator(spec), get_property(pid),
                        SearchConfig(seed=s, seconds=budget, max_inputs=10**7, sizes=sizes, shrink_seconds=0))
    return r.extra.get("time_to_first_certified")


def hypothesis_time(spec: str, pid: str, s: int, budget: float, V: int | None, use_target: bool,
                    max_k: int) -> float | None:
    vs = st.just(V) if V else st.sampled_from(DEFAULT_V)

    @st.composite
    def inputs(draw: Any) -> Batch:
        K, v = draw(st.integers(1, max_k)), draw(vs)
        P = np.array(draw(st.lists(st.floats(1e-6, 1.0), min_size=K * v, max_size=K * v))).reshape(1, K, v)
        T = 10 ** np.array(draw(st.lists(st.floats(-3, 3), min_size=K, max_size=K)))[None]
        w = np.array(draw(st.lists(st.floats(1e-6, 1.0), min_size=K, max_size=K)))[None]
        return Batch(P / P.sum(-1, keepdims=True), T, w / w.sum(-1, keepdims=True), "hypothesis")

    return time_to_violation(spec, pid, s, budget, inputs(), clock=time.monotonic, phases=(Phase.generate,),
                             use_target=use_target)


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
        row["suite"] = summarise([suite_time(spec, pid, s, args.budget, V) for s in range(args.seeds)], args.budget,
                                 DIGITS)
        max_k = 5 if group == "hard" else 4
        for name, use_target in (("hypothesis", False), ("hypothesis_target", True)):
            row[name] = summarise([hypothesis_time(spec, pid, s, args.hyp_budget, V, use_target, max_k)
                                   for s in range(args.hyp_seeds)], args.hyp_budget, DIGITS)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    Path(args.out).write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
