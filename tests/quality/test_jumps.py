"""Axiom 4: operators with a jump are refuted with a certified jump; correct built-ins never."""

from __future__ import annotations

import numpy as np
import pytest

from mtkd.counterexamples import SearchConfig, search_property
from mtkd.counterexamples.jumps import bisect_segments
from mtkd.operators import load_operator, wrap_callable
from mtkd.operators.precision import Interval
from mtkd.results import Verdict
from mtkd.theorems import Batch, ExactPoint, get_property
from tests.operators_jumps import ARGMAX, SWITCH, THRESHOLD

AXIOM4 = get_property("axiom4")


def test_thresholded_linear_pool_gets_axiom4_refuted_with_a_certified_jump() -> None:
    op = wrap_callable(THRESHOLD, "tests.operators_jumps:THRESHOLD")
    r = search_property(op, AXIOM4, SearchConfig(seed=0, seconds=120, max_inputs=1500, shrink_seconds=0))
    assert r.verdict is Verdict.REFUTED and r.certified, r.message
    cx = r.counterexample
    assert cx is not None and "1e-20, 1e-30, 1e-40" in cx.explanation


@pytest.mark.parametrize("op,w_from,w_to", [
    (ARGMAX, (0.3, 0.3, 0.4), (0.6, 0.3, 0.1)),   # the largest weight moves from teacher 2 to teacher 0
    (SWITCH, (0.3, 0.3, 0.4), (0.8, 0.1, 0.1)),   # the largest weight crosses 1/2: geometric -> linear
])
def test_constructed_jumps_are_found_by_bisection_and_certified(op, w_from, w_to, monkeypatch) -> None:
    from mtkd.counterexamples import jumps

    wrapped = wrap_callable(op, f"tests.operators_jumps:{op.name.upper()}")
    P = np.array([[[0.2, 0.5, 0.3], [0.6, 0.1, 0.3], [0.1, 0.1, 0.8]]])
    x = Batch(P, np.ones((1, 3)), np.array([w_from]))
    y = Batch(P, np.ones((1, 3)), np.array([w_to]))
    # A segment in w only, bisected in float64 by the search's own code (with this fixed end).
    monkeypatch.setattr(jumps, "segment_ends", lambda batch, rng: y)
    found = bisect_segments(wrapped, x, np.random.default_rng(0))
    assert found.jump[0]
    witness = {"segment": 1, **{k: v[0].tolist() for k, v in found.witness().items()}}
    pm = AXIOM4.precise_margin(wrapped, ExactPoint.from_floats(P[0], np.ones(3), np.array(w_from)), witness,
                               Interval(60))
    assert Interval(60).sign(pm.value) == -1, pm.detail


@pytest.mark.parametrize("spec", ["linear", "power:alpha=-1", "max", "reweighted"])
def test_continuous_builtins_never_get_a_jump(spec: str) -> None:
    op = load_operator(spec)
    rng = np.random.default_rng(7)
    from mtkd.counterexamples.generators import generate

    for K, V in ((2, 3), (3, 8)):
        found = bisect_segments(op, generate(rng, 64, K, V), rng)
        assert not found.jump.any(), spec


# ---- float-only operators: a jump shown at pairs around it, each endpoint's error on its own side ----

def _sharpened_batched(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The linear pool raised to the power 1e9 and renormalised: continuous, but it changes by a
    whole unit across a relative distance of ~1e-8 where its two largest entries tie (a thousand
    times steeper than a teacher at the smallest temperature the search draws, 1e-6)."""
    from mtkd.operators.temperature import tau

    q = np.einsum("nk,nkv->nv", w, tau(P, T))
    z = np.log(q) * 1e9
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sharpened(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    return _sharpened_batched(P[None], T[None], w[None])[0]


_sharpened.batched = _sharpened_batched  # type: ignore[attr-defined]


@pytest.mark.parametrize("seed", [0, 1, 3, 4])
def test_float_only_topk_jump_is_refuted_by_pairs_around_it(seed: int) -> None:
    # topk has no precise form. Its jumps sit where a teacher's k-th and (k+1)-th entries tie; an
    # enclosure at the bisection's bracket measured the jump itself as the operator's error
    # ("within the operator's measured round-off" for every candidate of seeds 0 and 1).
    r = search_property(load_operator("topk"), AXIOM4, SearchConfig(seed=seed, max_inputs=6000, shrink_seconds=0))
    assert r.verdict is Verdict.REFUTED and not r.certified, r.message
    cx = r.counterexample
    assert cx is not None and cx.witness.get("segment") == 1
    assert cx.certificate.startswith("conditional on the operator's output being accurate to"), cx.certificate
    assert "does not shrink" in cx.certificate and "1e-06, 1e-09, 1e-12" in cx.explanation


def test_jump_evidence_brackets_a_topk_tie_and_measures_each_side() -> None:
    from mtkd.counterexamples.float_evidence import jump_evidence

    op = load_operator("topk")
    rng = np.random.default_rng(5)
    for _ in range(4):
        P = rng.dirichlet(np.ones(5), size=(1, 3))
        order = np.argsort(-P[0, 0])
        Pb = P.copy()
        Pb[0, 0, order[[1, 2]]] = P[0, 0, order[[2, 1]]]  # teacher 0's 2nd and 3rd entries swap places
        T, w = np.ones((1, 3)), rng.dirichlet(np.ones(3), size=1)
        ev = jump_evidence(op, Batch(P, T, w), Batch(Pb, T, w), (0.0, 1.0), False)
        assert ev.shown, ev.reason
        assert [round(np.log10(p.distance)) for p in ev.pairs] == [-6, -9, -12]
        assert all(m.radius.max() < 1e-12 for m in ev.measured)  # no endpoint's error is the jump


def test_steep_continuous_float_only_operator_is_never_shown_a_jump() -> None:
    from mtkd.counterexamples.float_evidence import jump_evidence

    op = wrap_callable(_sharpened, "steep", derive=False)
    # A segment across the tie of the linear pool's two largest entries (token 0 overtakes token 1).
    P = np.array([[[0.30, 0.40, 0.30], [0.45, 0.35, 0.20]]])
    Pb = np.array([[[0.40, 0.30, 0.30], [0.45, 0.35, 0.20]]])
    T, w = np.ones((1, 2)), np.array([[0.5, 0.5]])
    ev = jump_evidence(op, Batch(P, T, w), Batch(Pb, T, w), (0.0, 1.0), False)
    assert not ev.shown, ev.reason
    assert ev.pairs[0].high > 0.5 > 1e3 * ev.pairs[-1].high  # a unit change at 1e-6, shrinking below it
    r = search_property(op, AXIOM4, SearchConfig(seed=0, max_inputs=1500, shrink_seconds=0))
    assert r.verdict is Verdict.NOT_REFUTED, r.message
