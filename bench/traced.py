"""Traced proofs of user code (issue 8): derivation, tracing and z3 time per operator and query.

Run as ``.venv/bin/python bench/traced.py [--max-k 4 --max-v 4]``; prints a markdown table (saved
in ``bench/traced.md``). Each user-style operator from ``tests/operators_traced*.py`` (no precise
form) is loaded (which derives its precise form and checks it against the float form), traced at
every size K in 1..max_k, V in 2..max_v, then every z3-encodable property is checked on the
traced formula; the table gives the verdicts and the slowest single z3 query (target <= 10 s; the
wall-clock cap per query is 10 s, so a query that needs more gives up and is reported, never
exceeded). "(partial)": proved at some sizes or fixed weights only; "-": no sympy proof.
Each operator gets a fresh process so that the caches of one do not speed up the next.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OPERATORS = [("operators_traced.py", name) for name in
             ("linear_matmul", "linear_einsum", "linear_logspace", "logit_average", "mean_of_squares")]
OPERATORS += [("operators_traced_torch.py", "linear_torch"), ("operators_traced_torch.py", "logit_average_torch")]
PROPERTIES = ["axiom1", "axiom1-hull", "axiom2", "axiom3", "assumption-L", "def-IV.1", "prop-IV.11", "cor-IV.12"]
SYMBOLIC = ["thm-IV.7", "thm-IV.9"]


def one(path: str, name: str, max_k: int, max_v: int) -> dict:
    """Measure one operator (runs inside a fresh interpreter)."""
    from mtkd.operators import load_operator
    from mtkd.theorems.traced import analysis_of, traced_smt_check, traced_symbolic_check

    if "torch" in path:
        import torch  # noqa: F401  - imported up front, as a torch user's module does; not timed

    start = time.perf_counter()
    op = load_operator(f"{ROOT / 'tests' / path}:{name}")
    derive = time.perf_counter() - start
    analysis = analysis_of(op)
    out = {"operator": name, "derive_s": round(derive, 2), "verdicts": {}, "max_query_s": 0.0}
    if analysis is None:
        out["note"] = op.derive_failure
        return out
    start = time.perf_counter()
    for K in range(1, max_k + 1):
        for V in range(2, max_v + 1):
            analysis.formula(K, V)
    out["trace_s"] = round(time.perf_counter() - start, 2)
    out["pattern"] = analysis.pattern(tuple((K, V) for K in range(1, max_k + 1) for V in range(2, max_v + 1)))
    start = time.perf_counter()
    for prop in PROPERTIES:
        r = traced_smt_check(analysis, prop, max_k=max_k, max_v=max_v)
        if r is None:
            continue
        partial = r.proof is not None and not r.proof.complete
        out["verdicts"][prop] = r.verdict.value + (" (partial)" if partial else "")
        times = [q["seconds"] for q in r.extra.get("queries", [])]
        out["max_query_s"] = max([out["max_query_s"], *times])
    out["smt_s"] = round(time.perf_counter() - start, 2)
    for prop in SYMBOLIC:
        r = traced_symbolic_check(analysis, prop, max_k=max_k, max_v=max_v)
        out["verdicts"][prop] = r.verdict.value if r is not None else "-"
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-k", type=int, default=3)
    parser.add_argument("--max-v", type=int, default=3)
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1], args.max_k, args.max_v)))
        return
    print(f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}; K in 1..{args.max_k}, "
          f"V in 2..{args.max_v}\n")
    print("| operator | derive | trace | z3 total | slowest z3 query | pattern | verdicts |")
    print("|---|---|---|---|---|---|---|")
    for path, name in OPERATORS:
        if "torch" in path:
            try:
                import torch  # noqa: F401
            except ImportError:
                print(f"| {name} | torch not installed | | | | | |")
                continue
        proc = subprocess.run([sys.executable, __file__, "--max-k", str(args.max_k), "--max-v", str(args.max_v),
                               "--one", path, name], capture_output=True, text=True, check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        verdicts = ", ".join(f"{p} {v}" for p, v in r["verdicts"].items())
        print(f"| `{name}` | {r['derive_s']} s | {r.get('trace_s', '-')} s | {r.get('smt_s', '-')} s | "
              f"{r['max_query_s']:.2f} s | {r.get('pattern') or '-'} | {verdicts or r.get('note', '')} |")


if __name__ == "__main__":
    main()
