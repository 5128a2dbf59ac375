"""The real-world-style operator zoo against every property, float-only, checked against two referees.

Run from the repository root (a few minutes on 2 cores):

    python bench/zoo.py > bench/zoo.md

Each operator of tests/zoo_operators.py is verified as a user's single-input (or batched) numpy
function with no precise form (none derived either: float evidence only, the case where round-off
could most easily pass for a violation), search engine, seed 0, no corpus. Then:

* every refutation's counterexample is re-checked at 60 digits by tests/referee.py (independent of
  the tool: mpmath and the zoo's formulas only); the limits (axiom4, axiom5 (b)) and the pool-*
  properties have no referee margin and are marked "no referee";
* the truth of each statement comes from the operator's built-in twin (the same pool written by the
  suite: ``mean_logits`` is ``geometric`` ...), verified at default options: a twin's ``proved``
  means the statement holds, a twin's certified ``refuted`` that it is violated (budgets far above
  the quotas, so that machine load does not change either run).

A *false refutation* is a refutation of a statement the twin proved, or one the referee does not
confirm; there must be none. *Known violations found* counts the twin's certified refutations the
float-only search also refuted.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

import referee  # noqa: E402
import zoo_operators as zoo  # noqa: E402

from mtkd.engines import Engine  # noqa: E402
from mtkd.operators import load_operator, wrap_callable  # noqa: E402
from mtkd.results import Verdict  # noqa: E402
from mtkd.verify import VerifyOptions, verify  # noqa: E402

TWINS = {"mean_logits": "geometric", "mean_logits_batched": "geometric", "confidence_pool": "confidence",
         "entropy_pool": "entropy-weighted", "topk_fusion": None, "logsumexp_linear": "linear",
         "weight_blind_max": "max", "readme_pool": "linear"}
"""Each zoo operator's built-in twin (``topk_fusion`` renormalises after mixing, unlike ``topk``: none)."""


def _twin_truth(name: str | None) -> dict[str, bool]:
    """Property -> holds (True: the twin proved it; False: the twin has a certified counterexample)."""
    if name is None:
        return {}
    # A budget far above what the quota needs: the twin's verdicts must not depend on machine load.
    report = verify(load_operator(name), VerifyOptions(seed=0, budget=2000.0))
    truth = {r.property: True for r in report.results if r.verdict is Verdict.PROVED}
    truth.update({r.property: False for r in report.results if r.verdict is Verdict.REFUTED and r.certified})
    return truth


def main() -> None:
    print("| operator | twin | seconds | refuted (referee) | false refutations | known violations found | error |")
    print("|---|---|---|---|---|---|---|")
    total_false = 0
    for name, twin in TWINS.items():
        truth = _twin_truth(twin)
        op = wrap_callable(getattr(zoo, name), name, derive=False)
        start = time.perf_counter()
        report = verify(op, VerifyOptions(seed=0, engine=Engine.SEARCH, corpus=None, budget=2000.0))
        took = time.perf_counter() - start
        refuted, false, errors = [], [], []
        for r in report.results:
            if r.verdict is Verdict.ERROR:
                errors.append(r.property)
            if r.verdict is not Verdict.REFUTED or r.counterexample is None:
                continue
            try:
                confirmed = referee.violated(name, r.property, r.counterexample.to_json())
                refuted.append(f"{r.property} ({'yes' if confirmed else 'NO'})")
            except KeyError:
                confirmed = True  # no referee margin: the twin's verdict below is the only check
                refuted.append(f"{r.property} (no referee)")
            if not confirmed or truth.get(r.property) is True:
                false.append(r.property)
        known = sorted(p for p, holds in truth.items() if not holds)
        found = [p for p in known if any(r.property == p and r.verdict is Verdict.REFUTED for r in report.results)]
        total_false += len(false)
        print(f"| `{name}` | {twin or '-'} | {took:.1f} | {', '.join(refuted) or '-'} | {', '.join(false) or '0'} | "
              f"{f'{len(found)}/{len(known)}' if twin else '-'}"
              f"{' (missed: ' + ', '.join(sorted(set(known) - set(found))) + ')' if len(found) < len(known) else ''} | "
              f"{', '.join(errors) or '-'} |")
    print(f"\nFalse refutations in total: {total_false}.")


if __name__ == "__main__":
    main()
