"""``verify``: check one operator against the catalogue and collect a :class:`Report`.

Engines gather evidence per property; :mod:`mtkd.policy` turns it into the verdict.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Any

from mtkd import budget
from mtkd.counterexamples import SearchConfig
from mtkd.counterexamples.backends import Backend as TaskBackend
from mtkd.counterexamples.corpus import entries_for, replay_entry
from mtkd.counterexamples.forms import forms_problem
from mtkd.counterexamples.generators import DEFAULT_SIZES
from mtkd.counterexamples.shipping import Shipped, ShippedLoadError, ship
from mtkd.errors import MtkdError, OperatorFailure
from mtkd.operators import Operator
from mtkd.results import Result, Verdict
from mtkd.theorems import Domain, Property, resolve, unstated_reason
from mtkd.theorems.smt_runner import RLIMIT, SAFETY_NET_SECONDS

from .corpus_dirs import replay_dirs
from .engines import Backend, Engine, search_backend, smt_backend, symbolic_backend
from .policy import Evidence, ProverNote, decide, sentences

SEARCH_ENGINES = (Engine.ALL, Engine.SEARCH)
"""The engine settings under which the search runs (and the corpus is replayed)."""

PROOF_CHECK_FRACTION = 0.25
"""Share of a property's search budget spent trying to refute what an engine proved."""


DEFAULT_BUDGET = 600.0
"""Seconds for a whole ``verify`` run. A safety cap only: the slowest built-in or zoo operator needs
about 65 CPU-s at the default quotas (confidence, mostly z3 give-ups spending their rlimit), and a
loaded 2-core machine stretches that 3-fold; 120 s was close enough that the load chose the verdicts."""


@dataclass(frozen=True)
class VerifyOptions:
    """Everything that determines a run; with the same options the report is the same."""

    seed: int = 0
    budget: float = DEFAULT_BUDGET
    """Search seconds for the whole run, shared by the properties: a safety cap, set well above what
    ``max_inputs`` needs so that the quota, and hence the seed alone, decides the report."""
    max_inputs: int = 6000
    """Inputs per property: the reproducible amount of search work."""
    engine: Engine = Engine.ALL
    properties: tuple[str, ...] = ()
    max_k: int = 4
    max_v: int = 4
    smt_rlimit: int = RLIMIT
    """z3 resource units per query: the quota that decides whether a size is proved (deterministic)."""
    smt_time_limit: float = SAFETY_NET_SECONDS
    """Seconds per z3 query: only a safety net, far above what ``smt_rlimit`` costs."""
    workers: int = 1
    """Local processes for the search streams when no backend is given; the report does not depend on it."""
    corpus: str | None = ""
    """Project corpus replayed before anything else, then the packaged one ("": ``.mtkd/corpus`` or
    ``$MTKD_CORPUS``, see :mod:`mtkd.corpus_dirs`; None: do not replay)."""
    domain: Domain = Domain.OPEN
    """Open (every teacher entry > 0) or closed (zeros allowed); see :mod:`mtkd.theorems.domain`."""
    sizes: tuple[tuple[int, int], ...] = DEFAULT_SIZES
    """``(K, V)`` sizes the search visits (``--k``, ``--v``), in coverage order."""
    temperature_range: tuple[float, float] | None = None
    """``--temperature-range LO HI``: temperatures the search draws (``None``: 1e-6..1e6)."""


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
    run: dict[str, Any] = field(default_factory=dict, compare=False)
    """Where it ran (backend, workers, notes): the one part of the JSON that may differ between
    runs with the same options, so comparisons leave it out."""

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
            **({"run": dict(self.run)} if self.run else {}),
        }


ProgressFn = Callable[[str, int, float], None]


def verify(op: Operator, options: VerifyOptions = VerifyOptions(),
           progress: ProgressFn | None = None, backend: TaskBackend | None = None) -> Report:
    """Check ``op`` against the selected properties; never raises for operator misbehaviour.

    With a ``backend`` that runs tasks elsewhere, each property is one task (the worker loads the
    operator by its spec); the report is the same as in this process.
    """
    if backend is not None and not backend.in_process:
        return verify_all([(op, options)], backend)[0]
    props = resolve(list(options.properties))
    run = backend.describe() if backend is not None else {"backend": "local", "workers": options.workers}
    return _assemble(op, options, _check_all(op, options, props, progress), run)


def _check_all(op: Operator, options: VerifyOptions, props: Sequence[Property],
               progress: ProgressFn | None) -> list[tuple[Result, str | None]]:
    """Check ``props`` in this process, one after the other, inside the run's hard ``--budget`` wall."""
    started = time.monotonic()
    checked: list[tuple[Result, str | None]] = []
    with budget.wall(options.budget):
        # Every form must be the operator before any verdict rests on one of them.
        disagreement: str | None = None
        forms_cut = False
        if any(p.needs_operator for p in props):
            try:
                disagreement = forms_problem(op)
            except budget.BudgetExhausted:
                forms_cut = True
        for prop in props:
            start = time.perf_counter()
            if disagreement is not None and prop.needs_operator:
                checked.append((forms_error(prop.id, disagreement), None))
                continue
            try:
                if forms_cut or budget.expired():
                    raise budget.BudgetExhausted()
                # The budget caps the whole run: a property may use what is left of it, so on a slow or
                # loaded machine the input quota, not an even split of seconds, still decides each search.
                left = max(0.0, options.budget - (time.monotonic() - started))
                checked.append(_check(op, prop, options, budget.clamp(left), progress))
            except budget.BudgetExhausted:
                checked.append((out_of_budget(prop.id, options.budget, time.perf_counter() - start), None))
    return checked


