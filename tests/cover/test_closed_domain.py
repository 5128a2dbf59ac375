"""The closed domain (teachers with exact zeros): generators, exact points, guided refinement,
domain-aware verdicts and scopes, and the explanation of an operator that is undefined there."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from mtkd.counterexamples import SearchConfig, search_property
from mtkd.counterexamples.certify import check_exact
from mtkd.counterexamples.generators import CLOSED_P_GENERATORS, P_GENERATORS, generate
from mtkd.counterexamples.guided import GuidedConfig, refine
from mtkd.engines import Engine
from mtkd.operators import load_operator
from mtkd.results import Verdict
from mtkd.theorems import Batch, Domain, ExactPoint, get_property
from mtkd.theorems.axioms import Axiom5
from mtkd.verify import VerifyOptions, verify

SIZES = [(1, 2), (2, 2), (3, 2), (2, 3), (5, 4), (3, 64)]


@pytest.mark.parametrize("gen", CLOSED_P_GENERATORS, ids=lambda g: g.__name__)
def test_closed_generators_put_zeros_in_valid_rows(gen) -> None:
    rng = np.random.default_rng(1)
    for K, V in SIZES:
        P = gen(rng, 300, K, V)
        assert P.shape == (300, K, V)
        assert (P >= 0).all() and np.allclose(P.sum(-1), 1.0, rtol=0, atol=1e-12)
        assert (P > 0).any(-1).all(), "every teacher keeps a positive entry"
        assert (P == 0).any(axis=(1, 2)).all(), "every closed-domain input has an exact zero"


def test_open_generators_have_no_zeros_and_generate_picks_by_domain() -> None:
    rng = np.random.default_rng(2)
    for gen in P_GENERATORS:
        assert (gen(rng, 100, 3, 8) > 0).all()
    for _ in range(20):
        closed = generate(rng, 16, 3, 4, Domain.CLOSED)
        assert closed.generator.startswith("zeros_") and (closed.P == 0).any()
        assert (generate(rng, 16, 3, 4).P > 0).all()


def test_disjoint_supports_are_disjoint() -> None:
    P = CLOSED_P_GENERATORS[2](np.random.default_rng(3), 200, 3, 7)
    assert ((P > 0).sum(axis=1) <= 1).all()


def test_exact_points_keep_zeros_exactly_zero() -> None:
    x = ExactPoint.from_floats(np.array([[0.0, 0.3, 0.7], [1.0, 0.0, 0.0]]), np.ones(2), np.array([0.0, 1.0]))
    assert x.P[0][0] == 0 and x.P[1][1:] == (0, 0) and x.w[0] == 0
    assert all(sum(row) == 1 for row in x.P) and sum(x.w) == 1


def test_guided_refinement_keeps_the_zero_pattern() -> None:
    rng = np.random.default_rng(4)
    op, prop = load_operator("power:alpha=2"), get_property("prop-IV.11")
    x = generate(rng, 32, 3, 5, Domain.CLOSED)
    y, _, _ = refine(op, prop, x, prop.margins(op, x, rng), rng, GuidedConfig(parents=4, children=8, generations=4))
    # The refined parents descend from some seed rows; each keeps exactly its seed's zeros.
    seeds = {tuple(map(tuple, (row == 0))) for row in x.P}
    assert all(tuple(map(tuple, row == 0)) in seeds for row in y.P)
    assert all((row == 0).any() for row in y.P)


def test_axiom5_limit_teacher_is_uniform_on_the_support() -> None:
    p = np.array([[0.0, 0.3, 0.7, 0.0]])
    assert np.array_equal(Axiom5.limit_teacher(p, "b-inf"), [[0, 0.5, 0.5, 0]])
    assert np.array_equal(Axiom5.limit_teacher(np.array([[0.2, 0.8]]), "b-inf"), [[0.5, 0.5]])


def test_thm_iv9_holds_where_a_weighted_teacher_rules_the_token_out() -> None:
    # geometric: q(1) = 0, but Q_1(1) = 0 with w_1 > 0 makes the right side +inf; log 0 is never taken.
    x = ExactPoint.from_strings([["0.5", "0.5"], ["1", "0"]], ["1", "1"], ["0.5", "0.5"])
    for spec in ("geometric", "linear", "max"):
        out = check_exact(load_operator(spec), get_property("thm-IV.9"), x, {"token": 1})
        assert out.counterexample is None and "certified >= 0" in out.reason


def _closed(spec: str, props: tuple[str, ...], engine: Engine = Engine.SEARCH):
    return verify(load_operator(spec), VerifyOptions(max_inputs=600, budget=60, engine=engine, properties=props,
                                                     corpus=None, domain=Domain.CLOSED))


def test_axiom2_is_unknown_on_the_closed_domain() -> None:
    (r,) = _closed("linear", ("axiom2",)).results
    assert r.verdict is Verdict.UNKNOWN and "open domain only" in r.message
    result = search_property(load_operator("linear"), get_property("axiom2"), SearchConfig(domain=Domain.CLOSED))
    assert result.verdict is Verdict.UNKNOWN


def test_provers_never_prove_on_the_closed_domain_and_scopes_name_the_domain() -> None:
    report = _closed("linear", ("axiom1", "axiom3", "thm-IV.9"), Engine.ALL)
    assert all(r.verdict is Verdict.NOT_REFUTED for r in report.results)
    assert all(r.scope.startswith("closed domain") and "open domain only" in r.message for r in report.results)
    assert report.options["domain"] == "closed"
    (smt,) = _closed("linear", ("axiom1",), Engine.SMT).results
    assert smt.verdict is Verdict.UNKNOWN
    opened = verify(load_operator("linear"), VerifyOptions(max_inputs=200, engine=Engine.SEARCH,
                                                           properties=("axiom1",), corpus=None))
    assert opened.results[0].scope.startswith("open domain")


def test_geometric_error_explains_that_the_pool_is_undefined_and_the_rest_is_checked() -> None:
    report = _closed("geometric", ("axiom1", "axiom2", "thm-IV.2"))
    by = {r.property: r for r in report.results}
    assert by["axiom1"].verdict is Verdict.ERROR
    assert "undefined" in by["axiom1"].message and "share no token" in by["axiom1"].message
    assert "P=" in by["axiom1"].message, "the error gives the input"
    assert by["axiom2"].verdict is Verdict.UNKNOWN and by["thm-IV.2"].verdict is Verdict.NOT_REFUTED
    assert load_operator("linear").undefined_note == "" and load_operator("power:alpha=2").undefined_note == ""
    assert load_operator("power:alpha=-1").undefined_note != ""


def test_corpus_points_are_filtered_by_domain(tmp_path) -> None:
    from mtkd.counterexamples.corpus import save
    from mtkd.verify import replay_corpus

    op, prop = load_operator("power:alpha=-1"), get_property("axiom3")
    x = ExactPoint.from_strings([["0.5", "0.5"], ["1", "0"]], ["1", "1"], ["0.5", "0.5"])
    cx = check_exact(op, prop, x, {"k": 0, "k2": 1, "token": 1}).counterexample
    assert cx is not None and cx.certified
    assert save(op, prop, cx, 0, tmp_path).name == "power_alpha=-1__axiom3__closed.json"
    # The packaged corpus (replayed after the given directory) has an open-domain point for this pair.
    opened = replay_corpus(op, prop, str(tmp_path), Domain.OPEN)
    assert opened is None or "__closed" not in opened.extra["corpus_file"], "a point with zeros is not open-domain"
    got = replay_corpus(op, prop, str(tmp_path), Domain.CLOSED)
    assert got is not None and got.verdict is Verdict.REFUTED and got.scope.startswith("closed domain")
    assert got.extra["corpus_file"] == "power_alpha=-1__axiom3__closed.json"


def test_cli_domain_option(tmp_path) -> None:
    from click.testing import CliRunner

    from mtkd.cli import main

    res = CliRunner().invoke(main, ["verify", "linear", "--domain", "closed", "-p", "axiom2", "--format", "json"])
    assert res.exit_code == 0 and '"verdict": "unknown"' in res.output and '"domain": "closed"' in res.output
    res = CliRunner().invoke(main, ["search", "linear", "axiom1", "--domain", "closed", "--max-inputs", "300",
                                    "--format", "json", "--workers", "1"])
    assert res.exit_code == 0 and "closed domain" in res.output
    assert CliRunner().invoke(main, ["verify", "linear", "--domain", "half-open"]).exit_code == 2
