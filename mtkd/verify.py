"""``verify``: check one operator against the catalogue and collect a :class:`Report`."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

from mtkd.counterexamples import SearchConfig
from mtkd.errors import MtkdError, OperatorFailure
from mtkd.operators import Operator
from mtkd.results import Result, Verdict
from mtkd.theorems import Domain, Property, resolve, unstated_reason

from .engines import Engine, search_backend, smt_backend, symbolic_backend

PROOF_CHECK_FRACTION = 0.25
"""Share of a property's search budget spent trying to refute what an engine proved."""


@dataclass(frozen=True)
class VerifyOptions:
    """Everything that determines a run; with the same options the report is the same."""

    seed: int = 0
    budget: float = 120.0
    """Search seconds for the whole run, shared by the properties: a safety cap, set well above what
    ``max_inputs`` needs so that the quota, and hence the seed alone, decides the report."""
    max_inputs: int = 6000
    """Inputs per property: the reproducible amount of search work."""
    engine: Engine = Engine.ALL
    properties: tuple[str, ...] = ()
    max_k: int = 4
    max_v: int = 4
    smt_time_limit: float = 10.0
    workers: int = 1
    """Processes for the search streams; the report does not depend on it."""
    corpus: str | None = ""
    """Directory of saved counterexamples replayed before anything else ("": the committed corpus,
    None: do not replay)."""
    domain: Domain = Domain.OPEN
    """Open (every teacher entry > 0) or closed (zeros allowed); see :mod:`mtkd.theorems.domain`."""


@dataclass(frozen=True)
class Report:
    """The verdicts on one operator, with what it offered and any soundness alarms."""

    operator: str
    seed: int
    capabilities: tuple[str, ...]
    limitations: tuple[str, ...]
    results: tuple[Result, ...]
    alarms: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        bad = {Verdict.REFUTED, Verdict.ERROR}
        return 1 if self.alarms or any(r.verdict in bad for r in self.results) else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "operator": self.operator,
            "seed": self.seed,
            "capabilities": list(self.capabilities),
            "limitations": list(self.limitations),
            "alarms": list(self.alarms),
            "options": dict(self.options),
            "results": [r.to_json() for r in self.results],
        }


ProgressFn = Callable[[str, int, float], None]


def verify(op: Operator, options: VerifyOptions = VerifyOptions(),
           progress: ProgressFn | None = None) -> Report:
    """Check ``op`` against the selected properties; never raises for operator misbehaviour."""
    props = resolve(list(options.properties))
    per_prop = options.budget / max(1, len(props))
    results: list[Result] = []
    alarms: list[str] = []
    for prop in props:
        result, alarm = _check(op, prop, options, per_prop, progress)
        results.append(result)
        if alarm:
            alarms.append(alarm)
    return Report(op.spec, options.seed, op.capabilities, tuple(op.limitations()), tuple(results), tuple(alarms),
                  {"budget": options.budget, "max_inputs": options.max_inputs, "engine": options.engine.value,
                   "max_k": options.max_k, "max_v": options.max_v, "domain": options.domain.value})


