"""Exact (sympy) certification: algebraic margins decided exactly, transcendental ones fall back."""

from __future__ import annotations

import threading
import time
from fractions import Fraction as F
from typing import Any

import pytest
import sympy

from mtkd.counterexamples import check_exact
from mtkd.operators import load_operator
from mtkd.operators.exact import Exact, degree_bound, exact_sign
from mtkd.operators.protocol import DeadlineExceeded, deadline
from mtkd.theorems import PROPERTIES, ExactPoint

# Two teachers that agree on token 0 and disagree wildly elsewhere: the geometric pool
# concentrates on token 0. By hand: q(0) = 0.5 / (0.5 + 2 sqrt(0.49 * 0.01)) = 25/32.
POINT = ExactPoint(((F(1, 2), F(49, 100), F(1, 100)), (F(1, 2), F(1, 100), F(49, 100))), (F(1), F(1)),
                   (F(1, 2), F(1, 2)))


def test_exact_sign_decides_algebraic_numbers_and_declines_transcendental_ones() -> None:
    ctx = Exact()
    assert exact_sign(sympy.sqrt(3) - sympy.Rational(173, 100)) == 1
    assert exact_sign(sympy.Rational(173, 100) - sympy.sqrt(3)) == -1
    assert ctx.sign(ctx.exp(ctx.log(ctx.num(2)) / 2) * ctx.exp(ctx.log(ctx.num(2)) / 2) - ctx.num(2)) == 0
    assert ctx.sign(ctx.log(ctx.num(2)) - ctx.num(F(7, 10))) is None


def test_geometric_attenuation_failure_is_certified_exactly_with_the_hand_computed_margin() -> None:
    out = check_exact(load_operator("geometric"), PROPERTIES["prop-IV.11"], POINT, {"token": 0}, exact=True)
    cx = out.counterexample
    assert cx is not None and cx.certified
    assert "exact arithmetic" in cx.precision
    assert "-9/32" in cx.certificate  # max_k Q_k(0) - q(0) = 1/2 - 25/32
    assert F(cx.margin) == F(-9, 32)


def test_interval_is_the_default_and_agrees_with_exact() -> None:
    out = check_exact(load_operator("geometric"), PROPERTIES["prop-IV.11"], POINT, {"token": 0})
    assert out.counterexample is not None and "interval" in out.counterexample.precision
    assert abs(float(out.counterexample.margin) + 9 / 32) < 1e-15


def test_weight_blind_operator_has_an_exactly_zero_derivative() -> None:
    out = check_exact(load_operator("max"), PROPERTIES["axiom3"], POINT, {"k": 0, "k2": 1, "token": 1}, exact=True)
    assert out.counterexample is not None and "exactly 0" in out.counterexample.certificate


def test_linear_pool_is_not_refuted_at_the_same_point() -> None:
    out = check_exact(load_operator("linear"), PROPERTIES["prop-IV.11"], POINT, {"token": 0}, exact=True)
    assert out.counterexample is None and "certified >= 0" in out.reason


def in_thread(fn: Any) -> Any:
    """``fn()`` in a worker thread, as a dask worker runs a task: no alarm can interrupt it there."""
    box: list[Any] = []
    worker = threading.Thread(target=lambda: box.append(fn()), daemon=True)
    worker.start()
    worker.join(timeout=120)  # a hang guard, not a speed assertion
    assert box, "still running after 120 s: exact arithmetic was tried on an unbounded problem"
    return box[0]


@pytest.mark.parametrize("thread", ["main", "worker"])
def test_transcendental_derivative_falls_back_to_intervals(thread: str) -> None:
    # geometric's axiom3 derivative carries log Q terms: not algebraic, so intervals decide. In a worker
    # thread sympy used to run for minutes on it (dask jobs ended unknown/budget): the gate must decline
    # it up front, in any thread.
    x = ExactPoint(((F(1, 5), F(3, 4), F(1, 20)), (F(1, 10), F(3, 20), F(3, 4))), (F(1), F(1)), (F(9, 10), F(1, 10)))

    def certify() -> Any:
        return check_exact(load_operator("geometric"), PROPERTIES["axiom3"], x, {"k": 0, "k2": 1, "token": 0},
                           exact=True)

    out = certify() if thread == "main" else in_thread(certify)
    assert out.counterexample is not None and out.counterexample.certified
    assert "interval" in out.counterexample.precision
    assert float(out.counterexample.margin) < -0.08


def test_exact_sign_is_tried_only_within_the_work_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[sympy.Expr] = []

    def refuse(expr: sympy.Expr, *args: Any, **kwargs: Any) -> Any:
        tried.append(expr)  # the degree-1000 polynomial would take sympy minutes: never compute it
        raise NotImplementedError

    monkeypatch.setattr(sympy, "minimal_polynomial", refuse)
    ctx = Exact()
    tenth = [sympy.Integer(p) ** sympy.Rational(1, 10) for p in (2, 3, 5)]
    assert degree_bound(sum(tenth)) == 1000
    assert ctx.sign(sum(tenth) - 4) is None and ctx.sign(sympy.log(2) - sympy.Rational(7, 10)) is None
    assert tried == []  # declined by the point alone, not after a time limit
    monkeypatch.undo()
    assert ctx.sign(sympy.sqrt(2) + sympy.sqrt(3) - sympy.Rational(314, 100)) == 1


def test_deadline_stops_python_work_in_a_worker_thread() -> None:
    def spin() -> str:
        try:
            with deadline(0.2):
                with deadline(60.0):  # must not extend the outer 0.2 s
                    while True:
                        sympy.Integer(2) ** 3  # Python calls: where the thread's deadline is checked
        except DeadlineExceeded:
            return "stopped"

    assert in_thread(spin) == "stopped"


def test_nested_deadlines_keep_the_outer_limit() -> None:
    # If the inner 3600 s limit replaced the outer 0.3 s one, nothing would stop the loop: it runs out
    # after ~60 s (a hang guard far above 0.3 s, not a timing check) and pytest.raises fails.
    with pytest.raises(DeadlineExceeded):
        with deadline(0.3):
            with deadline(3600.0):
                pass
            for _ in range(6000):
                time.sleep(0.01)
