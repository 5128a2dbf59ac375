"""``verify``: check one operator against the catalogue and collect a :class:`Report`.

Engines gather evidence per property; :mod:`mtkd.policy` turns it into the verdict.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import partial
from typing import Any, Callable

from mtkd import budget
from mtkd.counterexamples import SearchConfig
from mtkd.counterexamples.corpus import entries_for, replay_entry
from mtkd.errors import MtkdError, OperatorFailure
from mtkd.operators import Operator
from mtkd.results import Result, Verdict
from mtkd.theorems import Domain, Property, resolve, unstated_reason

from .corpus_dirs import replay_dirs
from .engines import Backend, Engine, search_backend, smt_backend, symbolic_backend
from .policy import Evidence, ProverNote, decide, sentences

SEARCH_ENGINES = (Engine.ALL, Engine.SEARCH)
"""The engine settings under which the search runs (and the corpus is replayed)."""

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
    """Project corpus replayed before anything else, then the packaged one ("": ``.mtkd/corpus`` or
    ``$MTKD_CORPUS``, see :mod:`mtkd.corpus_dirs`; None: do not replay)."""
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

    def result(self, property_id: str) -> Result:
        """The result for ``property_id`` (``KeyError`` naming the checked ids if it was not checked)."""
        for r in self.results:
            if r.property == property_id:
                return r
        raise KeyError(f"{property_id!r} was not checked; this report has {', '.join(r.property for r in self.results)}")

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
    with budget.wall(options.budget):
        for prop in props:
            start = time.perf_counter()
            try:
                if budget.expired():
                    raise budget.BudgetExhausted()
                result, alarm = _check(op, prop, options, budget.clamp(per_prop), progress)
            except budget.BudgetExhausted:
                result, alarm = out_of_budget(prop.id, options.budget, time.perf_counter() - start), None
            results.append(result)
            if alarm:
                alarms.append(alarm)
    from mtkd.scope_marks import annotate

    return Report(op.spec, options.seed, op.capabilities, tuple(op.limitations()),
                  annotate(results, options.max_k, options.max_v), tuple(alarms),
                  {"budget": options.budget, "max_inputs": options.max_inputs, "engine": options.engine.value,
                   "max_k": options.max_k, "max_v": options.max_v, "domain": options.domain.value})


def out_of_budget(prop_id: str, seconds: float, spent: float) -> Result:
    """The verdict on a property the run's ``--budget`` wall cut off (or never reached)."""
    what = "was stopped" if spent > 0.01 else "was not started"
    return Result(prop_id, Verdict.UNKNOWN, method="budget", seconds=spent,
                  message=f"budget: the run's --budget of {seconds:g} s ran out, so this property {what} before "
                          "it was decided. Raise --budget (or lower --max-inputs) to decide it.")


def _check(op: Operator, prop: Property, options: VerifyOptions, seconds: float,
           progress: ProgressFn | None) -> tuple[Result, str | None]:
    start = time.perf_counter()

    def timed(r: Result) -> Result:
        return replace(r, seconds=time.perf_counter() - start)

    unstated = unstated_reason(prop, options.domain)
    if unstated is not None:
        return Result(prop.id, Verdict.UNKNOWN, method="not applicable", scope=options.domain.label,
                      message=unstated), None
    if options.corpus is not None and options.engine in SEARCH_ENGINES:
        known = replay_corpus(op, prop, options.corpus, options.domain)
        if known is not None:
            return timed(known), None
    try:
        evidence = _prove(op, prop, options)
    except OperatorFailure as failure:
        return Result(prop.id, Verdict.ERROR, method="precise evaluation", message=str(failure)), None
    if options.engine not in SEARCH_ENGINES:
        return timed(evidence.proof or Result(
            prop.id, Verdict.UNKNOWN, method=options.engine.value,
            message="; ".join(n.text() for n in evidence.notes) or f"the {options.engine.value} engine has no "
            "encoding for this operator and property; try --engine search")), None
    if evidence.proof is not None and evidence.proof.verdict is Verdict.REFUTED:
        return timed(evidence.proof), None
    # A complete proof only needs a spot check; a partial one (some sizes, fixed weights, part of
    # the statement) leaves the property open, so the search gets its full budget.
    share = PROOF_CHECK_FRACTION if evidence.complete_proof else 1.0
    config = SearchConfig(seed=options.seed, seconds=seconds * share,
                          max_inputs=max(1, int(options.max_inputs * share)), workers=options.workers, domain=options.domain)
    cb = (lambda n, best: progress(prop.id, n, best)) if progress else None
    evidence = replace(evidence, search=search_backend(config, cb)(op, prop),
                       property_evidence=prop.evidence(op, options.seed))
    decision = decide(evidence)
    return timed(decision.result), decision.alarm


def _prove(op: Operator, prop: Property, options: VerifyOptions) -> Evidence:
    """Ask the provers in order (symbolic, then SMT) until one decides; raises OperatorFailure."""
    if options.domain is not Domain.OPEN and options.engine is not Engine.SEARCH:
        # Every symbolic and SMT argument divides by, or takes logs of, teacher entries assumed
        # positive: a proof there says nothing about zeros, so it must not become a verdict here.
        return Evidence(notes=(ProverNote("symbolic / SMT", Verdict.UNKNOWN,
                                          "not used, their proofs and encodings are for the open domain only"),))
    provers: list[Backend] = []
    if options.engine in (Engine.ALL, Engine.SYMBOLIC):
        provers.append(partial(symbolic_backend, max_k=options.max_k, max_v=options.max_v))
    if options.engine in (Engine.ALL, Engine.SMT):
        # z3 cannot be interrupted by the wall's alarm: each query gets at most the time left.
        provers.append(smt_backend(options.max_k, options.max_v, max(0.1, budget.clamp(options.smt_time_limit))))
    notes: list[ProverNote] = []
    for backend in provers:
        r = backend(op, prop)
        if r is None:
            continue
        if r.verdict in (Verdict.PROVED, Verdict.REFUTED):
            return Evidence(proof=r, notes=tuple(notes))
        notes.append(ProverNote(r.method, r.verdict, r.message))
    return Evidence(notes=tuple(notes))


def replay_corpus(op: Operator, prop: Property, directory: str = "",
                  domain: Domain = Domain.OPEN) -> Result | None:
    """A refutation from a saved counterexample of ``(op, prop)`` in ``domain`` that still certifies, if any.

    ``directory`` is the project corpus (see :mod:`mtkd.corpus_dirs`); the packaged one is read after it.

    A saved point with a zero in ``P`` refutes only on the closed domain; an all-positive one on
    both (the open domain is part of the closed one).
    """
    for path, entry in (pe for d in replay_dirs(directory) for pe in entries_for(op.spec, d)):
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
                          message=sentences(cx.explanation, f"Replayed from {path.name} ({got.how})"),
                          extra={"corpus_file": path.name, "time_to_first_certified": 0.0})
    return None
