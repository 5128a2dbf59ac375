"""Certification at C speed (issue 14): the suite's first *certified* counterexample vs Hypothesis.

Reproduce (the reduced run recorded in bench/certify_speed.md; see there for the full protocol):

    .venv/bin/python bench/certify_speed.py --seeds 10 --budget 10 --vs 3 50 1000 10000 --out bench/certify_speed.json

Everything runs in one process and is timed with the CPU clock (``time.process_time``), so a
busy machine slows both sides alike:

* **find**: for each pair (operator, property) and V, the suite (``search_property``, default
  random + guided streams, ``K`` in {2, 3}, no polishing or shrinking: the clock stops at the first
  interval-certified counterexample) against a Hypothesis baseline written as a competent user
  would: ``hypothesis.extra.numpy.arrays`` for ``P``, ``T``, ``w``, the property's float64 margin
  as the test, a tolerance (the property's round-off bound), ``target(-margin)`` with
  ``Phase.target`` enabled; its find is *uncertified*. Successes out of ``--seeds`` seeds and the
  median CPU seconds to the first find (a miss counts as the budget).
* **throughput**: inputs per CPU-second of a search on a property that holds (``linear``), against
  a hand-written numpy loop computing the same margins on the same sizes.
* **certification cost**: CPU seconds per certified candidate (``certify_candidate``) at V = 1000
  and 10,000, on the worst float64 candidates of a random batch.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import types
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import Phase
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from hypothesis_baseline import HARD_PAIRS, ROOT, summarise, time_to_violation

import mtkd.counterexamples.search as search_module
from mtkd.counterexamples import SearchConfig, search_property
from mtkd.counterexamples.certify import certify_candidate
from mtkd.counterexamples.generators import DEFAULT_SIZES, generate
from mtkd.operators import load_operator
from mtkd.operators.temperature import tau
from mtkd.theorems import Batch, get_property

PAIRS = [("geometric", "axiom3"), ("geometric", "prop-IV.11"), ("geometric", "thm-IV.7"),
         ("power:alpha=2", "axiom3"), ("power:alpha=0.5", "prop-IV.11"), ("entropic:beta=0.5", "axiom5")]
KS = (2, 3)
USER_TOLERANCE = 1e-9
"""The Hypothesis user's round-off allowance on a float64 margin (a violation must be below -1e-9;
the properties' own ``float_bound``, once 1e-9 by default, is gone since issue 7)."""
DIGITS = 4  # CPU seconds in the JSON

# The search's clocks (time-to-first, budget) read CPU time here, like the Hypothesis side.
search_module.time = types.SimpleNamespace(monotonic=time.process_time)  # type: ignore[assignment]


def suite_time(spec: str, pid: str, s: int, budget: float, V: int | None, ks: tuple[int, ...]) -> float | None:
    sizes = tuple((k, V) for k in ks) if V else DEFAULT_SIZES
    start = time.process_time()
    r = search_property(load_operator(spec), get_property(pid),
                        SearchConfig(seed=s, seconds=budget, max_inputs=10**8, sizes=sizes, shrink_seconds=0,
                                     polish=False))
    if not r.certified:
        return None
    first = r.extra.get("time_to_first_certified")
    return None if first is None else min(first, time.process_time() - start)


def hypothesis_time(spec: str, pid: str, s: int, budget: float, V: int | None, ks: tuple[int, ...]) -> float | None:
    """A competent user's Hypothesis test of the property in float64 (uncertified finds)."""
    vs = st.just(V) if V else st.sampled_from(sorted({v for _, v in DEFAULT_SIZES}))

    @st.composite
    def inputs(draw: Any) -> Batch:
        K, v = draw(st.sampled_from(ks)), draw(vs)
        P = draw(arrays(np.float64, (K, v), elements=st.floats(1e-6, 1.0)))
        T = 10.0 ** draw(arrays(np.float64, (K,), elements=st.floats(-3.0, 3.0)))
        w = draw(arrays(np.float64, (K,), elements=st.floats(1e-6, 1.0)))
        return Batch((P / P.sum(-1, keepdims=True))[None], T[None], (w / w.sum())[None], "hypothesis")

    return time_to_violation(spec, pid, s, budget, inputs(), clock=time.process_time,
                             phases=(Phase.generate, Phase.target), use_target=True,
                             tolerance=USER_TOLERANCE)


