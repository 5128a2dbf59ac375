"""The verdict policy: small typed rules that turn what the engines found into one result.

:func:`~mtkd.verify.verify` gathers :class:`Evidence` for a property (a prover's decision with its
:class:`~mtkd.results.ProofScope`, the other provers' notes, the search result); :func:`decide`
applies :data:`RULES` in order, and the first rule that applies gives the result and, if a proof
contradicts a certified counterexample, the soundness alarm.

>>> sentences("z3 unsat at all 12 sizes", "", "Search found no counterexample either (6000 inputs).")
'z3 unsat at all 12 sizes. Search found no counterexample either (6000 inputs).'
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from mtkd.results import Result, Verdict


def sentences(*parts: str) -> str:
    """Non-empty parts joined as sentences: each ends with a full stop (or its own punctuation)."""
    stripped = (p.strip() for p in parts)
    return " ".join(p if p.endswith((".", "!", "?", ".)")) else p + "." for p in stripped if p)


@dataclass(frozen=True)
class ProverNote:
    """A prover that answered without deciding (``unknown``, or an encoding declared absent)."""

    method: str
    verdict: Verdict
    message: str

    def text(self) -> str:
        return f"{self.method}: {self.verdict.value} ({self.message})"


@dataclass(frozen=True)
class Evidence:
    """What the engines found about one property of one operator."""

    proof: Result | None = None
    """A prover's ``proved`` (with its :class:`~mtkd.results.ProofScope`) or ``refuted``."""
    notes: tuple[ProverNote, ...] = ()
    search: Result | None = None
    property_evidence: str | None = None
    """The property's own further evidence (shown next to the verdict, never changing it)."""

    @property
    def complete_proof(self) -> bool:
        """A ``proved`` that settles the property in its scope (search then only spot-checks it)."""
        p = self.proof
        return p is not None and p.verdict is Verdict.PROVED and (p.proof is None or p.proof.complete)

    def search_with_context(self) -> Result:
        """The search result with the property's evidence and the provers' notes appended."""
        assert self.search is not None
        notes = "Provers: " + "; ".join(n.text() for n in self.notes) if self.notes else ""
        return replace(self.search, message=sentences(self.search.message, self.property_evidence or "", notes))


@dataclass(frozen=True)
class Decision:
    result: Result
    alarm: str | None = None


Rule = Callable[[Evidence], Decision | None]


def search_alone(e: Evidence) -> Decision | None:
    """Nothing was proved: the search decides."""
    return Decision(e.search_with_context()) if e.proof is None else None


def operator_failed(e: Evidence) -> Decision | None:
    """The proof is about the formula; the operator object itself misbehaved: that must surface."""
    assert e.proof is not None and e.search is not None
    if e.search.verdict is not Verdict.ERROR:
        return None
    return Decision(replace(e.search_with_context(), message=sentences(
        e.search_with_context().message, f"({e.proof.method} had proved: {e.proof.scope}.)")))


def proof_contradicted(e: Evidence) -> Decision | None:
    """A certified counterexample inside a complete proof's scope: a bug in the suite, said loudly."""
    assert e.proof is not None and e.search is not None
    cx = e.search.counterexample
    if not (e.search.verdict is Verdict.REFUTED and e.search.certified and e.complete_proof):
        return None
    if cx is not None and e.proof.proof is not None and not e.proof.proof.covers(cx.K, cx.V):
        return None
    alarm = sentences(f"SOUNDNESS ALARM on {e.search.property}: {e.proof.method} reported 'proved' ({e.proof.scope}) "
                      f"but a certified counterexample exists: {cx.explanation if cx else ''}",
                      "This is a bug in the suite; please report it with this output")
    return Decision(replace(e.search_with_context(), message=sentences(alarm, e.search_with_context().message)), alarm)


def refuted_beyond_proof(e: Evidence) -> Decision | None:
    """A counterexample outside what was proved (or an uncertified one): the refutation stands."""
    assert e.proof is not None and e.search is not None
    if e.search.verdict is not Verdict.REFUTED:
        return None
    found = e.search_with_context()
    return Decision(replace(found, message=sentences(found.message, f"({e.proof.method} proved only: {e.proof.scope}.)")))


def proof_stands(e: Evidence) -> Decision | None:
    """A complete proof, and the spot-check search found nothing: the proof is the verdict."""
    assert e.proof is not None and e.search is not None
    if not e.complete_proof:
        return None
    return Decision(replace(e.proof, message=sentences(
        e.proof.message, f"Search found no counterexample either ({e.search_with_context().message})")))


def partial_proof(e: Evidence) -> Decision | None:
    """A proof of part of the property (some sizes, fixed weights, one part): search decides the rest."""
    assert e.proof is not None and e.search is not None
    found = e.search_with_context()
    gaps = "; ".join(e.proof.proof.gaps) if e.proof.proof is not None else ""
    return Decision(replace(found, method=f"{e.proof.method} + {found.method}", message=sentences(
        f"Partial proof by {e.proof.method}: {e.proof.scope} ({gaps})", f"Then: {found.message}")))


RULES: tuple[Rule, ...] = (search_alone, operator_failed, proof_contradicted, refuted_beyond_proof, proof_stands,
                           partial_proof)
"""Tried in order; the last one always applies."""


def decide(e: Evidence) -> Decision:
    for rule in RULES:
        decision = rule(e)
        if decision is not None:
            return decision
    raise AssertionError("partial_proof always decides")
