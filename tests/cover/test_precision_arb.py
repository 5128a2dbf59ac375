"""Ball arithmetic (python-flint ``arb``): enclosure, agreement with mpmath, the 64-bit filter, forward mode."""

from __future__ import annotations

import itertools
import pickle
from fractions import Fraction as F

import mpmath
import numpy as np
import pytest
from click.testing import CliRunner
from flint import fmpq

from mtkd.cli import main
from mtkd.counterexamples import check_exact
from mtkd.counterexamples.generators import generate
from mtkd.operators import load_operator
from mtkd.operators.precision import HighPrecision, Interval, UndecidedError
from mtkd.operators.precision_arb import Ball, BallDerivative
from mtkd.operators.temperature import log_tau
from mtkd.theorems import PROPERTIES, ExactPoint
from mtkd.theorems.property import DecimalRow, simplex_point

OPERATORS = ("linear", "geometric", "power:alpha=2", "power:alpha=-1", "entropic:beta=0.5", "max")
REF = HighPrecision(100)


def _random_point(rng: np.random.Generator, K: int, V: int, extreme: bool = False) -> ExactPoint:
    """Dirichlet teachers and weights; temperatures log-uniform in [0.1, 10] (or at 1e-6 / 1e6)."""
    T = rng.choice([1e-6, 1e6], K) if extreme else np.exp(rng.uniform(np.log(0.1), np.log(10), K))
    return ExactPoint.from_floats(rng.dirichlet(np.full(V, 0.5), K), T, rng.dirichlet(np.ones(K)))


def _exact(x: mpmath.mpf) -> F:
    """An mpf as a Fraction, every bit kept (comparing mpfs would round to mpmath's global precision)."""
    sign, man, exp, _ = x._mpf_
    f = F(man) * F(2) ** exp
    return -f if sign else f


def _encloses(ctx: Ball, ball: object, value: mpmath.mpf, slack: F = F(0)) -> bool:
    lo, hi = ctx.bounds(ball)
    return _exact(lo) - slack <= _exact(value) <= _exact(hi) + slack


@pytest.mark.parametrize("spec", OPERATORS)
def test_balls_enclose_the_100_digit_value_and_meet_mpmath_intervals(spec: str) -> None:
    op, rng = load_operator(spec), np.random.default_rng(7)
    box, ball = Interval(30), Ball(64)
    for _ in range(6):
        x = _random_point(rng, int(rng.integers(1, 4)), int(rng.integers(2, 7)))
        exact = op.evaluate_precise(x.P, x.T, x.w, REF)
        balls = op.evaluate_precise(x.P, x.T, x.w, ball)
        intervals = op.evaluate_precise(x.P, x.T, x.w, box)
        for v, b, iv in zip(exact, balls, intervals):
            assert _encloses(ball, b, v), (spec, x, ball.to_str(b), v)
            lo, hi = map(_exact, box.bounds(iv))
            blo, bhi = map(_exact, ball.bounds(b))
            assert blo <= hi and lo <= bhi  # two enclosures of one real number intersect
            assert bhi - blo < F(1, 10**12)  # and 64 bits are tight on moderate inputs
    for _ in range(3):  # extreme temperatures: mpmath intervals are slow there, balls are not
        x = _random_point(rng, 2, 3, extreme=True)
        for v, b in zip(op.evaluate_precise(x.P, x.T, x.w, REF), op.evaluate_precise(x.P, x.T, x.w, ball)):
            assert _encloses(ball, b, v), (spec, x, ball.to_str(b), v)


def test_ball_sign_is_decided_only_when_zero_is_excluded() -> None:
    ctx = Ball(64)
    third = ctx.num(F(1, 3))
    assert ctx.sign(third - ctx.num(F(333, 1000))) == 1
    assert ctx.sign(ctx.num(F(333, 1000)) - third) == -1
    assert ctx.sign(ctx.num(0)) == 0
    # 1/3 - (1/3 - 10^-30) is positive but below 64 bits' resolution: undecided, never a sign.
    tiny = third - (ctx.num(F(1, 3) - F(1, 10**30)))
    assert ctx.sign(tiny) is None
    assert Ball(200).sign(Ball(200).num(F(1, 3)) - Ball(200).num(F(1, 3) - F(1, 10**30))) == 1


