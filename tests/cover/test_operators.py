"""Built-in operators: documented formulas vs independent mpmath, the three forms agree, limits."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from mtkd.operators import BUILTINS, load_operator
from mtkd.operators.precision import HighPrecision

SPECS = (
    ("linear", {}),
    ("geometric", {}),
    ("power", {"alpha": 2.0}),
    ("power", {"alpha": 0.5}),
    ("power", {"alpha": -1.5}),
    ("entropic", {"beta": 0.5}),
    ("entropic", {"beta": -0.5}),
    ("max", {}),
)


def _spec(name: str, params: dict[str, float]) -> str:
    return name + (":" + ",".join(f"{k}={v:g}" for k, v in params.items()) if params else "")


def _inputs(seed: int, n: int, K: int, V: int, zeros: bool = False):
    """Random teachers (rows summing to one), temperatures and weights, rounded to exact decimals."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        P = rng.dirichlet(np.full(V, 0.7), size=K)
        if zeros:
            P[rng.random((K, V)) < 0.3] = 0.0
            P[:, 0] = np.maximum(P[:, 0], 0.05)  # keep a common token so every pool is defined
        P = np.round(P / P.sum(axis=1, keepdims=True), 12)
        P[:, -1] = 1 - P[:, :-1].sum(axis=1)
        P = np.array([[float(Fraction(float(x))) for x in row] for row in P])
        T = np.round(10 ** rng.uniform(-1, 1, size=K), 6)
        w = np.round(rng.dirichlet(np.ones(K)), 12)
        w[-1] = 1 - w[:-1].sum()
        out.append((P, T, w))
    return out


def _mp_list(q) -> np.ndarray:
    return np.array([float(v) for v in q])


@pytest.mark.parametrize("name,params", SPECS, ids=[_spec(*s) for s in SPECS])
def test_formula_matches_independent_mpmath(name: str, params: dict[str, float], ref) -> None:
    op = load_operator(_spec(name, params))
    for P, T, w in _inputs(1, 6, 3, 5) + _inputs(2, 4, 1, 4) + _inputs(3, 4, 4, 2):
        got = op.func(P, T, w)
        want = _mp_list(ref.pool(name, params, P, T, w))
        assert got.shape == (P.shape[1],)
        assert np.allclose(got, want, rtol=1e-10, atol=1e-15), (P, T, w, got, want)


@pytest.mark.parametrize("name,params", SPECS, ids=[_spec(*s) for s in SPECS])
def test_batched_single_and_precise_forms_agree(name: str, params: dict[str, float], ref) -> None:
    op = load_operator(_spec(name, params))
    assert op.batched_func is not None and op.precise_func is not None
    inputs = _inputs(7, 8, 3, 6)
    P = np.stack([x[0] for x in inputs])
    T = np.stack([x[1] for x in inputs])
    w = np.stack([x[2] for x in inputs])
    batched = op.evaluate(P, T, w)
    ctx = HighPrecision(50)
    for n, (Pn, Tn, wn) in enumerate(inputs):
        single = op.func(Pn, Tn, wn)
        exact = ([[Fraction(float(x)) for x in row] for row in Pn], [Fraction(float(t)) for t in Tn],
                 [Fraction(float(x)) for x in wn])
        precise = op.evaluate_precise(*exact, ctx)
        mp_ref = ref.pool(name, params, *exact)
        assert np.allclose(batched[n], single, rtol=1e-13, atol=1e-300)
        # The precise form is the 50-digit truth: it agrees with the reference to ~40 digits.
        assert all(abs(a - b) <= ref.ctx.mpf(10) ** -40 for a, b in zip(precise, mp_ref))
        assert np.allclose(single, _mp_list(precise), rtol=1e-10, atol=1e-15)


