"""The worker process behind user operators, through the Python API (no CLI start-up per test)."""

from __future__ import annotations

from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest

from mtkd.errors import OperatorFailure
from mtkd.operators import load_operator, wrap_callable
from mtkd.operators.exact import Exact
from mtkd.operators.precision import Derivative, HighPrecision, Interval

from . import hostile_ops
from .conftest import HOSTILE

ZOO = Path(__file__).parents[1] / "zoo_operators.py"

P2 = np.array([[[0.5, 0.5], [0.25, 0.75]]])
T2 = np.ones((1, 2))
W2 = np.array([[1 / 3, 2 / 3]])


@pytest.fixture(scope="module")
def precise_op():
    """A user's linear pool with a precise form (a plain file, loaded into a worker)."""
    return load_operator(f"{ZOO}:linear_with_precise")


def test_user_operators_run_in_a_worker_and_ctx_numbers_cross_it(precise_op) -> None:
    assert precise_op.sandboxed and precise_op.capabilities == ("single", "precise")
    P, T, w = [[F(1, 2), F(1, 2)], [F(1, 4), F(3, 4)]], [F(1), F(1)], [F(1, 3), F(2, 3)]
    exact = Exact()
    assert precise_op.evaluate_precise(P, T, w, exact) == [exact.num(F(1, 3)), exact.num(F(2, 3))]
    for ctx in (HighPrecision(40), Interval(60)):
        q = precise_op.evaluate_precise(P, T, w, ctx)
        lo, hi = ctx.bounds(q[0] - ctx.num(F(1, 3)))
        assert abs(lo) < 1e-35 and abs(hi) < 1e-35  # the worker computed in the parent's precision
    d = Derivative(Interval(60))
    # d/dt of q(0) along w + t (1, -1) is Q_0(0) - Q_1(0) = 1/2 - 1/4.
    q0 = precise_op.evaluate_precise(P, T, [d.seed(F(1, 3), 1), d.seed(F(2, 3), -1)], d)[0]
    lo, hi = d.base.bounds(q0.d - d.base.num(F(1, 4)))
    assert abs(lo) < 1e-40 and abs(hi) < 1e-40


def test_a_timed_out_worker_is_replaced_and_the_next_call_works() -> None:
    # Every call of hangs_in_c hangs: the limit's size cannot change the outcome, only the five waits.
    op = load_operator(f"{HOSTILE}:hangs_in_c", time_limit=0.2)
    with pytest.raises(OperatorFailure, match="did not return within 0.2 s"):
        op.evaluate(P2, T2, W2)
    good = load_operator(f"{HOSTILE}:prints", time_limit=5)
    q = good.evaluate(P2, T2, W2)
    assert np.allclose(q, [[1 / 3, 2 / 3]])
    with pytest.raises(OperatorFailure, match="did not return"):  # the killed worker restarts for the next call
        op.evaluate(P2, T2, W2)


def test_inputs_come_back_untouched_and_mutation_is_an_error() -> None:
    op = load_operator(f"{HOSTILE}:mutates_after_setflags")
    P = P2.copy()
    with pytest.raises(OperatorFailure, match="modify its input"):
        op.evaluate(P, T2, W2)
    np.testing.assert_array_equal(P, P2)


def test_wrap_callable_isolates_what_it_can_pickle_and_says_what_it_cannot() -> None:
    isolated = wrap_callable(hostile_ops.prints, "prints")
    assert isolated.sandboxed
    assert not any("in the tool's own process" in n for n in isolated.limitations())
    local = wrap_callable(lambda P, T, w: hostile_ops.prints(P, T, w), "lambda")
    assert not local.sandboxed
    assert any("in the tool's own process" in n for n in local.limitations())
    # The in-process fallback still keeps numpy's error state and the caller's arrays intact.
    before = np.geterr()
    wrap_callable(lambda P, T, w: hostile_ops.leaves_seterr_raise(P, T, w), "seterr").evaluate(P2, T2, W2)
    assert np.geterr() == before


def test_replicas_are_separate_workers_for_parallel_streams(precise_op) -> None:
    twin = precise_op.replica(1)
    assert twin.func.sandbox is not precise_op.func.sandbox
    assert precise_op.replica(1).func.sandbox is twin.func.sandbox  # kept for reuse
    assert np.array_equal(twin.evaluate(P2, T2, W2), precise_op.evaluate(P2, T2, W2))


def test_a_file_named_too_long_is_a_load_error(tmp_path: Path) -> None:
    from mtkd.errors import OperatorLoadError

    with pytest.raises(OperatorLoadError, match="cannot be used"):
        load_operator("q" * 4000 + ".py:op")
