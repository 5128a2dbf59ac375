"""Counterexample search: random batches alternating with guided refinement, in seeded streams.

A search runs ``streams`` independent streams, each seeded from ``(seed, property id, stream)``.
A stream works in *steps*: one random batch from the generators, then a guided refinement
(:mod:`~mtkd.counterexamples.guided`) started from the batch's best inputs. Every input whose
float64 margin looks violated becomes a candidate, worst first, and only a candidate that
survives :mod:`~mtkd.counterexamples.certify` is reported (the guided phase's candidates count
only when the random batch gave no certified one).

**Determinism.** Every step of every stream evaluates the same number of inputs, and streams run
as *segments* of steps, each one task of a :mod:`~mtkd.counterexamples.backends` backend (this
process, a local pool, dask or Ray). Workers only report float64 candidates; the client gathers
the segments in stream order and certifies candidates in ``(step, stream)`` order, so the first
find is the lowest ``(step, stream)`` pair however the tasks were scheduled (work after the
winning step is discarded). The result is therefore identical for any backend and number of
workers; only the time budget, a safety net behind the input quota, can end a run at a
machine-dependent point (the message says which one ended it).

**Memory.** At large ``K * V`` the random batch is cut so that one step needs at most
``memory_mb`` (:func:`batch_for_memory`); that cut depends on the config only.

The winner is then *polished* (guided descent from the find, to report the worst margin seen)
and *shrunk* (:mod:`~mtkd.counterexamples.shrink`) to a minimal certified counterexample.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import cast

import numpy as np

from mtkd.errors import OperatorFailure, OperatorUndefined
from mtkd.operators import Operator
from mtkd.results import Counterexample, Result, Verdict
from mtkd.theorems import Batch, Domain, ExactPoint, Margins, Property, unstated_reason

from .backends import Backend, DoneFn
from .backends.local import LocalBackend
from .certify import Outcome, certify_candidate, strongest_certificate
from .forms import counterexample_problem
from .generators import DEFAULT_SIZES, generate
from .guided import LOG_T_RANGE, GuidedConfig, concat, refine, top
from .shipping import Shipped, ShippedLoadError, ship
from .shrink import shrink
from .undefined import TolerantProperty, UndefinedLog, undefined_message

CANDIDATE_SLACK = 1e-12
"""With a precise form, anything this close to violation is worth an exact look."""

CANDIDATES_PER_BATCH = 3

UNDEFINED_BATCHES_TO_GIVE_UP = 2
"""A stream whose first batches are undefined at every input stops with ``error`` (nothing to search)."""

@dataclass(frozen=True)
class SearchConfig:
    """How much to search and where. The result depends on these, never on ``workers``."""

    seed: int = 0
    seconds: float = 10.0
    max_inputs: int = 60_000
    """Inputs over all streams: the reproducible amount of work."""
    batch: int = 64
    sizes: tuple[tuple[int, int], ...] = DEFAULT_SIZES
    stop_at_first: bool = True
    guided: bool = True
    """Alternate random batches with guided refinement (else: random batches only)."""
    streams: int = 2
    workers: int = 1
    """Local processes running the streams when no backend is given; any value gives the same result."""
    shrink_seconds: float = 4.0
    """Time for shrinking the find to a minimal counterexample (0: keep it as found)."""
    polish: bool = True
    """Descend from the find to report the worst margin seen (``extra["worst"]``); off in benchmarks
    of the time to the first find, which polishing follows."""
    domain: Domain = Domain.OPEN
    """Which teachers the random generators draw: all positive, or with exact zeros in every input."""
    memory_mb: int = 1024
    """Peak search memory per worker the batch size is cut to at large ``K * V``
    (:func:`batch_for_memory`); the default sizes are never cut."""
    temperature_range: tuple[float, float] | None = None
    """Temperatures searched (``--temperature-range``): generated ones are clipped into it, refined
    ones stay in it. ``None``: the generators' full range, 1e-6..1e6."""


@dataclass
class SearchStats:
    inputs: int = 0
    batches: int = 0
    candidates: int = 0
    rejected: int = 0
    generators: set[str] = field(default_factory=set)
    rejected_by: dict[str, int] = field(default_factory=dict)
    """Rejected candidates per :class:`~.certify.Rejection` (by its description)."""


ProgressFn = Callable[[int, float], None]


def is_candidate(m: Margins, slack: float) -> np.ndarray:
    return (m.values < -slack) | (m.strict & (m.values <= slack))


