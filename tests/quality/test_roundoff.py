"""Round-off is never a counterexample.

The linear pool, re-implemented in float64 only and in log space (logsumexp), is mathematically
the linear pool: every property the built-in ``linear`` satisfies, it satisfies too. Its float64
values differ from the exact ones by round-off, and without a precise form the suite can only
judge findings against each property's stated round-off bound. So any refutation here is a
false alarm.
"""

from __future__ import annotations

import numpy as np

from mtkd.engines import Engine
from mtkd.operators import Operator, wrap_callable
from mtkd.results import Verdict
from mtkd.theorems import PROPERTIES
from mtkd.verify import DEFAULT_BUDGET, VerifyOptions, verify

SEED = 20240611


def _log_tau(P: np.ndarray, T: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        z = np.log(P) / T[..., None]
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    top = a.max(axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(top, axis) + np.log(np.exp(a - top).sum(axis=axis))


def log_space_linear(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``q = exp(logsumexp_k(log w_k + log tau_Tk(p_k)))``: single form only."""
    with np.errstate(divide="ignore"):
        log_w = np.log(w)
    return np.exp(_logsumexp(log_w[:, None] + _log_tau(P, T), axis=0))


class BatchedLogSpaceLinear:
    """The same pool with a batched form but no precise form."""

    def __call__(self, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        return log_space_linear(P, T, w)

    def batched(self, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            log_w = np.log(w)
        return np.exp(_logsumexp(log_w[:, :, None] + _log_tau(P, T), axis=1))


def _check(op: Operator, max_inputs: int, seed: int) -> None:
    # The linear pool is not externally Bayesian: that refutation is real, not round-off.
    props = tuple(pid for pid in PROPERTIES if pid != "pool-external-bayesianity")
    # The input quota decides; the default --budget (600 s) is only a safety net: 120 s ran out at load ~19.
    report = verify(op, VerifyOptions(seed=seed, budget=DEFAULT_BUDGET, max_inputs=max_inputs, engine=Engine.SEARCH,
                                      corpus=None, properties=props))
    assert [r.property for r in report.results] == list(props)
    for r in report.results:
        if PROPERTIES[r.property].closed_only:  # vacuous on the open domain: said so, not searched
            assert r.verdict is Verdict.UNKNOWN
            continue
        assert r.verdict is Verdict.NOT_REFUTED, (r.property, r.message)
        # The quota is max_inputs whatever forms the operator has.
        assert r.extra["inputs"] >= r.extra["quota"] == max_inputs, (r.property, "ended before its input quota")
    assert report.exit_code == 0


def test_reimplementation_agrees_with_builtin_linear() -> None:
    """Guard for the test itself: the re-implementation is the linear pool, to round-off."""
    from mtkd.operators import load_operator

    rng = np.random.default_rng(SEED)
    P = rng.dirichlet(np.full(9, 0.3), size=(50, 3))
    T = 10 ** rng.uniform(-3, 3, size=(50, 3))
    w = rng.dirichlet(np.ones(3), size=50)
    want = load_operator("linear").evaluate(P, T, w)
    assert np.allclose(BatchedLogSpaceLinear().batched(P, T, w), want, rtol=1e-12, atol=1e-300)
    assert np.allclose(log_space_linear(P[0], T[0], w[0]), want[0], rtol=1e-12, atol=1e-300)
    # It is *not* bit-identical: there is round-off for the suite to tolerate.
    assert not np.array_equal(BatchedLogSpaceLinear().batched(P, T, w), want)


# One seed per form: seeds are the same code path. With the measured error radius set to 0
# (counterexamples/float_evidence.measure) each of the seeds 20240611, 0 and 1 failed both tests.
def test_single_form_float64_only_is_never_refuted() -> None:
    op = wrap_callable(log_space_linear, "log_space_linear", derive=False)  # float64 evidence only
    assert op.capabilities == ("single",)
    _check(op, max_inputs=400, seed=SEED)


# SEED made the guided search drive a weight to 5e-16, where axiom3's difference quotient
# carried O(1) round-off and was reported as a float64 "refutation" (fixed in theorems/axioms.py).
def test_batched_float64_only_is_never_refuted() -> None:
    op = wrap_callable(BatchedLogSpaceLinear(), "batched_log_space_linear", derive=False)
    assert op.capabilities == ("single", "batched")
    _check(op, max_inputs=6000, seed=SEED)