def numpy_floor(seconds: float, sizes: tuple[tuple[int, int], ...]) -> float:
    """Inputs per CPU-second of a hand-written numpy loop: linear's axiom3 margins, batches of 64."""
    rng = np.random.default_rng(0)
    n, start, step = 0, time.process_time(), 0
    while time.process_time() - start < seconds:
        K, V = sizes[step % len(sizes)]
        step += 1
        P = rng.dirichlet(np.ones(V), size=(64, K))
        T = np.exp(rng.uniform(np.log(1e-3), np.log(1e3), (64, K)))
        w = rng.dirichlet(np.ones(K), size=64)
        Q = tau(P, T)
        best = np.full(64, np.inf)
        for k in range(K):
            for k2 in range(K):
                if k != k2:
                    D = Q[:, k] - Q[:, k2]  # d q / d delta for the linear pool
                    ok = (w[:, k2] > 0)[:, None] & (Q[:, k] > Q[:, k2])
                    best = np.minimum(best, np.where(ok, D, np.inf).min(axis=-1))
        n += 64
    return n / (time.process_time() - start)


def suite_throughput(inputs: int, sizes: tuple[tuple[int, int], ...]) -> tuple[float, str]:
    start = time.process_time()
    r = search_property(load_operator("linear"), get_property("axiom3"),
                        SearchConfig(seed=0, seconds=600, max_inputs=inputs, sizes=sizes, shrink_seconds=0))
    return r.extra["inputs"] / (time.process_time() - start), r.verdict.value


def certification_cost(spec: str, pid: str, V: int, candidates: int = 3) -> dict[str, Any]:
    op, prop = load_operator(spec), get_property(pid)
    rng = np.random.default_rng(1)
    x = generate(rng, 64, 3, V)
    m = prop.margins(op, x, rng)
    costs, outcomes = [], []
    for n in np.argsort(m.values, kind="stable")[:candidates]:
        start = time.process_time()
        o = certify_candidate(op, prop, x.P[n], x.T[n], x.w[n], m.witness_at(int(n)), float(m.values[n]))
        costs.append(time.process_time() - start)
        outcomes.append(o.reason.split(":")[0][:40])
    return {"operator": spec, "property": pid, "V": V, "cpu_s": [round(c, 4) for c in costs],
            "median_cpu_s": round(statistics.median(costs), 4), "outcomes": outcomes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=float, default=10.0, help="CPU seconds per run, each side")
    ap.add_argument("--vs", type=int, nargs="+", default=[3, 50, 1000, 10_000])
    ap.add_argument("--parts", nargs="+", default=["find", "hard", "throughput", "cost"])
    ap.add_argument("--out", default=str(ROOT / "bench" / "certify_speed.json"))
    args = ap.parse_args()
    out: dict[str, Any] = {"args": vars(args), "find": [], "throughput": {}, "cost": []}
    plan = []
    if "find" in args.parts:
        plan += [(spec, pid, V, "easy") for V in args.vs for spec, pid in PAIRS]
    if "hard" in args.parts:
        plan += [(spec, pid, None, "hard") for spec, pid in HARD_PAIRS]
    for spec, pid, V, group in plan:
        ks = KS if group == "easy" else (2, 3, 4, 5)
        row: dict[str, Any] = {"operator": spec.split(":")[-1] if group == "hard" else spec, "property": pid,
                               "V": V or "2..64", "group": group}
        row["suite"] = summarise([suite_time(spec, pid, s, args.budget, V, ks) for s in range(args.seeds)],
                                 args.budget, DIGITS)
        row["hypothesis"] = summarise([hypothesis_time(spec, pid, s, args.budget, V, ks)
                                       for s in range(args.seeds)], args.budget, DIGITS)
        row["ratio"] = round(row["hypothesis"]["median_s"] / max(row["suite"]["median_s"], 1e-9), 2)
        out["find"].append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    if "throughput" in args.parts:
        floor = numpy_floor(5.0, DEFAULT_SIZES)
        rate, verdict = suite_throughput(20_000, DEFAULT_SIZES)
        out["throughput"] = {"numpy_inputs_per_cpu_s": round(floor), "suite_inputs_per_cpu_s": round(rate),
                             "share": round(rate / floor, 3), "verdict": verdict}
        print(json.dumps(out["throughput"]), file=sys.stderr, flush=True)
    if "cost" in args.parts:
        for V in (1000, 10_000):
            for spec, pid in PAIRS:
                out["cost"].append(certification_cost(spec, pid, V))
                print(json.dumps(out["cost"][-1]), file=sys.stderr, flush=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