def search_property(op: Operator, prop: Property, config: SearchConfig,
                    progress: ProgressFn | None = None,
                    batches: Callable[[np.random.Generator], Batch] | None = None,
                    backend: Backend | None = None) -> Result:
    """Search for a certified counterexample to ``prop``; the verdict is never ``proved``.

    ``batches`` replaces the random generators (a custom input distribution). A refuted result
    carries the shrunk counterexample, and in ``extra`` the worst violation found (``worst``),
    ``time_to_first_certified`` (seconds) and the input count.

    ``backend`` runs the streams (default: this process, or a local pool of ``config.workers``);
    the result is the same on every backend. Streams that cannot be shipped to workers (a custom
    ``batches``, an in-memory operator, a property outside the catalogue) run in this process.
    """
    unstated = unstated_reason(prop, config.domain)
    if unstated is not None:
        return Result(prop.id, Verdict.UNKNOWN, method="not applicable", scope=config.domain.label, message=unstated)
    if backend is None:
        with LocalBackend(config.workers) as own:
            return search_property(op, prop, config, progress, batches, own)
    start = time.monotonic()
    plan = _Plan.of(op, config, custom_batches=batches is not None)
    hunt = _hunt(op, prop, config, plan, start, progress, batches, backend)
    elapsed = time.monotonic() - start
    if hunt.error is not None:
        return Result(prop.id, Verdict.ERROR, method=plan.method, scope=_scope(config, plan),
                      message=hunt.error, seconds=elapsed)
    undefined = hunt.undefined
    undefined_note = " " + undefined_message(undefined.count, undefined.first, hunt.inputs) if undefined.count else ""
    if hunt.outcome is None and undefined.count:
        return Result(prop.id, Verdict.ERROR, method=plan.method, scope=_scope(config, plan),
                      message=f"No counterexample on the defined inputs ({hunt.inputs} inputs).{undefined_note} "
                              "Restrict the search to where the operator is defined (e.g. --temperature-range) "
                              "or make it defined there.",
                      seconds=elapsed, extra={"inputs": hunt.inputs, "undefined": undefined.count})
    if hunt.outcome is None:
        generators = sorted(hunt.generators)
        return Result(prop.id, Verdict.NOT_REFUTED, method=plan.method, scope=_scope(config, plan),
                      message=(f"{hunt.inputs} inputs ({hunt.ended_by}), generators: {', '.join(generators)}; "
                               + rejection_summary(hunt.stats.candidates, hunt.stats.rejected,
                                                   hunt.stats.rejected_by) + "."),
                      seconds=elapsed, extra={"inputs": hunt.inputs, "quota": plan.quota,
                                              "rejected_by": hunt.stats.rejected_by})
    assert hunt.outcome.counterexample is not None
    found = hunt.outcome.counterexample
    # Polishing and shrinking happen once, here on the client, for the winning find only.
    worst = (polish(op, prop, found, np.random.default_rng([config.seed, _stable_hash(prop.id), 10**6]),
                    replace(POLISH, children=min(POLISH.children, plan.batch)))
             if config.polish else found)
    minimal = found
    if config.shrink_seconds > 0:
        minimal = strongest_certificate(op, prop, shrink(op, prop, found, seconds=config.shrink_seconds))
    for cx in (found,) if minimal is found else (found, minimal):
        disagreement = counterexample_problem(op, prop, cx)
        if disagreement is not None:
            return Result(prop.id, Verdict.ERROR, method=plan.method, scope=f"at K={cx.K}, V={cx.V}",
                          message=f"{disagreement} At {cx.P}, T={cx.T}, w={cx.w}.",
                          seconds=time.monotonic() - start)
    return Result(prop.id, Verdict.REFUTED, certified=minimal.certified, method=plan.method,
                  scope=f"found at K={found.K}, V={found.V}; shown shrunk to K={minimal.K}, V={minimal.V}",
                  counterexample=minimal,
                  message=f"{minimal.explanation} Found after {hunt.inputs} inputs; "
                          f"{hunt.stats.rejected} round-off candidates rejected.{undefined_note}",
                  seconds=time.monotonic() - start,
                  extra={"inputs": hunt.inputs, "time_to_first": round(hunt.found_at, 3),
                         "time_to_first_certified": round(hunt.found_at, 3) if found.certified else None,
                         "found_size": [found.K, found.V], "worst": worst.to_json(),
                         **({"undefined": undefined.count} if undefined.count else {})})


MEMORY_FACTOR = 10
"""Peak bytes per teacher entry of a batch, in float64 words: the inputs, the generators' and the
guided refinement's intermediates, temperature-scaled copies, pools and the property's arrays.
Measured for geometric / thm-IV.7 at K = 8 (``bench/distributed.md``): a step peaks at 8.8 words per
entry above the process baseline (V = 131072, batch 12 and 16; V = 32768, batch 51)."""

