"""Core verify speed: a whole ``mtkd verify geometric`` run, and the time to a first certified
Axiom 3 counterexample for ``geometric`` at K=3, V=1000.

Reproduce the figures in bench/README.md (section "Core verify speed"; about 3-4 minutes on 2 cores):

    .venv/bin/python bench/verify_speed.py --repeats 3 --seeds 10

1. ``mtkd verify geometric --format json`` as a user runs it (default budget cap, default
   --max-inputs and --workers), end to end in a fresh process, with ``--engine search`` and, when
   ``theorems/smt.py`` exists, ``--engine all``; each with the committed corpus replayed first (the
   default) and with ``--no-corpus`` (every verdict from scratch). Target: < 60 s on 2 cores.
2. ``search_property(geometric, axiom3, SearchConfig(sizes=((3, 1000),), seed=s))`` for seeds
   ``0..N-1``: ``time_to_first_certified`` as the search reports it (random + guided steps up to
   the certified find, interval certification included), and the wall time of the whole call
   without shrinking. Target: < 2 s.

Figures are wall-clock seconds: median and max over the repeats / seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MTKD = str(Path(sys.executable).with_name("mtkd"))


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"


def time_verify(engine: str, corpus: bool, repeats: int) -> dict[str, Any]:
    args = [MTKD, "verify", "geometric", "--engine", engine, "--format", "json"]
    if not corpus:
        args.append("--no-corpus")
    times, verdicts = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=600)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        report = json.loads(proc.stdout)
        verdicts = {r["property"]: r["verdict"] for r in report["results"]}
    assert verdicts is not None
    return {"command": " ".join(["mtkd"] + args[1:]), "median_s": statistics.median(times), "max_s": max(times),
            "runs": [round(t, 2) for t in times],
            "refuted": sum(v == "refuted" for v in verdicts.values()),
            "proved": sum(v == "proved" for v in verdicts.values()),
            "not_refuted": sum(v == "not-refuted" for v in verdicts.values())}


def time_first_axiom3(seeds: int) -> dict[str, Any]:
    from mtkd.counterexamples import SearchConfig, search_property
    from mtkd.operators import load_operator
    from mtkd.theorems import get_property

    op, prop = load_operator("geometric"), get_property("axiom3")
    firsts, walls, misses = [], [], 0
    for seed in range(seeds):
        config = SearchConfig(seed=seed, sizes=((3, 1000),), seconds=30.0, shrink_seconds=0.0)
        start = time.perf_counter()
        result = search_property(op, prop, config)
        walls.append(time.perf_counter() - start)
        first = (result.extra or {}).get("time_to_first_certified")
        if result.verdict.value != "refuted" or not result.certified or first is None:
            misses += 1
            continue
        firsts.append(first)
    return {"seeds": seeds, "misses": misses,
            "first_certified_median_s": statistics.median(firsts) if firsts else None,
            "first_certified_max_s": max(firsts) if firsts else None,
            "call_median_s": statistics.median(walls), "call_max_s": max(walls)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each mtkd verify command")
    parser.add_argument("--seeds", type=int, default=10, help="seeds for the K=3, V=1000 axiom3 search")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    engines = ["search"] + (["all"] if (ROOT / "theorems" / "smt.py").exists() else [])
    out: dict[str, Any] = {"machine": machine(), "verify": [], "axiom3_K3_V1000": None}
    print(f"machine: {out['machine']}")
    for engine in engines:
        for corpus in (True, False):
            row = time_verify(engine, corpus, args.repeats)
            out["verify"].append(row)
            print(f"{row['command']:<62} median {row['median_s']:6.2f} s  max {row['max_s']:6.2f} s  "
                  f"(refuted {row['refuted']}, proved {row['proved']}, not-refuted {row['not_refuted']})")
    first = time_first_axiom3(args.seeds)
    out["axiom3_K3_V1000"] = first
    fmt = lambda v: "n/a" if v is None else f"{v:.2f}"  # noqa: E731
    print(f"geometric axiom3 at K=3, V=1000, {first['seeds']} seeds ({first['misses']} misses): first certified "
          f"median {fmt(first['first_certified_median_s'])} s, max {fmt(first['first_certified_max_s'])} s; "
          f"whole call median {first['call_median_s']:.2f} s, max {first['call_max_s']:.2f} s")
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
