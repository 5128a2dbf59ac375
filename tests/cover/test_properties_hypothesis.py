"""Property-based tests (Hypothesis) of the tool's own invariants.

Derandomized and small (``max_examples`` modest): the file runs in seconds and the same examples
every time. What is tested is the machinery the verdicts rest on: exact rounding onto the simplex,
temperature scaling, number round-trips, forward-mode derivatives and interval enclosures of
every built-in's precise form.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtkd.counterexamples.corpus import parse_number
from mtkd.operators import load_operator
from mtkd.operators.precision import Derivative, HighPrecision, Interval
from mtkd.operators.protocol import describe_input
from mtkd.operators.temperature import tau
from mtkd.theorems.property import fraction_string, simplex_point

SETTINGS = settings(derandomize=True, max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

BUILTINS = ("linear", "geometric", "power:alpha=2", "power:alpha=-1", "power:alpha=0.5", "entropic", "max")


def rows(min_v: int = 2, max_v: int = 6, zeros: bool = True) -> st.SearchStrategy[list[float]]:
    """Float probability vectors (positive, or with exact zeros but never all zero)."""
    entry = st.one_of(st.just(0.0), st.floats(1e-6, 1.0)) if zeros else st.floats(1e-3, 1.0)
    return (st.lists(entry, min_size=min_v, max_size=max_v)
            .filter(lambda r: sum(r) > 0)
            .map(lambda r: [x / sum(r) for x in r]))


def rational_simplex(n: int) -> st.SearchStrategy[list[Fraction]]:
    """Exact positive points of the ``n``-simplex with small denominators."""
    return st.lists(st.integers(1, 40), min_size=n, max_size=n).map(lambda a: [Fraction(x, sum(a)) for x in a])


@st.composite
def exact_inputs(draw: st.DrawFn) -> tuple[list[list[Fraction]], list[Fraction], list[Fraction], list[Fraction]]:
    """``(P, T, w, d)``: exact teachers, temperatures, weights and a weight direction summing to 0."""
    K = draw(st.integers(1, 3))
    V = draw(st.integers(2, 4))
    P = [draw(rational_simplex(V)) for _ in range(K)]
    T = [Fraction(draw(st.integers(1, 12)), draw(st.integers(1, 6))) for _ in range(K)]
    w = draw(rational_simplex(K))
    d = [Fraction(draw(st.integers(-5, 5))) for _ in range(K)]
    d = [x - sum(d) / K for x in d]
    return P, T, w, d


@SETTINGS
@given(rows())
def test_simplex_point_sums_to_exactly_one_and_keeps_signs(row: list[float]) -> None:
    point = simplex_point(np.array(row))
    assert sum(point) == 1
    assert len(point) == len(row)
    for x, p in zip(row, point):
        assert (p == 0) == (x == 0)
        assert p >= 0
        assert abs(float(p) - x) <= 1e-9


@SETTINGS
@given(st.lists(rows(2, 6, zeros=False), min_size=1, max_size=4).filter(lambda r: len({len(x) for x in r}) == 1),
       st.floats(0.25, 4.0))
def test_tau_at_one_over_T_undoes_tau_at_T(P: list[list[float]], T: float) -> None:
    P_arr = np.array(P)
    Ts = np.full(len(P), T)
    back = tau(tau(P_arr, Ts), 1 / Ts)
    np.testing.assert_allclose(back, P_arr, rtol=1e-9, atol=0)


@SETTINGS
@given(st.fractions(max_denominator=10**30))
def test_fraction_string_round_trips(x: Fraction) -> None:
    s = fraction_string(x)
    assert Fraction(s) == x
    assert parse_number(s) == x  # what the corpus accepts back


@SETTINGS
@given(st.integers(-10**6, 10**6), st.integers(-300, 300))
def test_scientific_strings_parse_exactly(mantissa: int, exponent: int) -> None:
    assert parse_number(f"{mantissa}e{exponent}") == Fraction(mantissa) * Fraction(10) ** exponent


@SETTINGS
@given(st.integers(1, 12), st.integers(2, 3000))
def test_describe_input_is_one_line(K: int, V: int) -> None:
    P = np.full((K, V), 1.0 / V)
    text = describe_input(P, np.ones(K), np.full(K, 1.0 / K))
    assert "\n" not in text
    assert len(text) < 2000


@pytest.mark.parametrize("spec", BUILTINS)
@SETTINGS
@given(exact_inputs())
def test_dual_derivative_matches_a_high_precision_difference_quotient(spec: str, data: tuple) -> None:
    """d q / d w along ``d`` from the precise form over ``Dual`` numbers = a 60-digit central difference."""
    P, T, w, d = data
    op = load_operator(spec)
    ctx = Derivative(HighPrecision(50))
    q = op.evaluate_precise(P, T, [ctx.seed(wk, dk) for wk, dk in zip(w, d)], ctx)
    ref = HighPrecision(60)
    h = Fraction(1, 10**20)
    # Stay inside the simplex: a weight at 0 moving down would leave the operator's domain.
    if any(wk - h * dk < 0 or wk + h * dk < 0 for wk, dk in zip(w, d)):
        return
    up = op.evaluate_precise(P, T, [wk + h * dk for wk, dk in zip(w, d)], ref)
    down = op.evaluate_precise(P, T, [wk - h * dk for wk, dk in zip(w, d)], ref)
    for qi, a, b in zip(q, up, down):
        fd = (a - b) / (2 * ref.num(h))
        deriv = 0 if isinstance(qi.d, int) else qi.d
        assert abs(deriv - fd) <= mpmath.mpf("1e-30") * (1 + abs(fd)), (spec, deriv, fd)


@pytest.mark.parametrize("spec", BUILTINS)
@SETTINGS
@given(exact_inputs())
def test_interval_enclosure_contains_the_50_digit_value(spec: str, data: tuple) -> None:
    P, T, w, _ = data
    op = load_operator(spec)
    box = Interval(60)
    enclosed = op.evaluate_precise(P, T, w, box)
    value = op.evaluate_precise(P, T, w, HighPrecision(50))
    wide = mpmath.MPContext()  # compare exactly enough: no rounding of the 50-digit value or the ends
    wide.dps = 200
    slack = wide.mpf("1e-45")
    for iv, v in zip(enclosed, value):
        lo, hi = (wide.mpf(e) for e in box.bounds(iv))
        v = wide.mpf(v)
        assert lo - slack <= v <= hi + slack, (spec, lo, v, hi)
        assert hi - lo <= wide.mpf("1e-40"), "enclosure uselessly wide"
    assert abs(wide.fsum(wide.mpf(v) for v in value) - 1) <= slack