MIN_BATCH = 4
"""The smallest random batch (the guided refinement keeps 4 parents)."""


def batch_for_memory(batch: int, sizes: tuple[tuple[int, int], ...], memory_mb: int) -> int:
    """The random batch size: ``batch``, cut so that ``N * K * V * 8 * MEMORY_FACTOR <= memory_mb`` MB.

    Only large ``K * V`` is cut (the default sizes never are); the cut depends on the config
    alone, so every backend and worker count runs the same steps.

    >>> batch_for_memory(64, ((3, 64),), 1024)
    64
    >>> batch_for_memory(64, ((8, 131072),), 1024)
    12
    """
    entries = max(k * v for k, v in sizes)
    fits = (memory_mb << 20) // (entries * 8 * MEMORY_FACTOR)
    return max(MIN_BATCH, min(batch, int(fits)))


SINGLE_INPUT_MIN_BATCH = 8
"""The smallest random batch of a single-input form (short searches: 2 steps per stream at 300 inputs)."""


def _guided(batch: int, log_t_range: tuple[float, float] = LOG_T_RANGE, single_input: bool = False) -> GuidedConfig:
    """A step's refinement: 8 generations of ``batch / 4`` children per parent. A single-input form gets 4
    generations of ``batch / 2``: the same inputs in half the margin calls, each of which costs exchanges
    with the operator's worker and the tool's per-batch work, the bulk of its time at these small batches."""
    if single_input:
        return GuidedConfig(parents=4, children=max(2, batch // 2), generations=4, log_t_range=log_t_range)
    return GuidedConfig(parents=4, children=max(2, batch // 4), generations=8, log_t_range=log_t_range)


def _step_inputs(batch: int, guided: GuidedConfig | None) -> int:
    return batch + (guided.inputs() if guided else 0)


def _single_input_batch(config: SearchConfig) -> int:
    """The random batch of a single-input form: halved from ``config.batch`` until the quota
    covers a step at every size (at the default 6000 inputs over 30 sizes: 16)."""
    streams = max(1, config.streams)
    steps_needed = -(-len(config.sizes) // streams)
    batch = config.batch
    while batch > SINGLE_INPUT_MIN_BATCH:
        step = _step_inputs(batch, _guided(batch, single_input=True) if config.guided else None)
        if step * streams * steps_needed <= config.max_inputs:
            break
        batch //= 2
    return max(batch, SINGLE_INPUT_MIN_BATCH)


@dataclass(frozen=True)
class _Plan:
    """The per-step shape of a search, identical in every stream.

    ``max_inputs`` is a hard quota: ``steps`` full steps (a random batch plus a guided
    refinement) in each of ``streams`` streams, then one random-only ``tail`` step of what is
    left; a quota below one full step is spent on random inputs alone.
    """

    batch: int
    guided: GuidedConfig | None
    steps: int
    quota: int
    """Inputs per property: ``max_inputs``."""
    streams: int = 1
    tail: int = 0
    """Inputs of the final random-only step in each stream (0: none)."""
    probe: int = 0
    """Inputs of each stream's opening probe (0: none), drawn from a generator of its own."""

    @classmethod
    def of(cls, op: Operator, config: SearchConfig, custom_batches: bool = False) -> _Plan:
        # A single-input form costs one exchange with its worker per batch plus the tool's own
        # per-batch work (margins, refinement), whatever the batch size: it gets the largest batch
        # (up to the batched forms' one) whose steps still visit every size within the quota.
        batch = config.batch if op.batched_func is not None else _single_input_batch(config)
        batch = batch_for_memory(batch, config.sizes, config.memory_mb)
        quota = config.max_inputs
        guided = None
        if config.guided:
            lo, hi = LOG_T_RANGE
            if config.temperature_range is not None:
                a, b = np.log(config.temperature_range[0]), np.log(config.temperature_range[1])
                lo, hi = (max(lo, a), min(hi, b)) if max(lo, a) <= min(hi, b) else (a, b)
            guided = _guided(batch, (lo, hi), single_input=op.batched_func is None)
        streams = max(1, min(config.streams, quota))
        step = _step_inputs(batch, guided)
        # A few inputs first: where most inputs violate (the easy pairs), one large batch at
        # V = 10,000 costs more than finding and certifying a counterexample in a handful. Not for a
        # single-input form (its small batches are planned to visit every size within the quota).
        probe = (PROBE_INPUTS if op.batched_func is not None and not custom_batches
                 and quota >= streams * (PROBE_INPUTS + step) else 0)
        steps, rest = divmod(quota - probe * streams, step * streams)
        return cls(batch, guided, steps, quota, streams, rest // streams, probe)

    @property
    def total_steps(self) -> int:
        return self.steps + (1 if self.tail else 0)

    def per_step(self) -> str:
        return f"up to {self.quota} inputs"

    @property
    def step_inputs(self) -> int:
        return self.batch + (self.guided.inputs() if self.guided else 0)

    def inputs_after(self, steps: int) -> int:
        """Inputs one stream has evaluated after its probe and first ``steps`` steps (``-1``: nothing yet)."""
        if steps < 0:
            return 0
        return self.probe + min(steps, self.steps) * self.step_inputs + (self.tail if steps > self.steps else 0)

    @property
    def method(self) -> str:
        return "search (random + guided)" if self.guided else "search (random)"


# ---- streams as tasks ---------------------------------------------------------------------------
#
# A stream is a seeded sequence of steps. Its state (generator, archive of elites, counters) is a
# plain picklable object, so a stream runs as a series of *segments*, each one task on whatever
# backend: all streams run steps [a, b), the client gathers the segments in stream order, and
# certifies the float64 candidates they report in (step, stream) order. The first candidate that
# certifies (or the first operator error) wins; the next segment is only started if none did.
# Workers never certify: certification, polishing and shrinking happen once, on the client.


@dataclass(frozen=True)
class _Phase:
    """The float64 candidates of one batch: how many there were, and the worst few to certify."""

    count: int
    P: np.ndarray
    T: np.ndarray
    w: np.ndarray
    worst: Margins
    """The margins and witnesses of these candidates, as arrays: a witness is written out (a student
    of V decimal strings, say) only for a candidate the client examines, not in the worker."""


@dataclass(frozen=True)
class _StepReport:
    """A step that needs the client's attention: candidates (random phase, then guided), or an error."""

    step: int
    phases: tuple[_Phase, ...]
    error: str | None = None
    first_phase: int = 0
    """0 when ``phases`` starts with the random batch; 1 for a guided phase that ran in a later segment."""
    guided_pending: bool = False
    """The step's guided phase was deferred: its random batch has candidates, which the client certifies first."""

    @property
    def order(self) -> tuple[int, int]:
        return self.step, self.first_phase


@dataclass
class _StreamState:
    """Everything a stream carries from one segment to the next."""

    index: int
    rng: np.random.Generator
    archive: _Archive | None
    steps: int = 0
    best: float = np.inf
    generators: set[str] = field(default_factory=set)
    stopped: bool = False
    """Ended by an operator error: no further steps."""
    probed: bool = False
    """The opening probe (``_Plan.probe``) has run."""
    guided_pending: bool = False
    """The guided phase of step ``steps - 1`` is still to run (see ``_StepReport.guided_pending``)."""
    last_size: tuple[int, int] = (0, 0)
    """The size ``(K, V)`` of that step, where its guided phase resumes."""
    undefined: UndefinedLog = field(default_factory=UndefinedLog)
    """Inputs at which the operator was undefined (NaN, inf, exception); the search went on."""
    defined_seen: bool = False


@dataclass(frozen=True)
class _Segment:
    """One task: run ``state``'s stream up to step ``until`` (or until ``seconds`` are spent)."""

    source: Shipped | tuple[Operator, Property]
    config: SearchConfig
    plan: _Plan
    state: _StreamState
    until: int
    seconds: float
    batches: Callable[[np.random.Generator], Batch] | None = None


@dataclass(frozen=True)
class _SegmentEnd:
    state: _StreamState
    reports: tuple[_StepReport, ...]
    load_error: str | None = None
    paused: bool = False
    """Ended early so that the client certifies candidates first (the probe's, or a step's random batch)."""


SEGMENT_MAX_STEPS = 16
"""Segments grow 1, 2, 4, ... steps up to this: early finds stop fast, long hunts pay little
per-task overhead. The segment length never changes results, only how much work after the
winning step is discarded."""


def _run_segment(task: _Segment) -> _SegmentEnd:
    """Worker side: advance one stream; report candidates and errors, certify nothing."""
    try:
        op, prop = task.source.load() if isinstance(task.source, Shipped) else task.source
    except ShippedLoadError as exc:
        return _SegmentEnd(task.state, (), str(exc))
    state, plan, config = task.state, task.plan, task.config
    slack = candidate_slack(op)
    tolerant = TolerantProperty(prop, state.undefined)
    began = time.monotonic()
    reports = []
    if plan.probe and not state.probed:
        state.probed = True
        probe = _probe(op, cast(Property, tolerant), config, plan, state, slack)
        if isinstance(probe, str):
            state.stopped = True
            return _SegmentEnd(state, (_StepReport(PROBE_STEP, (), probe),))
        if probe is not None:
            return _SegmentEnd(state, (probe,), paused=True)  # candidates: the client certifies them first
    while state.guided_pending or (state.steps < task.until and not state.stopped
                                   and time.monotonic() - began <= task.seconds):
        if state.guided_pending:
            # The random batch of this step had candidates and none certified: now its guided phase,
            # with the generator exactly where the step left it (same draws as without the pause).
            state.guided_pending = False
            step = state.steps - 1
            assert state.archive is not None, "only a guided stream defers a guided phase"
            try:
                y, my = state.archive.refine(op, cast(Property, tolerant), state.rng, state.last_size, step % 2 == 0)
            except OperatorUndefined:
                reports.append(_StepReport(step, (), first_phase=1))  # always answered: the client waits for it
                continue
            except OperatorFailure as failure:
                state.stopped = True
                reports.append(_StepReport(step, (), str(failure), first_phase=1))
                break
            state.best = min(state.best, _finite_min(my))
            reports.append(_StepReport(step, (_candidates(y, my, slack),), first_phase=1))
            continue
        step = state.steps
        full = step < plan.steps
        K, V = config.sizes[(state.index + step * plan.streams) % len(config.sizes)]
        state.steps += 1
        phases = []
        try:
            x = task.batches(state.rng) if task.batches is not None else generate(state.rng, plan.batch if full else plan.tail, K, V,
                                                                                  config.domain)
            x = _in_temperature_range(x, config.temperature_range)
            state.generators.add(x.generator.split("/")[0])
            try:
                m = tolerant.margins(op, x, state.rng)
            except OperatorUndefined as failure:
                if not state.defined_seen and state.steps >= UNDEFINED_BATCHES_TO_GIVE_UP:
                    raise OperatorFailure(f"{failure} (undefined at every input of the first {state.steps} "
                                          "batches: the search stopped)", failure.inputs) from None
                continue  # the whole batch undefined (recorded): on to the next one
            state.defined_seen = True
            state.best = min(state.best, _finite_min(m))
            phases.append(_candidates(x, m, slack))
            if state.archive is not None and full:  # the tail step is random-only
                state.archive.add(x, m)
                if phases[0].count:
                    # Candidates already: the client certifies them before the guided phase is paid
                    # for (at V = 10,000 it costs several random batches). Draws and results are
                    # the same; only the task boundary moves.
                    state.guided_pending, state.last_size = True, x.shape[1:]
                    reports.append(_StepReport(step, tuple(phases), guided_pending=True))
                    break
                try:
                    # TolerantProperty stands in for the property it wraps (attribute proxy).
                    y, my = state.archive.refine(op, cast(Property, tolerant), state.rng, x.shape[1:],
                                                 step % 2 == 0)
                except OperatorUndefined:
                    continue
                state.best = min(state.best, _finite_min(my))
                phases.append(_candidates(y, my, slack))
        except OperatorFailure as failure:
            state.stopped = True
            reports.append(_StepReport(step, tuple(phases), str(failure)))
            break
        if any(p.count for p in phases):
            reports.append(_StepReport(step, tuple(phases)))
    return _SegmentEnd(state, tuple(reports), paused=state.guided_pending)


PROBE_INPUTS = 4
PROBE_STEP = -1
"""The probe's place in the (step, stream) order: before every step."""


def _probe(op: Operator, prop: Property, config: SearchConfig, plan: _Plan, state: _StreamState,
           slack: float) -> _StepReport | str | None:
    """A stream's opening probe at its first size: a report if it has candidates, an error text, or None.

    Its generator is its own (seeded like the stream, plus a tag), so the stream's steps draw
    exactly what they would without it.
    """
    K, V = config.sizes[state.index % len(config.sizes)]
    rng = np.random.default_rng([config.seed, _stable_hash(prop.id), state.index, 1])
    try:
        x = _in_temperature_range(generate(rng, plan.probe, K, V, config.domain), config.temperature_range)
        m = prop.margins(op, x, rng)
    except OperatorUndefined:
        return None  # recorded by the tolerant property; the steps go on
    except OperatorFailure as failure:
        return str(failure)
    state.best = min(state.best, _finite_min(m))
    state.generators.add(x.generator.split("/")[0])
    phase = _candidates(x, m, slack)
    return _StepReport(PROBE_STEP, (phase,)) if phase.count else None


def _candidates(x: Batch, m: Margins, slack: float) -> _Phase:
    idx = np.flatnonzero(is_candidate(m, slack))
    worst = idx[np.argsort(m.values[idx], kind="stable")][:CANDIDATES_PER_BATCH]
    return _Phase(len(idx), x.P[worst].copy(), x.T[worst].copy(), x.w[worst].copy(), m.take(worst))


@dataclass
class _Hunt:
    """What the client learnt from the streams."""

    stats: SearchStats
    inputs: int = 0
    outcome: Outcome | None = None
    error: str | None = None
    found_at: float = 0.0
    ended_by: str = "input quota"
    generators: set[str] = field(default_factory=set)
    undefined: UndefinedLog = field(default_factory=UndefinedLog)


def _hunt(op: Operator, prop: Property, config: SearchConfig, plan: _Plan, start: float,
          progress: ProgressFn | None, batches: Callable[[np.random.Generator], Batch] | None,
          backend: Backend) -> _Hunt:
    shipped = ship(op, prop)
    local = backend.in_process or batches is not None or not isinstance(shipped, Shipped)
    if local and not backend.in_process:
        backend = LocalBackend(1)  # not shippable: run here (the result is the same, only slower)
    source: Shipped | tuple[Operator, Property] = (op, prop) if local else shipped  # type: ignore[assignment]
    states = [_StreamState(i, np.random.default_rng([config.seed, _stable_hash(prop.id), i]),
                           _Archive(plan.guided) if plan.guided is not None else None)
              for i in range(plan.streams)]
    hunt = _Hunt(SearchStats())
    kept: tuple[tuple[int, int], int, int, Outcome] | None = None  # (rank, step, stream, outcome)
    held: list[tuple[int, int, int, _StepReport]] = []  # events waiting for a deferred guided phase
    awaiting: tuple[int, int] | None = None  # (step, stream) of that phase
    stepped = [0] * plan.streams
    best = [np.inf]
    length = 1
    while True:
        live = [s for s in states if not s.stopped and (s.steps < plan.total_steps or s.guided_pending)]
        if not live:
            break
        left = config.seconds - (time.monotonic() - start)
        if left <= 0:
            hunt.ended_by = "time budget"
            break
        until = min(plan.total_steps, max(s.steps for s in live) + length)
        length = min(2 * length, SEGMENT_MAX_STEPS)
        tasks = [_Segment(source, config, plan, s, until, left, batches) for s in live]

        def done(i: int, end: _SegmentEnd, live: list[_StreamState] = live) -> None:
            stepped[live[i].index] = end.state.steps
            best[0] = min(best[0], end.state.best)
            if progress is not None:
                progress(sum(plan.inputs_after(n) for n in stepped), best[0])

        if backend.in_process and config.stop_at_first:
            tasks, ends = _in_turn(tasks, done)
        else:
            ends = list(backend.map(_run_segment, tasks, done))
        for task, end in zip(tasks, ends):
            if end.load_error is not None:
                hunt.error = end.load_error
                return hunt
            states[end.state.index] = end.state
            if end.state.steps < task.until and not end.state.stopped and not end.paused:
                hunt.ended_by = "time budget"
        # Examined in (step, stream, phase) order. A random batch whose guided phase was deferred
        # holds back every later event until that phase has come in and been examined, so the
        # order (and the winner) is the one of streams that never pause.
        events = sorted(held + [(r.step, e.state.index, r.first_phase, r) for e in ends for r in e.reports],
                        key=lambda t: t[:3])
        held = []
        for n, (step, index, _, report) in enumerate(events):
            if kept is not None and config.stop_at_first and awaiting != (step, index):
                break
            if report.first_phase == 1 and awaiting == (step, index):
                awaiting = None
            error = report.error
            try:
                outcome = _examine(op, prop, report, hunt.stats)
            except OperatorFailure as failure:  # the precise form misbehaved while certifying
                outcome, error = None, str(failure)
            if error is not None and outcome is None:
                if kept is None:
                    hunt.error = error
                    _count_inputs(hunt, states, plan, (step, index))
                    return hunt
                continue
            if outcome is not None:
                if kept is None:
                    hunt.found_at = time.monotonic() - start
                rank = _rank(outcome)
                if kept is None or rank < kept[0]:
                    kept = (rank, step, index, outcome)
            if report.guided_pending and not (outcome is not None and _rank(outcome)[0] == 0):
                awaiting, held = (step, index), events[n + 1:]
                break
        if kept is not None and config.stop_at_first and awaiting is None:
            break
        if hunt.ended_by == "time budget":
            break
    for s in states:
        hunt.generators |= s.generators
        hunt.undefined.merge(s.undefined.count, s.undefined.first)
    if kept is not None:
        hunt.outcome = kept[3]
        _count_inputs(hunt, states, plan, (kept[1], kept[2]) if config.stop_at_first else None)
    else:
        _count_inputs(hunt, states, plan, None)
    return hunt


def _in_turn(tasks: list[_Segment], done: DoneFn) -> tuple[list[_Segment], list[_SegmentEnd]]:
    """In-process segments, one stream after the other: the segments as they ran, and their ends.

    Events are examined in (step, stream) order and, with ``stop_at_first``, the first error or
    certified find ends the hunt (a later error is never examined), so once stream
    ``i`` reports an error at step ``s``, a later stream's steps from ``s`` on cannot matter: it runs
    only the steps before ``s`` (nothing at all, not even its probe, after an error in a probe).
    The events before the error, and the input counts up to it, are those of a run without the
    cut (and of any --workers): an operator that hangs or exits costs one failure per property,
    not one per stream.
    """
    ran: list[_Segment] = []
    ends: list[_SegmentEnd] = []
    cut: int | None = None
    for i, task in enumerate(tasks):
        if cut is not None:
            task = replace(task, until=min(task.until, cut))
        end = _SegmentEnd(task.state, ()) if cut == PROBE_STEP else _run_segment(task)
        errors = [r.step for r in end.reports if r.error is not None]
        cut = min([*errors, *([] if cut is None else [cut])], default=None)
        done(i, end)
        ran.append(task)
        ends.append(end)
    return ran, ends


def _examine(op: Operator, prop: Property, report: _StepReport, stats: SearchStats) -> Outcome | None:
    """Certify a step's candidates as the stream itself would have: the guided phase only if the
    random batch gave no certified counterexample."""
    found: Outcome | None = None
    for phase in report.phases:
        found = _best(found, _certify_phase(op, prop, phase, stats))
        if found is not None and found.counterexample is not None and found.counterexample.certified:
            break
    return found


def _count_inputs(hunt: _Hunt, states: list[_StreamState], plan: _Plan, winner: tuple[int, int] | None) -> None:
    """Inputs evaluated up to the winning (step, stream) in round-robin order (all of them if none won)."""
    if winner is None:
        hunt.inputs = sum(plan.inputs_after(s.steps) for s in states)
        return
    step, index = winner
    hunt.inputs = sum(plan.inputs_after(min(s.steps, step + (1 if s.index <= index else 0))) for s in states)


class _Archive:
    """The best inputs seen so far for each size, with their step sizes: refinement resumes there.

    A step's guided phase resumes either the current size's descent or the descent of the size
    whose elites are closest to a violation, instead of restarting from scratch.
    """

    def __init__(self, config: GuidedConfig) -> None:
        self.config = config
        self.elites: dict[tuple[int, int], tuple[Batch, Margins, np.ndarray]] = {}

    def add(self, x: Batch, m: Margins) -> None:
        size = x.shape[1:]
        fresh = np.full(len(x.P), self.config.sigma)
        if size in self.elites:
            ex, em, es = self.elites[size]
            x, m = concat((ex, em), (x, m))
            fresh = np.concatenate([es, fresh])
        order = np.argsort(np.where(np.isfinite(m.values), m.values, np.inf), kind="stable")[: self.config.parents]
        y, my = top(x, m, self.config.parents)
        self.elites[size] = (y, my, fresh[order])

    def refine(self, op: Operator, prop: Property, rng: np.random.Generator,
               current: tuple[int, int], explore: bool) -> tuple[Batch, Margins]:
        # Alternate: resume the current size, or the size closest to a violation. The latter
        # alone would favour large V for margins that are a minimum over tokens (~1/V). Dict
        # order is insertion order, so ties go to the size seen first: deterministic.
        size = current if explore else min(self.elites, key=lambda s: _finite_min(self.elites[s][1]))
        x, m, sigma = self.elites[size]
        y, my, sigma = refine(op, prop, x, m, rng, self.config, sigma)
        self.elites[size] = (y, my, sigma)
        return y, my




# ---- candidates ---------------------------------------------------------------------------------

def _finite_min(m: Margins) -> float:
    v = m.values[np.isfinite(m.values)]
    return float(v.min()) if len(v) else np.inf


def _rank(o: Outcome) -> tuple[int, int]:
    cx = o.counterexample
    assert cx is not None
    return (0 if cx.certified else 1, cx.K * cx.V)


def _best(a: Outcome | None, b: Outcome | None) -> Outcome | None:
    if a is None or b is None:
        return a or b
    return b if _rank(b) < _rank(a) else a


def _certify_phase(op: Operator, prop: Property, phase: _Phase, stats: SearchStats) -> Outcome | None:
    """The first certified candidate of a batch, worst margin first (else an uncertified one, if any)."""
    if phase.count == 0:
        return None
    stats.candidates += phase.count
    fallback = None
    for n, margin in enumerate(phase.worst.values.tolist()):
        outcome = certify_candidate(op, prop, phase.P[n], phase.T[n], phase.w[n], phase.worst.witness_at(n), margin)
        if outcome.counterexample is None:
            stats.rejected += 1
            assert outcome.rejection is not None, "a rejected candidate always says why"
            why = outcome.rejection.value
            stats.rejected_by[why] = stats.rejected_by.get(why, 0) + 1
        elif outcome.counterexample.certified:
            return outcome
        elif fallback is None:
            fallback = outcome
    return fallback


def rejection_summary(candidates: int, rejected: int, by: dict[str, int]) -> str:
    """``"3 float64 candidates, 3 examined and rejected as round-off: 2 by ..., 1 by ..."``.

    >>> rejection_summary(0, 0, {})
    'no float64 candidates'
    >>> rejection_summary(5, 3, {"interval arithmetic (margin certified >= 0)": 3})
    '5 float64 candidates, 3 examined (the others were beyond the per-batch limit), all rejected: 3 by interval arithmetic (margin certified >= 0)'
    """
    if candidates == 0:
        return "no float64 candidates"
    examined = (f"{rejected} examined (the others were beyond the per-batch limit)" if rejected < candidates
                else "all examined")
    parts = ", ".join(f"{n} by {why}" for why, n in sorted(by.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{candidates} float64 candidates, {examined}, all rejected" + (f": {parts}" if parts else "")


POLISH = GuidedConfig(parents=1, children=32, generations=12)
"""The descent from a find (children cut to the search's batch at large ``K * V``)."""


def polish(op: Operator, prop: Property, cx: Counterexample, rng: np.random.Generator,
           config: GuidedConfig = POLISH) -> Counterexample:
    """Guided descent from a find; the most violated certified point seen (``cx`` if none beats it)."""
    P, T, w = ExactPoint.from_strings(cx.P, cx.T, cx.w).floats()
    x = Batch(P[None], T[None], w[None], "polish")
    try:
        m = prop.margins(op, x, rng)
        y, my, _ = refine(op, prop, x, m, rng, config)
    except OperatorFailure:
        return cx
    if not my.values[0] < m.values[0]:
        return cx
    slack = candidate_slack(op)
    try:
        found = _certify_phase(op, prop, _candidates(y, my, slack), SearchStats())
    except OperatorFailure:
        return cx  # polishing only reports a worse margin; a failure there must not lose the find
    if found is None or found.counterexample is None or found.counterexample.certified < cx.certified:
        return cx
    return found.counterexample if margin_value(found.counterexample) < margin_value(cx) else cx


def margin_value(cx: Counterexample) -> float:
    """The margin as a float: an enclosure's upper end (``[lo, hi]``) or the plain number."""
    text = cx.margin.strip()
    if text.startswith("["):
        text = text.strip("[]").split(",")[-1]
    try:
        return float(text)
    except ValueError:
        return float("nan")


def candidate_slack(op: Operator) -> float:
    """How close to violation a float margin must come to be examined.

    With a precise form, anything within round-off of zero is worth an exact look. Without one,
    any negative (or, for a strict statement, zero) margin is examined: the operator's own
    measured error decides (:mod:`.float_evidence`), not a fixed bound.
    """
    return CANDIDATE_SLACK if op.precise_func is not None else 0.0


def _in_temperature_range(x: Batch, t_range: tuple[float, float] | None) -> Batch:
    if t_range is None:
        return x
    return Batch(x.P, np.clip(x.T, *t_range), x.w, x.generator)


def sizes_reached(config: SearchConfig, plan: _Plan) -> list[tuple[int, int]]:
    """The ``(K, V)`` sizes the streams visit within the quota (stream i, step s: size i + s * streams)."""
    n = min(len(config.sizes), plan.steps * config.streams)
    return [config.sizes[j] for j in range(n)]


def _scope(config: SearchConfig, plan: _Plan) -> str:
    reached = sizes_reached(config, plan)
    ks = sorted({k for k, _ in reached})
    vs = sorted({v for _, v in reached})
    temps = ("" if config.temperature_range is None
             else f", T in [{config.temperature_range[0]:g}, {config.temperature_range[1]:g}]")
    partial = "" if len(reached) == len(config.sizes) else f" ({len(reached)} of {len(config.sizes)} sizes within the quota)"
    return (f"{config.domain.label}, K in {{{', '.join(map(str, ks))}}}, V in {{{', '.join(map(str, vs))}}}{partial}"
            f"{temps}, float search, {plan.per_step()}, seed {config.seed}")


def _stable_hash(text: str) -> int:
    # Python's hash() is salted per process; the seed must mean the same thing in every run.
    h = 0
    for ch in text.encode():
        h = (h * 131 + ch) % (2**31)
    return h

