"""The paper's operator-agnostic claim, checked: do Sec. IV's guarantees hold for every conforming operator?

The paper (Sec. IV and the conclusion) says its guarantees hold "for any operator G satisfying
Axioms 1-5" (Assumption L only for Thm IV.2). One operator whose axioms 1-5 are all *proved*
(not merely not refuted) and that violates one of those guarantees with a *certified*
counterexample refutes the claim. :func:`findings` reads that off the per-operator results.

>>> from mtkd.results import Result, Verdict
>>> ok = [Result(a, Verdict.PROVED) for a in AXIOMS]
>>> bad = Result("thm-IV.9", Verdict.REFUTED, certified=True)
>>> [f.operator for f in findings({"op": ok + [bad]})]
['op']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from mtkd.results import Result, Verdict

from .catalogue import AXIOMS

GUARANTEES = ("def-IV.1", "thm-IV.7", "thm-IV.9", "prop-IV.11", "cor-IV.12")
"""Sec. IV's statements claimed for every operator satisfying Axioms 1-5 (thm-IV.2 also needs L)."""


@dataclass(frozen=True)
class AgnosticFinding:
    """A conforming operator (axioms proved) that violates guarantees with certified counterexamples."""

    operator: str
    violated: tuple[str, ...]
    axiom_scopes: tuple[str, ...]
    example: str

    def headline(self) -> str:
        return (f"The paper's operator-agnostic claim is REFUTED: `{self.operator}` satisfies Axioms 1-5 (each PROVED: "
                f"{'; '.join(sorted(set(self.axiom_scopes)))}), yet violates {', '.join(self.violated)} with certified "
                f"counterexamples (first: {self.example}). Sec. IV's guarantees hold for the linear pool, not for "
                "every operator satisfying the axioms.")


def findings(by_operator: Mapping[str, Sequence[Result]]) -> list[AgnosticFinding]:
    """Every operator whose five axioms are proved and that has a certified refutation of a guarantee."""
    out = []
    for spec, results in by_operator.items():
        by_id = {r.property: r for r in results}
        axioms = [by_id.get(a) for a in AXIOMS]
        if not all(r is not None and r.verdict is Verdict.PROVED for r in axioms):
            continue
        broken = [by_id[g] for g in GUARANTEES if g in by_id and by_id[g].verdict is Verdict.REFUTED
                  and by_id[g].certified]
        if not broken:
            continue
        first = broken[0]
        cx = first.counterexample
        example = f"{first.property}: {cx.explanation} (P = {[list(r) for r in cx.P]}, T = {list(cx.T)}, " \
                  f"w = {list(cx.w)})" if cx is not None else first.property
        out.append(AgnosticFinding(spec, tuple(r.property for r in broken),
                                   tuple(f"{r.method}, {r.scope}" for r in axioms if r is not None), example))
    return out
