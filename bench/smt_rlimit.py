"""How much z3 work (rlimit units) each query of the project needs: the data behind ``RLIMIT``.

Run as ``nice -n 10 .venv/bin/python bench/smt_rlimit.py [--rlimit N] [--cap S] [--out FILE] [SPEC ...]``
from the repository root. For every operator (default: the report's built-ins, then user
operators of ``tests/zoo_operators.py`` whose proofs are traced) and every property it runs the
SMT engine exactly as ``mtkd verify --engine smt`` / ``mtkd report --engine smt`` do (K, V <= 4),
with the quota ``--rlimit`` and a safety net of ``--cap`` seconds, and records every z3 query:
the resource units it spent (deterministic), its CPU seconds (thread clock) and wall seconds,
and what stopped it. Prints a markdown summary; ``--out`` also writes every query as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from typing import Any

import z3

from mtkd.engines import smt_backend
from mtkd.operators.loader import load_operator
from mtkd.reports.conformance import DEFAULT_OPERATORS
from mtkd.theorems import PROPERTIES
from mtkd.theorems import smt as smt_module
from mtkd.theorems import smt_runner
from mtkd.theorems import traced as traced_module

ZOO = tuple(f"tests/zoo_operators.py:{name}" for name in (
    "confidence_pool", "readme_pool", "linear_with_precise", "logsumexp_linear", "mean_logits"))

ROWS: list[dict[str, Any]] = []
CURRENT: dict[str, str] = {}


def recording_run_query(ctx: z3.Context, assertions: Any, **limits: Any) -> smt_runner.QueryOutcome:
    out = smt_runner.run_query(ctx, assertions, **limits)
    ROWS.append({**CURRENT, "status": out.status, "stopped_by": out.stopped_by, "work": out.work,
                 "cpu": round(out.cpu_seconds, 3), "wall": round(out.seconds, 3)})
    return out


def label(rows: list[dict[str, Any]], queries: list[dict[str, Any]]) -> None:
    """Size and stage of each recorded query, from the result's own list (matched by units spent:
    cached lemmas and shared traced runs appear there without a new query)."""
    for row in rows:
        match = next((q for q in queries if q["rlimit_used"] == row["work"] and q["status"] == row["status"]), None)
        if match is not None:
            queries.remove(match)
        row.update(K=match["K"] if match else "?", V=match["V"] if match else "?",
                   stage=match["stage"] if match else "?")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("specs", nargs="*")
    ap.add_argument("--rlimit", type=int, default=smt_runner.RLIMIT)
    ap.add_argument("--cap", type=float, default=smt_runner.SAFETY_NET_SECONDS)
    ap.add_argument("--out")
    args = ap.parse_args()
    smt_module.run_query = traced_module.run_query = recording_run_query  # type: ignore[assignment]
    backend = smt_backend(4, 4, args.cap, args.rlimit)
    load = os.getloadavg()
    start = time.perf_counter()
    verdicts = []
    for spec in args.specs or (*DEFAULT_OPERATORS, *ZOO):
        op = load_operator(spec)
        for prop in PROPERTIES.values():
            CURRENT.update(op=spec, prop=prop.id)
            first = len(ROWS)
            r = backend(op, prop)
            if r is not None:
                label(ROWS[first:], list(r.extra.get("queries", [])))
                verdicts.append({"op": spec, "prop": prop.id, "verdict": r.verdict.value, "scope": r.scope})
                print(f"{spec} {prop.id}: {r.verdict.value} | {r.scope[:100]}", flush=True)
            if args.out:  # after every pair: a long run can be stopped and still leave its data
                with open(args.out, "w") as f:
                    json.dump({"rlimit": args.rlimit, "cap": args.cap, "loadavg_start": load,
                               "loadavg_now": os.getloadavg(), "seconds": time.perf_counter() - start,
                               "z3": z3.get_version_string(), "queries": ROWS, "verdicts": verdicts}, f, indent=1)
    total = time.perf_counter() - start
    decided = [q for q in ROWS if q["status"] != "unknown"]
    print(f"\nrlimit {args.rlimit:,}, cap {args.cap:g} s; z3 {z3.get_version_string()}, {platform.machine()}, "
          f"{os.cpu_count()} cores; load average {load[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end; "
          f"{total:.0f} s in all")
    print(f"{len(ROWS)} queries, {len(decided)} decided; largest work of a decided query: "
          f"{max((q['work'] for q in decided), default=0):,} units")
    print("\n| operator | property | K | V | stage | status | units | CPU s | wall s |\n|---|---|---|---|---|---|---|---|---|")
    for q in sorted(ROWS, key=lambda q: -q["work"])[:25]:
        print(f"| {q['op']} | {q['prop']} | {q['K']} | {q['V']} | {q['stage']} | {q['status']} {q['stopped_by']} "
              f"| {q['work']:,} | {q['cpu']} | {q['wall']} |")


if __name__ == "__main__":
    main()