def _check(op: Operator, prop: Property, options: VerifyOptions, seconds: float,
           progress: ProgressFn | None) -> tuple[Result, str | None]:
    start = time.perf_counter()
    unstated = unstated_reason(prop, options.domain)
    if unstated is not None:
        return Result(prop.id, Verdict.UNKNOWN, method="not applicable", scope=options.domain.label,
                      message=unstated), None
    if options.corpus is not None and options.engine in (Engine.ALL, Engine.SEARCH):
        known = replay_corpus(op, prop, options.corpus, options.domain)
        if known is not None:
            return replace(known, seconds=time.perf_counter() - start), None
    decided: Result | None = None
    notes: list[str] = []
    provers = []
    if options.domain is not Domain.OPEN and options.engine is not Engine.SEARCH:
        # Every symbolic and SMT argument divides by, or takes logs of, teacher entries assumed
        # positive: a proof there says nothing about zeros, so it must not become a verdict here.
        notes.append("symbolic / SMT: not used, their proofs and encodings are for the open domain only")
    else:
        if options.engine in (Engine.ALL, Engine.SYMBOLIC):
            provers.append(symbolic_backend)
        if options.engine in (Engine.ALL, Engine.SMT):
            provers.append(smt_backend(options.max_k, options.max_v, options.smt_time_limit))
    for backend in provers:
        try:
            r = backend(op, prop)
        except OperatorFailure as failure:
            return Result(prop.id, Verdict.ERROR, method="precise evaluation", message=str(failure)), None
        if r is None:
            continue
        if r.verdict in (Verdict.PROVED, Verdict.REFUTED):
            decided = r
            break
        notes.append(f"{r.method}: {r.verdict.value} ({r.message})")
    if options.engine not in (Engine.ALL, Engine.SEARCH):
        final = decided or Result(prop.id, Verdict.UNKNOWN, method=options.engine.value,
                                  message="; ".join(notes) or f"the {options.engine.value} engine has no encoding "
                                  "for this operator and property; try --engine search")
        return replace(final, seconds=time.perf_counter() - start), None
    if decided is not None and decided.verdict is Verdict.REFUTED:
        return replace(decided, seconds=time.perf_counter() - start), None
    proved = decided is not None
    # A complete proof only needs a spot check; a partial one (some sizes, fixed weights, part of
    # the statement) leaves the property open, so the search gets its full budget.
    complete = proved and (decided.proof is None or decided.proof.complete)  # type: ignore[union-attr]
    share = PROOF_CHECK_FRACTION if complete else 1.0
    config = SearchConfig(seed=options.seed, seconds=seconds * share,
                          max_inputs=int(options.max_inputs * share), workers=options.workers, domain=options.domain)
    cb = (lambda n, best: progress(prop.id, n, best)) if progress else None
    found = search_backend(config, cb)(op, prop)
    evidence = prop.evidence(op, options.seed)
    if evidence:
        found = replace(found, message=f"{found.message} {evidence}")
    if notes:
        found = replace(found, message=found.message + " Provers: " + "; ".join(notes))
    if decided is None:
        return replace(found, seconds=time.perf_counter() - start), None
    if found.verdict is Verdict.ERROR:
        # The proof is about the formula; the operator object itself misbehaved: that must surface.
        return replace(found, message=f"{found.message} ({decided.method} had proved: {decided.scope}.)"), None
    if found.verdict is Verdict.REFUTED:
        if found.certified and complete and _in_scope(decided, found):
            alarm = (f"SOUNDNESS ALARM on {prop.id}: {decided.method} reported 'proved' ({decided.scope}) but a "
                     f"certified counterexample exists: {found.counterexample.explanation if found.counterexample else ''}"
                     " This is a bug in the suite; please report it with this output.")
            return replace(found, message=alarm + " " + found.message), alarm
        return replace(found, message=found.message + f" ({decided.method} proved only: {decided.scope}.)"), None
    if complete:
        check = f" Search found no counterexample either ({found.message})"
        return replace(decided, message=decided.message + check, seconds=time.perf_counter() - start), None
    gaps = "; ".join(decided.proof.gaps if decided.proof is not None else ())
    return replace(found, method=f"{decided.method} + {found.method}",
                   message=f"Partial proof by {decided.method}: {decided.scope} ({gaps}). Then: {found.message}",
                   seconds=time.perf_counter() - start), None


def replay_corpus(op: Operator, prop: Property, directory: str = "",
                  domain: Domain = Domain.OPEN) -> Result | None:
    """A refutation from a saved counterexample of ``(op, prop)`` in ``domain`` that still certifies, if any.

    A saved point with a zero in ``P`` refutes only on the closed domain; an all-positive one on
    both (the open domain is part of the closed one).
    """
    from mtkd.counterexamples.corpus import DEFAULT_DIR, entries_for, replay_entry

    for path, entry in entries_for(op.spec, Path(directory) if directory else DEFAULT_DIR):
        point = [[Fraction(v) for v in row] for row in entry.counterexample.P]
        if entry.property != prop.id or not domain.admits(point):
            continue
        try:
            got = replay_entry(entry, op, path)
        except (MtkdError, OperatorFailure):
            continue  # a stale or broken file must not stop verification; 'mtkd replay' reports it
        cx = entry.counterexample
        if got.stands and cx.certified:
            return Result(prop.id, Verdict.REFUTED, certified=True, method="corpus replay",
                          scope=f"{domain.label}: saved counterexample at K={cx.K}, V={cx.V}", counterexample=cx,
                          message=f"{cx.explanation} Replayed from {path.name} ({got.message.split(':')[0]}).",
                          extra={"corpus_file": path.name, "time_to_first_certified": 0.0})
    return None


def _in_scope(proof: Result, found: Result) -> bool:
    """Does the proof cover the counterexample's size? Symbolic proofs cover all sizes."""
    cx = found.counterexample
    if cx is None or proof.proof is None:
        return True
    return proof.proof.covers(cx.K, cx.V)
