"""What the tool does around a single-input operator's calls: few exchanges, exact hull directions.

A single-input form is called once per input in its worker; what costs time is everything around
those calls (one exchange per batch, the tool's own per-batch work). These tests pin down the
pieces that keep that small, by counting calls, never by timing them.
"""

from __future__ import annotations

from fractions import Fraction as F
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from mtkd.counterexamples import SearchConfig
from mtkd.counterexamples.float_evidence import radius_summary
from mtkd.counterexamples.generators import generate
from mtkd.counterexamples.jumps import bisect_segments
from mtkd.counterexamples.search import _Plan
from mtkd.operators import Operator, load_operator, wrap_callable
from mtkd.operators.precision_arb import Ball, derivative_context
from mtkd.theorems import axioms, get_property

ZOO = Path(__file__).parents[1] / "zoo_operators.py"


def _linear(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):  # log 0 at the one-hot limit rows: exp(-inf) = 0
        z = np.log(P) / T[:, None]
    Q = np.exp(z - z.max(axis=1, keepdims=True))
    return w @ (Q / Q.sum(axis=1, keepdims=True))


def _centred_linear(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The linear pool from logits centred by their mean: NaN at a one-hot teacher (log 0 - mean)."""
    logp = np.log(P)
    return _linear(np.exp(logp - logp.mean(axis=1, keepdims=True)), T, w)


def _clamped_linear(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The linear pool with temperatures clamped to [1e-2, 1e2]: it stalls short of both limits."""
    return _linear(P, np.clip(T, 1e-2, 1e2), w)


class _Counting:
    """A single-input callable (the linear pool) that counts how often the tool calls evaluate(),
    and on how many inputs."""

    def __init__(self, fn: Callable[..., np.ndarray] = _linear) -> None:
        self.op = wrap_callable(fn, "counted", derive=False)
        self.calls = 0
        self.inputs = 0

    def operator(self) -> Operator:
        inner = self.op.evaluate

        def evaluate(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
            self.calls += 1
            self.inputs += len(P)
            return inner(P, T, w)

        object.__setattr__(self.op, "evaluate", evaluate)  # instance-level spy on a frozen dataclass
        return self.op


def test_axiom5_probes_every_teacher_in_two_calls() -> None:
    counter = _Counting()
    op = counter.operator()
    x = generate(np.random.default_rng(0), 8, 4, 5)
    m = get_property("axiom5").margins(op, x, np.random.default_rng(1))
    # One call for the probes of all 4 teachers (one-hot weights, the extreme temperature of each
    # limit), one for the 8 limit pools; separate calls would be 4 * 7 = 28. The pool is within the
    # tolerance of its limits at the extreme temperatures: the milder ones are never asked for.
    assert counter.calls == 2
    assert counter.inputs == 8 * 4 * (1 + 2 + 2)
    assert (m.values > -1e-9).all()  # the linear pool satisfies axiom5


def test_axiom5_asks_the_milder_temperature_only_where_the_limit_is_not_reached() -> None:
    counter = _Counting(_clamped_linear)
    x = generate(np.random.default_rng(0), 8, 3, 4)
    m = get_property("axiom5").margins(counter.operator(), x, np.random.default_rng(1))
    # probes and limit pools, then one more call: the clamped pool is far from both limits at the
    # extreme temperatures, and as far at the milder ones (a stall, not a slow approach).
    assert counter.calls == 3
    assert counter.inputs > 8 * 3 * (1 + 2 + 2)
    assert (m.values < -1e-3).all()
    assert set(m.witness["part"]) <= {"b-inf", "b-zero"}


def test_axiom5_references_undefined_at_one_hot_rows_take_one_more_call() -> None:
    counter = _Counting(_centred_linear)
    x = generate(np.random.default_rng(0), 8, 3, 4)
    with np.errstate(all="ignore"):
        m = get_property("axiom5").margins(counter.operator(), x, np.random.default_rng(1))
    # probes with the T -> inf limit pools; the T -> 0 limit pools (NaN at the one-hot rows); those
    # along the open-domain path. One by one, the fallback would make 3 * 2 more calls.
    assert counter.calls == 3
    assert counter.inputs == 8 * 3 * (1 + 2 + 1 + 1 + 1)
    assert (m.values > -1e-9).all()


def test_axiom3_differences_of_every_teacher_pair_in_one_call() -> None:
    counter = _Counting()
    x = generate(np.random.default_rng(0), 8, 4, 5)
    m = get_property("axiom3").margins(counter.operator(), x, np.random.default_rng(1))
    # The pool, then both moved pools of all 4 * 3 pairs together (separately: 24 calls).
    assert counter.calls == 2
    assert counter.inputs == 8 * (1 + 2 * 4 * 3)
    assert (m.values > 0).all()  # the linear pool satisfies axiom3


def test_jump_search_needs_one_call_per_round() -> None:
    counter = _Counting()
    bisect_segments(counter.operator(), generate(np.random.default_rng(0), 8, 3, 4), np.random.default_rng(1))
    from mtkd.counterexamples.jumps import ROUNDS

    assert counter.calls == 1 + ROUNDS + 1  # both ends, each round's interior points, the noise probe


def test_evaluate_together_splits_large_joins_and_keeps_the_order(monkeypatch: pytest.MonkeyPatch) -> None:
    import mtkd.operators.protocol as protocol

    op = load_operator("linear")
    x = generate(np.random.default_rng(0), 6, 2, 3)
    parts = [(x.P[:2], x.T[:2], x.w[:2]), (x.P[2:], x.T[2:], x.w[2:])] * 3
    monkeypatch.setattr(protocol, "TOGETHER_MAX_ENTRIES", 30)  # at most 5 inputs of 2 x 3 per call
    got = op.evaluate_together(parts)
    assert [len(q) for q in got] == [2, 4] * 3
    assert all(np.array_equal(q, op.evaluate(*p)) for q, p in zip(got, parts))


@pytest.mark.parametrize("K,V", [(1, 3), (2, 3), (3, 2), (3, 8), (5, 3), (5, 16)])
def test_hull_projection_by_faces_is_at_least_as_near_as_the_iterative_one(K: int, V: int) -> None:
    rng = np.random.default_rng(K * 100 + V)
    Q = generate(rng, 32, K, V).Q()
    Q[:4, -1] = Q[:4, 0]  # repeated teachers: a singular face system
    q = rng.dirichlet(np.ones(V), 32)
    inside = np.einsum("nk,nkv->nv", rng.dirichlet(np.ones(K), 8), Q[8:16])
    q[8:16] = inside
    exact = axioms._hull_point_by_faces(Q, q)
    iterative = q - axioms.hull_separator(Q, q) if K > axioms.HULL_FACES_MAX_K else None
    d_exact = ((q - exact) ** 2).sum(-1)
    assert (d_exact[8:16] < 1e-20).all()  # points of the hull project onto themselves
    if iterative is None:
        # Compare with the iterative projection by forcing it.
        saved = axioms.HULL_FACES_MAX_K
        axioms.HULL_FACES_MAX_K = 0
        try:
            iterative = q - axioms.hull_separator(Q, q)
        finally:
            axioms.HULL_FACES_MAX_K = saved
    d_iter = ((q - iterative) ** 2).sum(-1)
    assert (d_exact <= d_iter + 1e-12).all()
    # and the nearest point found is in the hull: a vertex-wise check of the optimality condition
    c = q - exact
    gap = np.einsum("nkv,nv->nk", Q, c).max(-1) - np.einsum("nv,nv->n", exact, c)
    assert (gap <= 1e-9).all()


def test_single_input_plan_reaches_every_size_within_the_default_quota() -> None:
    op = wrap_callable(_linear, "single", derive=False)
    config = SearchConfig(max_inputs=6000)
    plan = _Plan.of(op, config)
    assert plan.steps * plan.streams >= len(config.sizes)
    assert plan.batch > 8  # larger than the old fixed batch: fewer exchanges and fewer refinement rounds
    # Its refinement: the batched forms' inputs per step in half the margin calls (4 generations, not 8).
    from mtkd.counterexamples.search import _guided

    assert plan.guided is not None and plan.guided.generations == 4
    assert plan.guided.inputs() == _guided(plan.batch).inputs()
    small = _Plan.of(op, SearchConfig(max_inputs=300))
    assert small.batch == 8 and small.steps >= 1


def test_derived_form_runs_on_derivative_numbers_that_are_sequences() -> None:
    # arb_series duals have a length and items: the derived form must not spread them into arrays.
    op = load_operator(f"{ZOO}:confidence_pool")
    assert op.precise_func is not None
    ctx = derivative_context(Ball(64))
    P = [[F(1, 2), F(1, 4), F(1, 4)], [F(1, 5), F(3, 5), F(1, 5)]]
    w = [ctx.seed(F(1, 3), 1), ctx.seed(F(2, 3), -1)]
    q = op.evaluate_precise(P, [F(1), F(2)], w, ctx)
    assert len(q) == 3


def test_radius_summary_without_any_measured_output() -> None:
    assert radius_summary([]) == "no operator output enters this margin"


def test_faces_cover_caratheodory_sizes_only() -> None:
    # K = 5 teachers in V = 2 tokens: faces of at most 2 teachers suffice (and larger ones are singular).
    Q = generate(np.random.default_rng(3), 4, 5, 2).Q()
    q = np.array([[0.999, 0.001]] * 4)
    exact = axioms._hull_point_by_faces(Q, q)
    lo = Q[..., 0].min(-1)
    hi = Q[..., 0].max(-1)
    assert np.allclose(exact[:, 0], np.clip(q[:, 0], lo, hi), atol=1e-12)
