"""Counterexample search: random batches alternating with guided refinement, in seeded streams.

A search runs ``streams`` independent streams, each seeded from ``(seed, property id, stream)``.
A stream works in *steps*: one random batch from the generators, then (unless that batch already
gave a certified counterexample) a guided refinement (:mod:`~mtkd.counterexamples.guided`)
started from the batch's best inputs. Every input whose float64 margin looks violated becomes a
candidate, worst first, and only a candidate that survives
:mod:`~mtkd.counterexamples.certify` is reported.

**Determinism.** Every step of every stream evaluates the same number of inputs, so the first
find is the lowest ``(step, stream)`` pair whichever way the streams are scheduled: one process
runs them round-robin, ``workers > 1`` processes run them side by side (work after the winning
step is discarded). The result is therefore identical for any number of workers; only the time
budget, a safety net behind the input quota, can end a run at a machine-dependent point (the
message says which one ended it).

The winner is then *polished* (guided descent from the find, to report the worst margin seen)
and *shrunk* (:mod:`~mtkd.counterexamples.shrink`) to a minimal certified counterexample.
"""

from __future__ import annotations

import multiprocessing
import pickle
import queue
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Generator

import numpy as np

from mtkd.errors import OperatorFailure
from mtkd.operators import Operator
from mtkd.results import Counterexample, Result, Verdict
from mtkd.theorems import Batch, Domain, ExactPoint, Margins, Property, unstated_reason

from .certify import Outcome, certify_candidate, strongest_certificate
from .generators import DEFAULT_SIZES, generate
from .guided import GuidedConfig, concat, refine, top
from .shrink import shrink

CANDIDATE_SLACK = 1e-12
"""With a precise form, anything this close to violation is worth an exact look."""

CANDIDATES_PER_BATCH = 3


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
    """Processes running the streams; any value gives the same result."""
    shrink_seconds: float = 4.0
    """Time for shrinking the find to a minimal counterexample (0: keep it as found)."""
    polish: bool = True
    """Descend from the find to report the worst margin seen (``extra["worst"]``); off in benchmarks
    of the time to the first find, which polishing follows."""
    domain: Domain = Domain.OPEN
    """Which teachers the random generators draw: all positive, or with exact zeros in every input."""


@dataclass
class SearchStats:
    inputs: int = 0
    batches: int = 0
    candidates: int = 0
    rejected: int = 0
    generators: set[str] = field(default_factory=set)
    rejected_by: dict[str, int] = field(default_factory=dict)
    """Rejected candidates per :class:`~.certify.Rejection` (by its description)."""


@dataclass(frozen=True)
class StreamEnd:
    """How one stream ended: at a find or error (``step`` set), or with its quota or time spent."""

    index: int
    steps: int
    step: int | None
    outcome: Outcome | None
    error: str | None
    elapsed: float
    best: float
    candidates: int
    rejected: int
    generators: frozenset[str]
    ended_by: str
    rejected_by: tuple[tuple[str, int], ...] = ()


ProgressFn = Callable[[int, float], None]


def is_candidate(m: Margins, slack: float) -> np.ndarray:
    return (m.values < -slack) | (m.strict & (m.values <= slack))