def test_balls_and_their_contexts_survive_pickling() -> None:
    ctx = Ball(128)
    values = [ctx.num(F(2, 7)).exp(), ctx.num(0), ctx.num(F(-5, 3)).exp() - ctx.num(1)]
    back = pickle.loads(pickle.dumps((ctx, values)))
    assert back[0].bits == 128
    for a, b in zip(values, back[1]):
        assert a.mid() == b.mid() and (b.rad() >= a.rad())
    d = BallDerivative(Ball(64))
    s = d.seed(F(1, 2), 1) * d.num(3)
    again = pickle.loads(pickle.dumps(s))
    assert d.to_str(d.derivative(again), 10) == "[3.0, 3.0]"


def test_derivative_max_refuses_overlapping_values_with_different_derivatives() -> None:
    d = BallDerivative(Ball(64))
    a, b = d.seed(F(1, 2), 1), d.seed(F(1, 2), -1)
    with pytest.raises(UndecidedError):
        d.max([a, b])
    top = d.max([d.seed(F(3, 4), 2), b])
    assert d.to_str(d.derivative(top), 5) == "[2.0, 2.0]"


@pytest.mark.parametrize("spec", ("geometric", "power:alpha=2", "power:alpha=-1", "entropic:beta=0.5", "linear"))
def test_forward_mode_axiom3_derivative_matches_finite_differences_at_100_digits(spec: str) -> None:
    op, prop, rng = load_operator(spec), PROPERTIES["axiom3"], np.random.default_rng(3)
    for _ in range(3):
        x = _random_point(rng, 3, 4)
        witness = {"k": 0, "k2": 2, "token": int(rng.integers(4))}
        ctx = Ball(200)
        deriv = prop.precise_margin(op, x, witness, ctx).value
        h = F(1, 10**30)
        moved = [list(x.w), list(x.w)]
        for sign, w in zip((1, -1), moved):
            w[0] += sign * h
            w[2] -= sign * h
        up, down = (op.evaluate_precise(x.P, x.T, w, REF)[witness["token"]] for w in moved)
        central = (up - down) / (2 * REF.num(h))  # error O(h^2) = 1e-60
        assert _encloses(ctx, deriv, central, F(1, 10**40)), (spec, ctx.to_str(deriv), central)


@pytest.mark.parametrize("spec", ("geometric", "power:alpha=2", "power:alpha=0.5", "entropic:beta=0.5", "linear", "max"))
def test_analytic_weight_gradient_of_builtins_matches_forward_mode(spec: str) -> None:
    op, rng = load_operator(spec), np.random.default_rng(5)
    x = generate(rng, 8, 3, 5)
    grad = op.func.weight_gradient(log_tau(x.P, x.T), x.w)
    d = BallDerivative(Ball(64))
    for n in range(8):
        pt = ExactPoint.from_floats(x.P[n], x.T[n], x.w[n])
        for k, k2 in ((0, 1), (2, 0)):
            w = [d.seed(wj, 1 if j == k else -1 if j == k2 else 0) for j, wj in enumerate(pt.w)]
            q = op.evaluate_precise(pt.P, pt.T, w, d)
            exact = [0.0 if d.derivative(qi) is None else float(d.derivative(qi).mid()) for qi in q]
            assert np.allclose(grad[n, k] - grad[n, k2], exact, rtol=1e-6, atol=1e-9), (spec, n)


