"""The classical opinion-pooling properties (``pool-*``) give the literature's answers.

McConway (1981): the linear pool has the marginalization property; Genest, McConway & Schervish
(1986): the geometric (logarithmic) pool is externally Bayesian and the linear one is not; the
entropic pool re-tempers a unanimous opinion. Refutations must be certified; known-true pairs are
never refuted. Every certified counterexample is re-checked here in plain fractions/mpmath from
its exact strings, without the property's own code.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import mpmath
import numpy as np
import pytest

from mtkd.counterexamples import SearchConfig, search_property
from mtkd.operators import load_operator, wrap_callable
from mtkd.results import Result, Verdict
from mtkd.theorems import Domain, get_property
from mtkd.verify import VerifyOptions, verify

CONFIG = SearchConfig(seed=0, max_inputs=6000, shrink_seconds=2.0)


def mp(x: Fraction) -> mpmath.mpf:
    return mpmath.mpf(x.numerator) / x.denominator


def search(spec: str, pid: str, domain: Domain = Domain.OPEN) -> Result:
    return search_property(load_operator(spec), get_property(pid), replace(CONFIG, domain=domain))


def exact(cx) -> tuple[list[list[Fraction]], list[Fraction]]:
    return [[Fraction(v) for v in row] for row in cx.P], [Fraction(v) for v in cx.w]


def linear(P: list[list[Fraction]], w: list[Fraction]) -> list[Fraction]:
    return [sum((wk * row[i] for wk, row in zip(w, P)), Fraction(0)) for i in range(len(P[0]))]


def test_linear_has_marginalization_proved_symbolically() -> None:
    report = verify(load_operator("linear"), VerifyOptions(properties=("pool-marginalization",), max_inputs=600,
                                                             corpus=None))
    (r,) = report.results
    assert r.verdict is Verdict.PROVED and r.method == "symbolic (sympy)", r.message
    assert "V >= 3" in r.scope and not report.alarms


def test_linear_is_not_externally_bayesian_certified() -> None:
    r = search("linear", "pool-external-bayesianity")
    assert r.verdict is Verdict.REFUTED and r.certified, r.message
    cx = r.counterexample
    assert cx is not None
    P, w = exact(cx)
    lam = [Fraction(v) for v in cx.witness["likelihood"]]
    updated = [[p * l / sum(a * b for a, b in zip(row, lam)) for p, l in zip(row, lam)] for row in P]
    lhs = linear(updated, w)  # T = 1 in the statement, so the linear pool of the raw rows
    q = linear(P, w)
    rhs = [l * v / sum(a * b for a, b in zip(lam, q)) for l, v in zip(lam, q)]
    assert lhs != rhs  # exact rationals: the two sides really differ


@pytest.mark.parametrize("spec", ["geometric", "power:alpha=0"])
def test_geometric_is_externally_bayesian(spec: str) -> None:
    r = search(spec, "pool-external-bayesianity")
    assert r.verdict is Verdict.NOT_REFUTED, r.message


def test_geometric_has_no_marginalization_certified() -> None:
    r = search("geometric", "pool-marginalization")
    assert r.verdict is Verdict.REFUTED and r.certified, r.message
    cx = r.counterexample
    P, w = exact(cx)
    a, b = sorted((cx.witness["token"], cx.witness["token2"]))

    def geo(rows: list[list[Fraction]]) -> list[mpmath.mpf]:
        m = [mpmath.fprod(mp(row[i]) ** mp(wk) for wk, row in zip(w, rows)) for i in range(len(rows[0]))]
        return [v / mpmath.fsum(m) for v in m]

    merged = [[row[a] + row[b] if j == a else v for j, v in enumerate(row) if j != b] for row in P]
    with mpmath.workdps(50):
        q, qm = geo(P), geo(merged)
        coarse = [q[a] + q[b] if j == a else v for j, v in enumerate(q) if j != b]
        assert max(abs(x - y) for x, y in zip(qm, coarse)) > mpmath.mpf(10) ** -20


def test_entropic_fails_unanimity_certified() -> None:
    r = search("entropic:beta=0.5", "pool-unanimity")
    assert r.verdict is Verdict.REFUTED and r.certified, r.message
    cx = r.counterexample
    P, _ = exact(cx)
    p = P[cx.witness["k"]]
    # Unanimous teachers p at T = 1: the entropic pool is p^(1/(1+beta)) normalised, not p.
    with mpmath.workdps(50):
        powered = [mp(v) ** (mpmath.mpf(2) / 3) for v in p]
        total = mpmath.fsum(powered)
        assert max(abs(v / total - mp(x)) for v, x in zip(powered, p)) > 1e-6


@pytest.mark.parametrize("spec", ["linear", "geometric", "power:alpha=2", "max"])
@pytest.mark.parametrize("pid", ["pool-unanimity", "pool-anonymity", "pool-neutrality"])
def test_builtins_keep_the_symmetry_properties(spec: str, pid: str) -> None:
    r = search_property(load_operator(spec), get_property(pid), SearchConfig(seed=1, max_inputs=1500, shrink_seconds=0))
    assert r.verdict is Verdict.NOT_REFUTED, r.message


def _smoothed(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Linear pooling plus additive smoothing: gives mass to tokens every teacher ruled out."""
    Q = P ** (1 / T[..., None])
    Q = Q / Q.sum(axis=-1, keepdims=True)
    q = np.einsum("...k,...kv->...v", w, Q) + 0.01
    return q / q.sum(axis=-1, keepdims=True)


def _smoothed_precise(P, T, w, ctx):
    Q = []
    for row, t in zip(P, T):
        powered = [ctx.exp(ctx.log(p) / t) if not ctx.is_zero(p) else p for p in row]
        Q.append([x / sum(powered[1:], powered[0]) for x in powered])
    q = [sum((wk * Qk[i] for wk, Qk in zip(w, Q)), ctx.num(0)) + ctx.num(Fraction(1, 100)) for i in range(len(Q[0]))]
    total = sum(q[1:], q[0])
    return [v / total for v in q]


_smoothed.batched = _smoothed  # type: ignore[attr-defined]
_smoothed.precise = _smoothed_precise  # type: ignore[attr-defined]


def test_zero_preservation_is_closed_domain_only_and_catches_smoothing() -> None:
    prop = get_property("pool-zero-preservation")
    op = wrap_callable(_smoothed, "smoothed")
    config = SearchConfig(seed=0, max_inputs=600, shrink_seconds=0)
    assert search_property(op, prop, config).verdict is Verdict.UNKNOWN  # vacuous on the open domain
    r = search_property(op, prop, replace(config, domain=Domain.CLOSED))
    assert r.verdict is Verdict.REFUTED and r.certified, r.message
    kept = search_property(load_operator("linear"), prop, replace(config, domain=Domain.CLOSED))
    assert kept.verdict is Verdict.NOT_REFUTED, kept.message