def test_power_alpha_one_is_linear() -> None:
    power, linear = load_operator("power:alpha=1"), load_operator("linear")
    for P, T, w in _inputs(4, 10, 4, 7):
        assert np.allclose(power.func(P, T, w), linear.func(P, T, w), rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("sign", (1, -1))
def test_power_alpha_to_zero_approaches_geometric(sign: int) -> None:
    geo = load_operator("geometric")
    alphas = (1e-1, 1e-2, 1e-3, 1e-5)
    for P, T, w in _inputs(5, 6, 3, 5):
        g = geo.func(P, T, w)
        gaps = [np.abs(load_operator(f"power:alpha={sign * a:g}").func(P, T, w) - g).max() for a in alphas]
        # The power mean is the geometric mean plus O(alpha): the gap shrinks with alpha.
        assert gaps[0] > gaps[1] > gaps[2] > gaps[3]
        assert gaps[3] < 1e-5
        assert gaps[1] < 0.2 * gaps[0]
    P, T, w = _inputs(6, 1, 2, 3)[0]
    assert np.allclose(load_operator("power:alpha=0").func(P, T, w), geo.func(P, T, w), rtol=1e-14)


def test_entropic_beta_zero_is_geometric_and_beta_tempers_it(ref) -> None:
    ent0, geo = load_operator("entropic:beta=0"), load_operator("geometric")
    ent1 = load_operator("entropic:beta=1")
    for P, T, w in _inputs(8, 8, 3, 5):
        g = geo.func(P, T, w)
        assert np.allclose(ent0.func(P, T, w), g, rtol=1e-14, atol=0)
        # beta = 1 is the geometric pool at temperature 2: q ∝ g^(1/2).
        root = np.sqrt(g) / np.sqrt(g).sum()
        assert np.allclose(ent1.func(P, T, w), root, rtol=1e-12)


def test_max_ignores_weights() -> None:
    op = load_operator("max")
    rng = np.random.default_rng(9)
    for P, T, w in _inputs(10, 6, 4, 5):
        q = op.func(P, T, w)
        for w2 in (rng.dirichlet(np.ones(4)), np.eye(4)[rng.integers(4)], np.full(4, 0.25)):
            assert np.array_equal(op.func(P, T, w2), q)
        top = np.max([np.array(P[k]) ** (1 / T[k]) / np.sum(np.array(P[k]) ** (1 / T[k])) for k in range(4)], axis=0)
        assert np.allclose(q, top / top.sum(), rtol=1e-12)


def test_temperature_enters_through_tau(ref) -> None:
    """Every built-in with one teacher at w = e_1 sees tau_T(p), not p (max and geometric return it)."""
    p = np.array([0.1, 0.2, 0.7])
    for spec in ("linear", "geometric", "max", "power:alpha=3", "power:alpha=-2"):
        q = load_operator(spec).func(p[None], np.array([0.25]), np.array([1.0]))
        assert np.allclose(q, [float(v) for v in ref.tau(p, 0.25)], rtol=1e-12), spec


# ---- closed domain (zeros) --------------------------------------------------------------------

P_ZEROS = np.array([[0.0, 0.5, 0.5, 0.0], [0.2, 0.0, 0.8, 0.0], [0.25, 0.25, 0.25, 0.25]])
T3 = np.array([1.0, 0.5, 2.0])


@pytest.mark.parametrize("spec,w,zero_tokens", [
    # linear / power alpha > 0: zero only where every positive-weight teacher is zero
    ("linear", [0.5, 0.5, 0.0], [3]),
    ("power:alpha=2", [0.5, 0.5, 0.0], [3]),
    ("linear", [1 / 3, 1 / 3, 1 / 3], []),
    # geometric / entropic / power alpha < 0: one positive-weight zero kills the token
    ("geometric", [0.5, 0.5, 0.0], [0, 1, 3]),
    ("entropic:beta=0.5", [0.5, 0.5, 0.0], [0, 1, 3]),
    ("power:alpha=-1", [0.5, 0.5, 0.0], [0, 1, 3]),
    ("geometric", [0.5, 0.0, 0.5], [0, 3]),
    # a zero-weight teacher has no say, even with zeros
    ("geometric", [0.0, 0.0, 1.0], []),
    # max: zero only where all teachers are zero, whatever the weights
    ("max", [1.0, 0.0, 0.0], []),
])
def test_closed_domain_zeros(spec: str, w: list[float], zero_tokens: list[int], ref) -> None:
    op = load_operator(spec)
    w = np.array(w)
    q = op.func(P_ZEROS, T3, w)
    assert np.isfinite(q).all() and abs(q.sum() - 1) < 1e-14
    assert [i for i in range(4) if q[i] == 0.0] == zero_tokens
    name, _, tail = spec.partition(":")
    params = {k: float(v) for k, v in (item.split("=") for item in tail.split(",") if item)}
    assert np.allclose(q, _mp_list(ref.pool(name, params, P_ZEROS, T3, w)), rtol=1e-12, atol=0)
    # The precise form keeps the same zeros exactly.
    ctx = HighPrecision(30)
    exact = op.evaluate_precise([[Fraction(float(x)) for x in r] for r in P_ZEROS], [Fraction(t) for t in T3],
                                [Fraction(x).limit_denominator(10) for x in w], ctx)
    assert [i for i in range(4) if exact[i] == 0] == zero_tokens


def test_geometric_without_common_support_is_nan_not_garbage() -> None:
    """Documented gap: positive-weight teachers with disjoint supports leave the pool undefined."""
    with np.errstate(invalid="ignore"):
        q = load_operator("geometric").func(np.array([[1.0, 0.0], [0.0, 1.0]]), np.ones(2), np.array([0.5, 0.5]))
    assert np.isnan(q).all()


def test_builtins_document_formula_source_and_params() -> None:
    assert set(BUILTINS) == {"linear", "geometric", "power", "entropic", "max", "reweighted", "logit-mean",
                             "logit-mean-post-t", "confidence", "entropy-weighted", "topk"}
    for cls in BUILTINS.values():
        assert cls.formula.startswith("q(i)") and cls.source
    assert set(BUILTINS["power"].param_doc) == {"alpha"}
    assert set(BUILTINS["entropic"].param_doc) == {"beta"}