def search_property(op: Operator, prop: Property, config: SearchConfig,
                    progress: ProgressFn | None = None,
                    batches: Callable[[np.random.Generator], Batch] | None = None) -> Result:
    """Search for a certified counterexample to ``prop``; the verdict is never ``proved``.

    ``batches`` replaces the random generators (a custom input distribution). A refuted result
    carries the shrunk counterexample, and in ``extra`` the worst violation found (``worst``),
    ``time_to_first_certified`` (seconds) and the input count.
    """
    unstated = unstated_reason(prop, config.domain)
    if unstated is not None:
        return Result(prop.id, Verdict.UNKNOWN, method="not applicable", scope=config.domain.label, message=unstated)
    start = time.monotonic()
    plan = _Plan.of(op, config)
    ends = _run_streams(op, prop, config, plan, start, progress, batches)
    winner = min((e for e in ends if e.step is not None), key=lambda e: (e.step, e.index), default=None)
    if config.stop_at_first or winner is None or winner.error is not None:
        inputs = plan.inputs_until(winner, ends)
    else:
        inputs = sum(plan.inputs_after(e.steps) for e in ends)
        kept = [(e, e.outcome) for e in ends if e.outcome is not None]
        winner = min(kept, key=lambda pair: (_rank(pair[1]), pair[0].index))[0]
    elapsed = time.monotonic() - start
    if winner is not None and winner.error is not None:
        return Result(prop.id, Verdict.ERROR, method=plan.method, scope=_scope(config),
                      message=winner.error, seconds=elapsed)
    candidates = sum(e.candidates for e in ends)
    rejected = sum(e.rejected for e in ends)
    if winner is None:
        ended_by = "time budget" if any(e.ended_by == "time budget" for e in ends) else "input quota"
        generators = sorted({g for e in ends for g in e.generators})
        by: dict[str, int] = {}
        for e in ends:
            for why, n in e.rejected_by:
                by[why] = by.get(why, 0) + n
        return Result(prop.id, Verdict.NOT_REFUTED, method=plan.method, scope=_scope(config),
                      message=(f"{inputs} inputs ({ended_by}), generators: {', '.join(generators)}; "
                               + rejection_summary(candidates, rejected, by) + "."),
                      seconds=elapsed, extra={"inputs": inputs, "rejected_by": by})
    assert winner.outcome is not None and winner.outcome.counterexample is not None
    found = winner.outcome.counterexample
    worst = (polish(op, prop, found, np.random.default_rng([config.seed, _stable_hash(prop.id), 10**6]))
             if config.polish else found)
    minimal = found
    if config.shrink_seconds > 0:
        minimal = strongest_certificate(op, prop, shrink(op, prop, found, seconds=config.shrink_seconds))
    return Result(prop.id, Verdict.REFUTED, certified=minimal.certified, method=plan.method,
                  scope=f"found at K={found.K}, V={found.V}; shown shrunk to K={minimal.K}, V={minimal.V}",
                  counterexample=minimal,
                  message=f"{minimal.explanation} Found after {inputs} inputs; "
                          f"{rejected} round-off candidates rejected.",
                  seconds=time.monotonic() - start,
                  extra={"inputs": inputs, "time_to_first": round(winner.elapsed, 3),
                         "time_to_first_certified": round(winner.elapsed, 3) if found.certified else None,
                         "found_size": [found.K, found.V], "worst": worst.to_json()})


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
    streams: int = 1
    tail: int = 0
    """Inputs of the final random-only step in each stream (0: none)."""

    @classmethod
    def of(cls, op: Operator, config: SearchConfig) -> "_Plan":
        # A per-input operator is called in a Python loop: smaller batches keep steps short.
        batch = config.batch if op.batched_func is not None else max(4, config.batch // 8)
        guided = None
        if config.guided:
            guided = GuidedConfig(parents=4, children=max(2, batch // 4), generations=8)
        streams = max(1, min(config.streams, config.max_inputs))
        step = batch + (guided.inputs() if guided else 0)
        steps, rest = divmod(config.max_inputs, step * streams)
        return cls(batch, guided, steps, streams, rest // streams)

    @property
    def total_steps(self) -> int:
        return self.steps + (1 if self.tail else 0)

    @property
    def step_inputs(self) -> int:
        return self.batch + (self.guided.inputs() if self.guided else 0)

    def inputs_after(self, steps: int) -> int:
        """Inputs one stream has evaluated after its first ``steps`` steps."""
        return min(steps, self.steps) * self.step_inputs + (self.tail if steps > self.steps else 0)

    @property
    def method(self) -> str:
        return "search (random + guided)" if self.guided else "search (random)"

    def inputs_until(self, winner: StreamEnd | None, ends: list[StreamEnd]) -> int:
        """Inputs evaluated up to the winning step in round-robin order (all of them if none won)."""
        if winner is None:
            return sum(self.inputs_after(e.steps) for e in ends)
        assert winner.step is not None
        return sum(self.inputs_after(min(e.steps, winner.step + (1 if e.index <= winner.index else 0)))
                   for e in ends)


def _stream(op: Operator, prop: Property, config: SearchConfig, plan: _Plan, index: int, start: float,
            batches: Callable[[np.random.Generator], Batch] | None) -> Generator[tuple[float, StreamEnd | None], None, None]:
    """Run one stream step by step; yields the step's best margin, and the end record when done."""
    rng = np.random.default_rng([config.seed, _stable_hash(prop.id), index])
    stats = SearchStats()
    slack = CANDIDATE_SLACK if op.precise_func is not None else prop.float_bound
    best_margin = np.inf
    kept: tuple[int, float, Outcome] | None = None
    archive = _Archive(plan.guided) if plan.guided is not None else None

    def end(step: int | None, outcome: Outcome | None, error: str | None, ended_by: str, at: float) -> StreamEnd:
        return StreamEnd(index, stats.batches, step, outcome, error, at, best_margin, stats.candidates,
                         stats.rejected, frozenset(stats.generators), ended_by, tuple(sorted(stats.rejected_by.items())))

    for step in range(plan.total_steps):
        if time.monotonic() - start > config.seconds:
            break
        full = step < plan.steps
        K, V = config.sizes[(index + step * plan.streams) % len(config.sizes)]
        stats.batches += 1
        try:
            x = batches(rng) if batches is not None else generate(rng, plan.batch if full else plan.tail, K, V, config.domain)
            stats.generators.add(x.generator.split("/")[0])
            m = prop.margins(op, x, rng)
            best_margin = min(best_margin, _finite_min(m))
            found = _certify_batch(op, prop, x, m, slack, stats)
            certified = found is not None and found.counterexample is not None and found.counterexample.certified
            if not certified and archive is not None and full:
                archive.add(x, m)
                y, my = archive.refine(op, prop, rng, x.shape[1:], step % 2 == 0)
                best_margin = min(best_margin, _finite_min(my))
                found = _best(found, _certify_batch(op, prop, y, my, slack, stats))
        except OperatorFailure as failure:
            yield best_margin, end(step, None, str(failure), "error", time.monotonic() - start)
            return
        if found is not None:
            if config.stop_at_first:
                yield best_margin, end(step, found, None, "find", time.monotonic() - start)
                return
            if kept is None or _rank(found) < _rank(kept[2]):
                kept = (step, time.monotonic() - start, found)
        yield best_margin, None
    ended_by = "time budget" if stats.batches < plan.total_steps else "input quota"
    if kept is not None:
        yield best_margin, end(kept[0], kept[2], None, ended_by, kept[1])
    else:
        yield best_margin, end(None, None, None, ended_by, time.monotonic() - start)


def _run_streams(op: Operator, prop: Property, config: SearchConfig, plan: _Plan, start: float,
                 progress: ProgressFn | None,
                 batches: Callable[[np.random.Generator], Batch] | None) -> list[StreamEnd]:
    if config.workers > 1 and plan.streams > 1 and getattr(op, "sandboxed", False):
        return _run_threads(op, prop, config, plan, start, progress, batches)
    if config.workers > 1 and plan.streams > 1 and batches is None and _picklable(op, prop):
        return _run_parallel(op, prop, config, plan, start, progress)
    return _run_round_robin(op, prop, config, plan, start, progress, batches)


def _run_round_robin(op: Operator, prop: Property, config: SearchConfig, plan: _Plan, start: float,
                     progress: ProgressFn | None,
                     batches: Callable[[np.random.Generator], Batch] | None) -> list[StreamEnd]:
    live = {i: _stream(op, prop, config, plan, i, start, batches) for i in range(plan.streams)}
    ends: dict[int, StreamEnd] = {}
    best = np.inf
    rounds = 0
    while live:
        rounds += 1
        for i in sorted(live):
            margin, done = next(live[i])
            best = min(best, margin)
            if done is not None:
                ends[i] = done
                del live[i]
        if progress is not None:
            progress(plan.streams * plan.inputs_after(rounds), best)
        if config.stop_at_first and any(e.step is not None for e in ends.values()):
            # Streams not yet finished lost this round (lower (step, stream) already won).
            for i, gen in live.items():
                gen.close()
                ends[i] = StreamEnd(i, min(plan.total_steps, max(e.steps for e in ends.values())), None, None, None,
                                    0.0, np.inf, 0, 0, frozenset(), "superseded")
            live = {}
    return [ends[i] for i in sorted(ends)]


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


# ---- parallel streams --------------------------------------------------------------------------

_PROGRESS: Any = None


def _init_worker(q: Any) -> None:
    global _PROGRESS
    _PROGRESS = q


def _worker(op: Operator, prop: Property, config: SearchConfig, plan: _Plan, index: int, start: float) -> StreamEnd:
    for step, (margin, done) in enumerate(_stream(op, prop, config, plan, index, start, None)):
        if _PROGRESS is not None:
            _PROGRESS.put((index, step + 1, margin))
        if done is not None:
            return done
    raise AssertionError("a stream always ends with a record")


def _run_parallel(op: Operator, prop: Property, config: SearchConfig, plan: _Plan, start: float,
                  progress: ProgressFn | None) -> list[StreamEnd]:
    # fork: the children inherit user-file operator modules, which pickling refers to by name.
    ctx = multiprocessing.get_context("fork")
    events = ctx.Queue() if progress is not None else None
    steps = [0] * plan.streams
    best = np.inf
    with ProcessPoolExecutor(max_workers=min(config.workers, plan.streams), mp_context=ctx,
                             initializer=_init_worker, initargs=(events,)) as pool:
        futures = [pool.submit(_worker, op, prop, config, plan, i, start) for i in range(plan.streams)]
        while not all(f.done() for f in futures):
            if events is None:
                time.sleep(0.02)
                continue
            try:
                i, n, margin = events.get(timeout=0.1)
            except queue.Empty:
                continue
            steps[i], best = n, min(best, margin)
            progress(sum(plan.inputs_after(n) for n in steps), best)  # type: ignore[misc]
        return [f.result() for f in futures]


def _run_threads(op: Operator, prop: Property, config: SearchConfig, plan: _Plan, start: float,
                 progress: ProgressFn | None,
                 batches: Callable[[np.random.Generator], Batch] | None) -> list[StreamEnd]:
    """Streams side by side in threads, for an operator whose code runs in worker processes.

    The user's code is in the workers (one per stream, kept across properties), so threads run
    in parallel where it matters and no process is forked or started per search.
    """
    from concurrent.futures import ThreadPoolExecutor

    lanes = min(config.workers, plan.streams)
    events: queue.Queue[tuple[int, int, float]] = queue.Queue()
    steps = [0] * plan.streams
    best = np.inf

    def run(i: int) -> StreamEnd:
        for step, (margin, done) in enumerate(_stream(op.replica(i % lanes), prop, config, plan, i, start, batches)):
            events.put((i, step + 1, margin))
            if done is not None:
                return done
        raise AssertionError("a stream always ends with a record")

    with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="mtkd-stream") as pool:
        futures = [pool.submit(run, i) for i in range(plan.streams)]
        while not all(f.done() for f in futures):
            try:
                i, n, margin = events.get(timeout=0.1)
            except queue.Empty:
                continue
            steps[i], best = n, min(best, margin)
            if progress is not None:
                progress(sum(steps) * plan.step_inputs, best)
        return [f.result() for f in futures]


def _picklable(op: Operator, prop: Property) -> bool:
    try:
        pickle.dumps((op, prop))
        return True
    except Exception:  # noqa: BLE001 - lambdas and local closures cannot cross processes
        return False


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


def _certify_batch(op: Operator, prop: Property, x: Batch, m: Margins, slack: float,
                   stats: SearchStats) -> Outcome | None:
    idx = np.flatnonzero(is_candidate(m, slack))
    if len(idx) == 0:
        return None
    stats.candidates += len(idx)
    fallback = None
    for n in idx[np.argsort(m.values[idx], kind="stable")][:CANDIDATES_PER_BATCH]:
        outcome = certify_candidate(op, prop, x.P[n], x.T[n], x.w[n], m.witness_at(int(n)), float(m.values[n]))
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


def polish(op: Operator, prop: Property, cx: Counterexample, rng: np.random.Generator,
           config: GuidedConfig = GuidedConfig(parents=1, children=32, generations=12)) -> Counterexample:
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
    slack = CANDIDATE_SLACK if op.precise_func is not None else prop.float_bound
    try:
        found = _certify_batch(op, prop, y, my, slack, SearchStats())
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


def _scope(config: SearchConfig) -> str:
    ks = sorted({k for k, _ in config.sizes})
    vs = sorted({v for _, v in config.sizes})
    return f"{config.domain.label}, K in {ks[0]}..{ks[-1]}, V in {{{', '.join(map(str, vs))}}}, float64 search, seed {config.seed}"


def _stable_hash(text: str) -> int:
    # Python's hash() is salted per process; the seed must mean the same thing in every run.
    h = 0
    for ch in text.encode():
        h = (h * 131 + ch) % (2**31)
    return h

