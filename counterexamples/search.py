"""Vectorised random search for counterexamples, with certification of every find.

The search visits input sizes in a fixed cycle and draws batches from the generators; every
input whose float64 margin looks violated becomes a candidate, worst first, and only a
candidate that survives :mod:`~mtkd.counterexamples.certify` is reported. The order of
everything is fixed by the seed; an input quota (``max_inputs``) makes the amount of work
reproducible, while the time budget is only a safety net (the result says which one ended it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from mtkd.errors import OperatorFailure
from mtkd.operators import Operator
from mtkd.results import Result, Verdict
from mtkd.theorems import Batch, Margins, Property

from .certify import Outcome, certify_candidate
from .generators import DEFAULT_SIZES, generate

CANDIDATE_SLACK = 1e-12
"""With a precise form, anything this close to violation is worth an exact look."""

CANDIDATES_PER_BATCH = 3


@dataclass(frozen=True)
class SearchConfig:
    """How much to search and where."""

    seed: int = 0
    seconds: float = 5.0
    max_inputs: int = 6000
    batch: int = 64
    sizes: tuple[tuple[int, int], ...] = DEFAULT_SIZES
    stop_at_first: bool = True


@dataclass
class SearchStats:
    inputs: int = 0
    batches: int = 0
    candidates: int = 0
    rejected: int = 0
    generators: set[str] = field(default_factory=set)
    first_certified_at: float | None = None


ProgressFn = Callable[[int, float], None]


def is_candidate(m: Margins, slack: float) -> np.ndarray:
    return (m.values < -slack) | (m.strict & (m.values <= slack))


def search_property(op: Operator, prop: Property, config: SearchConfig,
                    progress: ProgressFn | None = None,
                    batches: Callable[[np.random.Generator], Batch] | None = None) -> Result:
    """Random search for a certified counterexample to ``prop``; the verdict is never ``proved``."""
    rng = np.random.default_rng([config.seed, _stable_hash(prop.id)])
    stats = SearchStats()
    start = time.perf_counter()
    batch_size = config.batch if op.batched_func is not None else max(4, config.batch // 8)
    slack = CANDIDATE_SLACK if op.precise_func is not None else prop.float_bound
    best: tuple[float, Outcome] | None = None
    ended_by = "input quota"
    while stats.inputs < config.max_inputs:
        if time.perf_counter() - start > config.seconds:
            ended_by = "time budget"
            break
        K, V = config.sizes[stats.batches % len(config.sizes)]
        x = batches(rng) if batches is not None else generate(rng, batch_size, K, V)
        stats.batches += 1
        stats.inputs += len(x.P)
        stats.generators.add(x.generator.split("/")[0])
        try:
            m = prop.margins(op, x, rng)
            found = _certify_batch(op, prop, x, m, slack, stats)
        except OperatorFailure as failure:
            return Result(prop.id, Verdict.ERROR, method="search", scope=_scope(config),
                          message=str(failure), seconds=time.perf_counter() - start)
        if progress is not None:
            progress(stats.inputs, float(np.min(m.values)) if len(m.values) else np.inf)
        if found is not None:
            elapsed = time.perf_counter() - start
            stats.first_certified_at = stats.first_certified_at or elapsed
            if best is None or _rank(found) < _rank(best[1]):
                best = (elapsed, found)
            if config.stop_at_first:
                break
    elapsed = time.perf_counter() - start
    if best is not None:
        cx = best[1].counterexample
        assert cx is not None
        return Result(prop.id, Verdict.REFUTED, certified=cx.certified, method="search (random)",
                      scope=f"found at K={cx.K}, V={cx.V}", counterexample=cx,
                      message=f"{cx.explanation} Found after {stats.inputs} inputs in {elapsed:.2f} s; "
                              f"{stats.rejected} round-off candidates rejected.",
                      seconds=elapsed, extra={"inputs": stats.inputs, "time_to_first": round(best[0], 3)})
    return Result(prop.id, Verdict.NOT_REFUTED, method="search (random)", scope=_scope(config),
                  message=(f"{stats.inputs} inputs ({ended_by}), generators: {', '.join(sorted(stats.generators))}; "
                           f"{stats.candidates} float64 candidates, all rejected as round-off by "
                           f"{'interval / 50-digit re-evaluation' if op.precise_func else 'the float64 round-off bound'}."),
                  seconds=elapsed, extra={"inputs": stats.inputs})


def _rank(o: Outcome) -> tuple[int, int]:
    cx = o.counterexample
    assert cx is not None
    return (0 if cx.certified else 1, cx.K * cx.V)


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
        elif outcome.counterexample.certified:
            return outcome
        elif fallback is None:
            fallback = outcome
    return fallback


def _scope(config: SearchConfig) -> str:
    ks = sorted({k for k, _ in config.sizes})
    vs = sorted({v for _, v in config.sizes})
    return f"open domain, K in {ks[0]}..{ks[-1]}, V in {{{', '.join(map(str, vs))}}}, float64 search, seed {config.seed}"


def _stable_hash(text: str) -> int:
    # Python's hash() is salted per process; the seed must mean the same thing in every run.
    h = 0
    for ch in text.encode():
        h = (h * 131 + ch) % (2**31)
    return h
