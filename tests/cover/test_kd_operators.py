"""The built-in operators taken from distillation practice: their forms agree, and they mean what they say."""

from __future__ import annotations

import numpy as np
import pytest

from mtkd.counterexamples import SearchConfig, search_property
from mtkd.operators import load_operator
from mtkd.operators.precision import HighPrecision
from mtkd.results import Verdict
from mtkd.theorems import ExactPoint, get_property

KD = ("logit-mean", "logit-mean-post-t", "confidence", "entropy-weighted", "topk", "topk:k=1")


def _inputs(seed: int, N: int = 16, K: int = 3, V: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (rng.dirichlet(np.ones(V), size=(N, K)), np.exp(rng.uniform(-1, 1, size=(N, K))),
            rng.dirichlet(np.ones(K), size=N))


@pytest.mark.parametrize("spec", KD)
def test_single_batched_and_precise_forms_agree(spec: str) -> None:
    op = load_operator(spec)
    P, T, w = _inputs(1)
    batched = op.evaluate(P, T, w)
    single = np.array([op.func(P[n], T[n], w[n]) for n in range(len(P))])
    assert np.allclose(batched, single, rtol=1e-12, atol=1e-15)
    assert np.allclose(batched.sum(axis=-1), 1.0)
    if op.precise_func is None:
        assert spec.startswith("topk")  # selection needs comparisons: float64 only, said in the docstring
        return
    x = ExactPoint.from_floats(P[0], T[0], w[0])
    q = [float(v) for v in op.evaluate_precise(x.P, x.T, x.w, HighPrecision(30))]
    Pf, Tf, wf = x.floats()
    assert np.allclose(q, op.func(Pf, Tf, wf), rtol=1e-10, atol=1e-14)


def test_logit_operators_and_their_temperatures() -> None:
    P, T, w = _inputs(2)
    geometric, mean, post = (load_operator(s) for s in ("geometric", "logit-mean", "logit-mean-post-t"))
    # Averaging logits at per-teacher temperatures *is* the geometric pool of the scaled teachers...
    assert np.allclose(mean.evaluate(P, T, w), geometric.evaluate(P, T, w))
    # ...and one temperature after mixing agrees with it only when the temperatures are equal.
    same = np.full_like(T, 2.0)
    assert np.allclose(post.evaluate(P, same, w), mean.evaluate(P, same, w))
    assert not np.allclose(post.evaluate(P, T, w), mean.evaluate(P, T, w))


def test_confidence_weighting_is_not_affine_in_the_weights_certified() -> None:
    r = search_property(load_operator("confidence"), get_property("assumption-L"),
                        SearchConfig(seed=0, max_inputs=600, shrink_seconds=0))
    assert r.verdict is Verdict.REFUTED and r.certified, r.message


def test_topk_keeps_k_tokens_per_teacher() -> None:
    q = load_operator("topk:k=1").func(np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]), np.ones(2), np.array([0.5, 0.5]))
    assert np.allclose(q, [0.5, 0.0, 0.5])
    with pytest.raises(Exception, match="whole number"):
        load_operator("topk:k=1.5")
