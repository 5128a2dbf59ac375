"""Every refuted built-in (operator, property) pair, searched again with V held at 1000.

Reproduce (about 5 minutes on 2 cores):

    .venv/bin/python bench/v1000.py > bench/v1000.md

For each pair in the committed corpus (the refuted built-in pairs), ``search_property`` runs with
``sizes=((2, 1000), (3, 1000))``, seed 0, a 20 s budget and no shrinking, so the reported
counterexample has V = 1000. Prints a markdown table: certified or not, time to the first
certified counterexample, inputs tried.
"""

from __future__ import annotations

import time

from mtkd.counterexamples import SearchConfig, search_property
from mtkd.counterexamples.corpus import DEFAULT_DIR, load_entry
from mtkd.operators import load_operator
from mtkd.results import Verdict
from mtkd.theorems import get_property


def main() -> None:
    pairs = sorted({(e.operator, e.property) for e in map(load_entry, sorted(DEFAULT_DIR.glob("*.json")))})
    print("| operator | property | verdict | certified | V | time to first certified | inputs |")
    print("|---|---|---|---|---|---|---|")
    found = 0
    start = time.perf_counter()
    for spec, pid in pairs:
        config = SearchConfig(seed=0, sizes=((2, 1000), (3, 1000)), seconds=20.0, shrink_seconds=0.0)
        r = search_property(load_operator(spec), get_property(pid), config)
        cx = r.counterexample
        ok = r.verdict is Verdict.REFUTED and r.certified
        found += ok
        first = r.extra.get("time_to_first_certified")
        print(f"| `{spec}` | `{pid}` | {r.verdict.value} | {'yes' if r.certified else 'no'} | "
              f"{cx.V if cx else '-'} | {f'{first:.2f} s' if first is not None else '-'} | {r.extra.get('inputs', '-')} |",
              flush=True)
    print(f"\n{found} of {len(pairs)} pairs certified at V = 1000 in {time.perf_counter() - start:.0f} s (2 cores).")


if __name__ == "__main__":
    main()