def forms_error(prop_id: str, disagreement: str) -> Result:
    """The verdict on a property of an operator whose forms disagree (no verdict may rest on them)."""
    return Result(prop_id, Verdict.ERROR, method="forms check", message=disagreement)


def _assemble(op: Operator, options: VerifyOptions, checked: Sequence[tuple[Result, str | None]],
              run: dict[str, Any] | None = None) -> Report:
    from mtkd.scope_marks import annotate

    return Report(op.spec, options.seed, op.capabilities, tuple(op.limitations()),
                  annotate([r for r, _ in checked], options.max_k, options.max_v),
                  tuple(alarm for _, alarm in checked if alarm),
                  {"budget": options.budget, "max_inputs": options.max_inputs, "engine": options.engine.value,
                   "max_k": options.max_k, "max_v": options.max_v, "smt_rlimit": options.smt_rlimit,
                   "domain": options.domain.value, "k": sorted({k for k, _ in options.sizes}), "v": sorted({v for _, v in options.sizes}),
                   "temperature_range": list(options.temperature_range) if options.temperature_range else None},
                  run or {})


@dataclass(frozen=True)
class _PropertyJob:
    """One operator x property check, shippable to any backend (the operator travels by spec)."""

    source: Shipped
    options: VerifyOptions


def _property_job(job: _PropertyJob) -> tuple[Result, str | None]:
    try:
        op, prop = job.source.load()
    except ShippedLoadError as exc:
        return Result(job.source.prop_id, Verdict.ERROR, method="worker", message=str(exc)), None
    # The worker's own wall: no job outlives the run's --budget (the client's wall is the net). Like
    # the first property of an in-process run, a job may use all of it: the budget is a safety cap,
    # and a smaller per-job share could end a search on a busy worker before its quota.
    start = time.perf_counter()
    with budget.wall(job.options.budget):
        try:
            return _check(op, prop, job.options, budget.remaining(), None)
        except budget.BudgetExhausted:
            return out_of_budget(prop.id, job.options.budget, time.perf_counter() - start), None


JobsDone = Callable[[int, int], None]
"""``done(finished, total)`` as property jobs complete."""


def verify_all(runs: Sequence[tuple[Operator, VerifyOptions]], backend: TaskBackend,
               done: JobsDone | None = None) -> list[Report]:
    """One :class:`Report` per ``(operator, options)``, every operator x property a task of ``backend``.

    Jobs are gathered in submission order, so the reports do not depend on the backend. An
    operator that cannot be shipped (an in-memory callable) is checked in this process, and its
    report's ``run`` block says so.
    """
    jobs: list[_PropertyJob] = []
    plans: list[tuple[Operator, VerifyOptions, list[Property], str | None, str | None]] = []
    for op, options in runs:
        props = resolve(list(options.properties))
        # Workers run their property's search in-process; a relative corpus path is the client's.
        shipped_options = replace(options, workers=1, corpus=_absolute(options.corpus))
        refs = [ship(op, prop) for prop in props]
        note = next((r for r in refs if isinstance(r, str)), None)
        disagreement = None
        if note is None and not backend.in_process:
            # The forms check runs here, once per operator, as _check_all runs it in-process: a
            # property resting on a form that is not the operator is an error, never a job.
            if any(p.needs_operator for p in props):
                with budget.wall(options.budget):
                    try:
                        disagreement = forms_problem(op)
                    except budget.BudgetExhausted:
                        pass  # the jobs' own walls then decide what the budget still allows
            jobs += [_PropertyJob(r, shipped_options) for r, p in zip(refs, props)
                     if isinstance(r, Shipped) and not (disagreement is not None and p.needs_operator)]
        plans.append((op, options, props, note, disagreement))
    finished = [0]

    def tick(i: int, _: Any) -> None:
        finished[0] += 1
        if done is not None:
            done(finished[0], len(jobs))

    results = iter(_gather(backend, jobs, tick, [r[1] for r in runs]))
    reports = []
    for op, options, props, note, disagreement in plans:
        run = backend.describe()
        if note is not None or backend.in_process:
            checked = _check_all(op, options, props, None)
            if note is not None and not backend.in_process:
                run = {"backend": "local", "workers": 1,
                       "note": f"checked in this process, not on {backend.kind.value}: {note}"}
        else:
            checked = [(forms_error(p.id, disagreement), None) if disagreement is not None and p.needs_operator
                       else next(results) for p in props]
        reports.append(_assemble(op, options, checked, run))
    return reports


def _gather(backend: TaskBackend, jobs: list[_PropertyJob], tick: Callable[[int, Any], None],
            options: Sequence[VerifyOptions]) -> list[tuple[Result, str | None]]:
    """The jobs' results in submission order, inside a hard wall of the runs' summed ``--budget``:
    jobs not finished when it falls are cancelled (the backend stops its workers) and reported
    ``unknown`` (method "budget")."""
    out: list[tuple[Result, str | None]] = []
    wall = sum(o.budget for o in options)
    start = time.perf_counter()
    try:
        with budget.wall(wall):
            for checked in backend.map(_property_job, jobs, tick):
                out.append(checked)
    except budget.BudgetExhausted:
        spent = time.perf_counter() - start
        out += [(out_of_budget(job.source.prop_id, job.options.budget, spent), None) for job in jobs[len(out):]]
    return out


def _absolute(corpus: str | None) -> str | None:
    return str(Path(corpus).resolve()) if corpus else corpus


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
                          max_inputs=max(1, int(options.max_inputs * share)), workers=options.workers, domain=options.domain,
                          sizes=options.sizes, temperature_range=options.temperature_range)
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
        provers.append(smt_backend(options.max_k, options.max_v, max(0.1, budget.clamp(options.smt_time_limit)),
                                   options.smt_rlimit))
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
