"""The real-world-style operator zoo against every property, float-only (no derived precise form).

Run from the repository root:

    python bench/zoo.py > bench/zoo.md

For each operator of tests/zoo_operators.py: the verdict per property at default options (seed 0,
search engine), the wall time, and whether every refutation's counterexample is violated at 60
digits according to the independent referee (tests/referee.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

import referee  # noqa: E402
import zoo_operators as zoo  # noqa: E402

from mtkd.engines import Engine  # noqa: E402
from mtkd.operators import wrap_callable  # noqa: E402
from mtkd.verify import VerifyOptions, verify  # noqa: E402

NAMES = ["mean_logits", "mean_logits_batched", "confidence_pool", "entropy_pool", "topk_fusion",
         "logsumexp_linear", "weight_blind_max", "readme_pool"]


def main() -> None:
    print("| operator | seconds | refuted (referee agrees?) | not-refuted | error |")
    print("|---|---|---|---|---|")
    for name in NAMES:
        op = wrap_callable(getattr(zoo, name), name, derive=False)
        start = time.perf_counter()
        report = verify(op, VerifyOptions(seed=0, engine=Engine.SEARCH, corpus=None))
        took = time.perf_counter() - start
        refuted, holds, errors = [], [], []
        for r in report.results:
            if r.verdict.value == "refuted" and r.counterexample is not None:
                try:
                    ok = "yes" if referee.violated(name, r.property, r.counterexample.to_json()) else "NO"
                except KeyError:
                    ok = "limit"
                refuted.append(f"{r.property} ({ok})")
            elif r.verdict.value == "error":
                errors.append(r.property)
            else:
                holds.append(r.property)
        print(f"| `{name}` | {took:.1f} | {', '.join(refuted)} | {', '.join(holds)} | {', '.join(errors)} |")


if __name__ == "__main__":
    main()