@pytest.mark.parametrize("spec", ("linear", "geometric", "power:alpha=2"))
@pytest.mark.parametrize("pass_entries", (1, 2**18))
def test_axiom3_margin_is_the_worst_pair_and_token_ties_to_the_lowest(spec: str, pass_entries: int,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The grouped numpy passes (all teachers in one, or one teacher per pass) pick what loops over
    (k, k2, token) pick: the least slope among admissible triples, a tie to the first triple."""
    import mtkd.theorems.axioms as axioms

    monkeypatch.setattr(axioms, "AXIOM3_PASS_ENTRIES", pass_entries)
    op, prop, rng = load_operator(spec), PROPERTIES["axiom3"], np.random.default_rng(8)
    x = generate(rng, 12, 3, 4)
    x.P[:6, 1], x.T[:6, 1] = x.P[:6, 0], x.T[:6, 0]  # teachers 0 and 1 equal: tied slopes for k = 2
    m = prop.margins(op, x, rng)
    logQ = log_tau(x.P, x.T)
    Q, grad = np.exp(logQ), op.func.weight_gradient(logQ, x.w)
    for n in range(12):
        best, arg = np.inf, (0, 0, 0)
        for k, k2, i in itertools.product(range(3), range(3), range(4)):
            if k != k2 and Q[n, k, i] > Q[n, k2, i] and grad[n, k, i] - grad[n, k2, i] < best:
                best, arg = grad[n, k, i] - grad[n, k2, i], (k, k2, i)
        assert (m.values[n], m.witness["k"][n], m.witness["k2"][n], m.witness["token"][n]) == (best, *arg)


def test_filter_never_certifies_a_near_tie() -> None:
    # linear's axiom3 derivative is Q_0(0) - Q_1(0) = 1e-40 > 0: holds, by a hair far below float64.
    eps = F(1, 10**40)
    x = ExactPoint(((F(1, 2) + eps, F(1, 2) - eps), (F(1, 2), F(1, 2))), (F(1), F(1)), (F(1, 2), F(1, 2)))
    out = check_exact(load_operator("linear"), PROPERTIES["axiom3"], x, {"k": 0, "k2": 1, "token": 0}, -1e-17)
    assert out.counterexample is None
    assert "certified >= 0" in out.reason
    # An exact tie on a non-strict margin: the ball is exactly 0, which is no violation.
    tie = ExactPoint(((F(1, 2), F(1, 2)), (F(1, 2), F(1, 2))), (F(1), F(1)), (F(1, 2), F(1, 2)))
    out = check_exact(load_operator("geometric"), PROPERTIES["prop-IV.11"], tie, {"token": 0}, -1e-17)
    assert out.counterexample is None


def test_filter_balls_of_a_rounded_row_enclose_its_exact_decimals() -> None:
    """Ball(64).entries encloses each exact decimal of a DecimalRow from its float (a zero-radius
    ball at the float would miss 1/10, 1e-300...); zeros stay exact; 400 bits converts exactly."""
    p = np.array([0.1, 0.0, 1e-300, 5e-324, 2.5e-41, 0.3, 0.0])
    p[-1] = 1.0 - p.sum()
    row = DecimalRow(p)
    exact = simplex_point(p)
    balls, precise = Ball(64).entries(row), Ball(400).entries(row)
    Ball(400).activate()  # containment of a rational is decided at the working precision
    assert all(b.contains(fmpq(v.numerator, v.denominator)) for b, v in zip(balls, exact))
    assert balls[1].is_zero() and precise[1].is_zero()
    assert all(b.is_exact() or b.rad() < 1e-110 * abs(b.mid()) for b in precise)
    assert [b.rad() > 0 for b in balls[:-1]] == [v != 0 for v in exact[:-1]]  # floats widened, zeros exact


def test_linear_slope_of_a_near_tie_is_decided_by_the_64_bit_ball() -> None:
    # dq(0)/d delta = Q_0(0) - Q_1(0) = 1e-50 - 1e-60 while q(0) is about 1/6 (teacher 2).
    # Normalised over tokens, the token sum's rounding (~2^-63 at 64 bits, times q(0)) swamped the
    # slope; normalised by the weights (the same pool) the derivative carries no such term.
    tiny, tinier = F(1, 10**50), F(1, 10**60)
    x = ExactPoint(((tiny, 1 - tiny), (tinier, 1 - tinier), (F(1, 2), F(1, 2))), (F(1),) * 3, (F(1, 3),) * 3)
    d = BallDerivative(Ball(64))
    w = [d.seed(wj, 1 if j == 0 else -1 if j == 1 else 0) for j, wj in enumerate(x.w)]
    slope = d.derivative(load_operator("linear").evaluate_precise(x.P, x.T, w, d)[0])
    Ball(400).activate()
    assert slope is not None and slope > 0 and slope.contains(fmpq(10**10 - 1, 10**60))


def test_certificate_is_a_ball_that_excludes_zero_on_the_violating_side() -> None:
    x = ExactPoint(((F(1, 5), F(3, 4), F(1, 20)), (F(1, 10), F(3, 20), F(3, 4))), (F(1), F(1)), (F(9, 10), F(1, 10)))
    out = check_exact(load_operator("geometric"), PROPERTIES["axiom3"], x, {"k": 0, "k2": 1, "token": 0})
    cx = out.counterexample
    assert cx is not None and cx.certified and "64 bits" in cx.precision  # small: no float64 filter
    assert float(cx.margin) < 0  # the ball's upper end
    assert F(cx.margin) == pytest.approx(F(-851793683436, 10**13), abs=1e-12)


def test_max_inputs_small_quota_is_honoured_from_the_command_line() -> None:
    result = CliRunner().invoke(main, ["search", "linear", "axiom3", "--max-inputs", "10", "--format", "json"])
    assert result.exit_code == 0, result.output
    import json

    report = json.loads(result.stdout)
    assert report["results"][0]["extra"]["inputs"] == 10
    assert "10 inputs (input quota)" in report["results"][0]["message"]
