"""Temperature scaling ``tau_T``: log-space accuracy at extreme T, zeros, identity and limits."""

from __future__ import annotations

import numpy as np
import pytest

from mtkd.operators.temperature import log_tau, tau

TEMPERATURES = (1e-6, 1e-3, 1.0, 1e3, 1e6)

ROWS = (
    np.array([0.2, 0.3, 0.5]),
    np.array([1e-300, 1e-12, 0.25, 0.75 - 1e-12]),
    np.array([0.6, 0.1, 0.1, 0.1, 0.1]),
    np.array([0.5, 0.5]),
)


@pytest.mark.parametrize("T", TEMPERATURES)
@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"V{len(r)}")
def test_log_tau_matches_mpmath_at_extreme_temperatures(row: np.ndarray, T: float, ref) -> None:
    got = log_tau(row[None], np.array([T]))[0]
    want = ref.log_tau(row, T)
    assert np.isfinite(got).all()
    for g, r in zip(got, want):
        # log tau can be ~-7e8 at T = 1e-6: relative accuracy is what float64 can promise.
        assert abs(g - float(r)) <= 1e-12 * max(1.0, abs(float(r)))
    q = tau(row[None], np.array([T]))[0]
    assert np.isfinite(q).all()
    assert abs(q.sum() - 1.0) <= 1e-15 * len(row)
    for g, r in zip(q, want):
        # tau = exp(log tau): its relative error is the absolute error of log tau, ~eps |log tau|.
        expected = float(ref.ctx.exp(r))
        assert abs(g - expected) <= 4e-15 * max(1.0, abs(float(r))) * expected + 1e-300


@pytest.mark.parametrize("T", TEMPERATURES)
def test_zeros_stay_exactly_zero(T: float, ref) -> None:
    row = np.array([0.0, 0.3, 0.0, 0.7])
    lq = log_tau(row[None], np.array([T]))[0]
    q = tau(row[None], np.array([T]))[0]
    assert q[0] == 0.0 and q[2] == 0.0
    assert np.isneginf(lq[[0, 2]]).all()
    # The support keeps finite log-probabilities, correct to float64 accuracy, at every T.
    want = ref.log_tau(row, T)
    for i in (1, 3):
        assert np.isfinite(lq[i])
        assert abs(lq[i] - float(want[i])) <= 1e-12 * max(1.0, abs(float(want[i])))
    assert abs(q.sum() - 1.0) <= 1e-15


def test_temperature_one_is_identity() -> None:
    rng = np.random.default_rng(11)
    P = rng.dirichlet(np.full(7, 0.4), size=(50,))
    P[3, 2] = 0.0
    P[3] /= P[3].sum()
    q = tau(P, np.ones(50))
    assert np.allclose(q, P, rtol=1e-13, atol=0)
    assert q[3, 2] == 0.0


def test_batched_shapes_apply_each_rows_own_temperature(ref) -> None:
    P = np.array([[[0.2, 0.8], [0.6, 0.4]], [[0.1, 0.9], [0.5, 0.5]]])
    T = np.array([[2.0, 1e-3], [1e3, 0.5]])
    q = tau(P, T)
    for n in range(2):
        for k in range(2):
            assert np.allclose(q[n, k], [float(v) for v in ref.tau(P[n, k], T[n, k])], rtol=1e-12)


def test_large_temperature_tends_to_uniform() -> None:
    row = np.array([1e-9, 0.2, 0.8 - 1e-9])
    gaps = [np.abs(tau(row[None], np.array([T]))[0] - 1 / 3).max() for T in (1e2, 1e4, 1e6)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 1e-4
    # Closed domain: the limit is uniform on the support, zeros excluded.
    q = tau(np.array([[0.0, 0.1, 0.9]]), np.array([1e12]))[0]
    assert q[0] == 0.0 and np.allclose(q[1:], 0.5, atol=1e-10)


def test_small_temperature_tends_to_one_hot() -> None:
    row = np.array([0.3, 0.45, 0.25])
    q = tau(row[None], np.array([1e-6]))[0]
    assert q[1] == 1.0 and q[0] == 0.0 and q[2] == 0.0
    q = tau(row[None], np.array([1e-2]))[0]
    assert q[1] > 1 - 1e-15


def test_small_temperature_with_ties_is_uniform_over_argmax() -> None:
    row = np.array([0.35, 0.1, 0.35, 0.2])
    q = tau(row[None], np.array([1e-6]))[0]
    assert q[0] == q[2] == 0.5
    assert q[1] == 0.0 and q[3] == 0.0
    q3 = tau(np.array([[0.3, 0.3, 0.3, 0.1]]), np.array([1e-9]))[0]
    assert np.allclose(q3, [1 / 3, 1 / 3, 1 / 3, 0.0], rtol=1e-15, atol=0)


def test_tau_inverse_is_tau_of_reciprocal_temperature() -> None:
    """docs/formalization.md's lemma: tau_T is a bijection of the open simplex with inverse tau_{1/T}."""
    rng = np.random.default_rng(5)
    P = rng.dirichlet(np.ones(6), size=(20,))
    T = 10 ** rng.uniform(-1, 1, size=20)
    back = tau(tau(P, T), 1 / T)
    assert np.allclose(back, P, rtol=1e-9, atol=0)
