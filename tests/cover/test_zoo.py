"""Real-world-style operators (tests/zoo_operators.py): true statements never refuted, known
violations refuted, and every reported counterexample re-checked at 60 digits by the independent
referee (tests/referee.py). Float-only variants are loaded with ``derive=False`` so that their
evidence comes from the measured float output, not from a derived precise form.

Ground truth (open domain), decided by hand from each formula and confirmed by the referee:
mean of logits is the geometric pool (not weight-monotone, not the linear mixture); confidence- and
entropy-weighted pools are convex combinations with weights other than ``w`` (so not affine in
``w`` and not under the safety bound of Cor. IV.12, but inside the hull); top-2 fusion zeroes
tokens (Axiom 2 fails exactly); a log-space linear pool is the linear pool; max pooling ignores
the weights (derivative exactly 0: Axiom 3's strict part fails; affine in ``w`` trivially).
"""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from mtkd.counterexamples.certify import check_exact
from mtkd.counterexamples.generators import size_cycle
from mtkd.engines import Engine
from mtkd.operators import wrap_callable
from mtkd.results import Verdict
from mtkd.theorems import ExactPoint, get_property
from mtkd.verify import VerifyOptions, verify

import referee  # tests/ is on sys.path (its conftest.py sits there, no __init__.py)
import zoo_operators as zoo

# (operator, properties that hold, properties violated)
CASES = [
    ("mean_logits", ("thm-IV.9",), ("thm-IV.7",)),
    ("mean_logits_batched", ("axiom1",), ("axiom3", "prop-IV.11")),
    ("confidence_pool", ("axiom1-hull",), ("assumption-L",)),
    ("entropy_pool", ("axiom2",), ("cor-IV.12",)),
    ("topk_fusion", ("axiom1",), ("axiom2",)),
    ("logsumexp_linear", ("thm-IV.7", "axiom5"), ()),
    ("weight_blind_max", ("assumption-L",), ("axiom3",)),
]


SMALL = size_cycle((1, 2, 3), (2, 3, 4, 8))
"""Small sizes keep these single-input searches to about a second each."""


def _run(name: str, props: tuple[str, ...], max_inputs: int = 1200):
    op = wrap_callable(getattr(zoo, name), name, derive=False)
    report = verify(op, VerifyOptions(seed=0, max_inputs=max_inputs, engine=Engine.SEARCH, properties=props,
                                      corpus=None, sizes=SMALL))
    return {r.property: r for r in report.results}


@pytest.mark.parametrize("name,holds,violated", CASES, ids=[c[0] for c in CASES])
def test_zoo_verdicts_and_referee(name: str, holds: tuple[str, ...], violated: tuple[str, ...]) -> None:
    results = _run(name, holds + violated)
    for pid in holds:
        assert results[pid].verdict is Verdict.NOT_REFUTED, (pid, results[pid].message)
    for pid in violated:
        r = results[pid]
        assert r.verdict is Verdict.REFUTED, (pid, r.message)
        cx = r.counterexample.to_json()
        # Float-only evidence is conditional on the measured accuracy, and says so.
        assert not r.certified and "conditional on the operator's output" in cx["certificate"]
        assert referee.violated(name, pid, cx), (pid, cx)


def test_readme_operator_reports_undefined_inputs_and_gets_true_verdicts_where_defined() -> None:
    op = wrap_callable(zoo.readme_pool, "readme_pool")
    default = verify(op, VerifyOptions(seed=0, max_inputs=600, engine=Engine.SEARCH, properties=("thm-IV.7",),
                                       corpus=None)).results[0]
    # P ** (1/T) is 0/0 at T = 1e-6: recorded, the search went on, nothing refuted on the defined inputs.
    assert default.verdict is Verdict.ERROR
    assert "undefined" in default.message and "No counterexample on the defined inputs" in default.message
    assert default.extra["undefined"] > 0
    narrowed = verify(op, VerifyOptions(seed=0, max_inputs=600, engine=Engine.SEARCH, properties=("thm-IV.7", "axiom3"),
                                        corpus=None, temperature_range=(0.1, 10.0)))
    assert [r.verdict for r in narrowed.results] == [Verdict.NOT_REFUTED] * 2
    assert all("T in [0.1, 10]" in r.scope for r in narrowed.results)


def test_tiny_weight_geometric_limit_is_followed_not_cut_at_a_fixed_temperature() -> None:
    """w = 6e-11: the pool reaches its T -> 0 limit only near T = 1e-13; that is convergence, not a jump."""
    op = wrap_callable(zoo.geometric_tiny_weight, "geometric_tiny_weight", derive=False)
    x = ExactPoint(((F(3, 10), F(7, 10)), (F(6, 10), F(4, 10))), (F(1), F(1)), (F(6, 10**11), 1 - F(6, 10**11)))
    out = check_exact(op, get_property("axiom5"), x, {"part": "b-zero", "k": 0, "token": 0}, -0.1)
    assert out.counterexample is None and "converges" in out.reason


def test_logsumexp_pool_is_not_blamed_for_the_one_hot_reference_row() -> None:
    op = wrap_callable(zoo.logsumexp_linear, "logsumexp_linear", derive=False)
    with np.errstate(all="ignore"):
        assert np.isnan(zoo.logsumexp_linear(np.array([[1.0, 0.0]]), np.ones(1), np.ones(1))).any()
    x = ExactPoint(((F(3, 10), F(7, 10)), (F(6, 10), F(4, 10))), (F(1, 2), F(2)), (F(1, 2), F(1, 2)))
    out = check_exact(op, get_property("axiom5"), x, {"part": "b-zero", "k": 0, "token": 0}, -0.1)
    assert out.counterexample is None


def test_kl_with_huge_student_logs_is_judged_by_its_conditioning() -> None:
    """thm-IV.7 with a student of log-weight ~1e15: KL ~ 1e15, its float difference is noise, not a violation."""
    op = wrap_callable(zoo.logsumexp_linear, "logsumexp_linear", derive=False)
    x = ExactPoint(((F(3, 10), F(7, 10)), (F(6, 10), F(4, 10))), (F(1), F(1)), (F(1, 2), F(1, 2)))
    out = check_exact(op, get_property("thm-IV.7"), x, {"log_s": ["1e15", "-1e15"]}, -0.95)
    assert out.counterexample is None


def test_shrunk_axiom3_point_must_pass_the_hypothesis() -> None:
    """Q_k(i) = Q_k'(i) = 0.5: the hypothesis fails, so no counterexample whatever the derivative."""
    op = wrap_callable(zoo.mean_logits, "mean_logits", derive=False)
    x = ExactPoint(((F(1, 2), F(1, 2)), (F(1, 2), F(1, 2))), (F(1), F(1)), (F(1, 2), F(1, 2)))
    out = check_exact(op, get_property("axiom3"), x, {"k": 0, "k2": 1, "token": 0}, -1.0)
    assert out.counterexample is None and "hypothesis" in out.reason


def test_lying_and_disguised_precise_forms_are_errors_with_both_values() -> None:
    for name, fragment in (("lying_precise", "disagrees with op(P, T, w)"), ("float64_disguise", "float64 in disguise")):
        op = wrap_callable(getattr(zoo, name), name)
        (r,) = verify(op, VerifyOptions(seed=0, max_inputs=200, engine=Engine.SEARCH, properties=("axiom2",),
                                        corpus=None)).results
        assert r.verdict is Verdict.ERROR and fragment in r.message, r.message


def test_honest_precise_form_passes_the_forms_check() -> None:
    op = wrap_callable(zoo.linear_with_precise, "linear_with_precise")
    (r,) = verify(op, VerifyOptions(seed=0, max_inputs=300, engine=Engine.SEARCH, properties=("cor-IV.12",),
                                    corpus=None)).results
    assert r.verdict is Verdict.NOT_REFUTED, r.message


def test_float32_returned_values_are_judged_by_float32_error() -> None:
    def linear32(P, T, w):
        return zoo.linear_with_precise(P, T, w).astype(np.float32)

    op = wrap_callable(linear32, "linear32", derive=False)
    results = verify(op, VerifyOptions(seed=0, max_inputs=800, engine=Engine.SEARCH, properties=("axiom1", "cor-IV.12"),
                                       corpus=None)).results
    assert [r.verdict for r in results] == [Verdict.NOT_REFUTED] * 2, [r.message for r in results]
    assert op.dtype == "float32"


def _linear_float32_inputs(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The linear pool computed in float32 from float32 inputs (as ``torch.tensor(P, dtype=float32)`` does)."""
    P32, T32, w32 = (np.asarray(a, dtype=np.float32) for a in (P, T, w))
    with np.errstate(divide="ignore"):
        z = np.log(P32) / T32[:, None]
    Q = np.exp(z - z.max(axis=1, keepdims=True))
    return w32 @ (Q / Q.sum(axis=1, keepdims=True))


def test_limit_evidence_ignores_inputs_a_narrow_dtype_cannot_hold() -> None:
    # A probability of 5e-192 is 0 in float32: log 0 keeps the teacher one-hot at every T_k, so the
    # float32 pool "stays 0.5 away" from its T_k -> inf limit. That is the input cast, not the pool
    # (the linear pool converges): the torch float32 zoo pool was refuted this way under --workers 2.
    op = wrap_callable(_linear_float32_inputs, "linear_f32", derive=False)
    tiny = F(1, 2 * 10**192)
    x = ExactPoint(((1 - tiny, tiny),), (F(1),), (F(1),))
    outcome = check_exact(op, get_property("axiom5"), x, {"part": "b-inf", "k": 0, "token": 0})
    assert outcome.counterexample is None, outcome.counterexample
    assert "undecided" in outcome.reason


def test_exact_zero_is_decided_exactly_at_rational_temperatures() -> None:
    """max ignores the weights: at T = (1/2, 2) the derivative 0 is certified exactly, not only at T = 1."""
    from mtkd.operators import load_operator

    x = ExactPoint(((F(2, 10), F(8, 10)), (F(6, 10), F(4, 10))), (F(1, 2), F(2)), (F(1, 2), F(1, 2)))
    out = check_exact(load_operator("max"), get_property("axiom3"), x, {"k": 1, "k2": 0, "token": 0}, -1.0, exact=True)
    assert out.counterexample is not None and out.counterexample.certified
    assert "exactly 0" in out.counterexample.certificate and "exact arithmetic" in out.counterexample.certificate


def test_limit_is_not_blamed_before_other_cold_teachers_let_it_converge() -> None:
    # Geometric pool, every T = 1e-6: teacher 0's log-ratios scaled by 1/T_0 = 1e6 outweigh teacher
    # 1's until T_1 < ~2.4e-7, so the pool converges to the limit only there. Found by bench/zoo.py
    # as a false axiom5 refutation ("stays 1 from 1e-3 to 1e-6"); the stall scale now counts the
    # other teachers' temperature-scaled log-ranges.
    op = wrap_callable(zoo.mean_logits_batched, "mean_logits_batched", derive=False)
    P = ((F("0.23518059700457"), F("0.13929766864976192"), F("0.10976110677942429"), F("0.06674801298871703"),
          F("0.12809679125173712"), F("0.13465272349623092"), F("0.11642989284328475"), F("0.06983320698627397")),
         (F("0.12636186161874371"), F("0.09978344446109966"), F("0.08805389729468245"), F("0.0961066780836113"),
          F("0.15087061477605046"), F("0.1267548764583689"), F("0.1182651927964662"), F("0.19380343451097732")))
    x = ExactPoint(tuple(tuple(v / sum(row) for v in row) for row in P), (F(1, 10**6), F(1, 10**6)),
                   (F("0.5920889731529648"), F("0.4079110268470352")))
    ev, _ = get_property("axiom5").follow_limit(op, x, {"part": "b-zero", "k": 1, "token": 0})
    assert ev.verdict == "converges", ev.reason


def test_a_derived_form_that_is_nan_on_balls_at_a_zero_weight_is_not_a_disagreement() -> None:
    # logsumexp_linear takes log(w): at w_k = 0 balls give NaN where float64 and mpmath give -inf.
    # That is arithmetic the derived form does not run on, not a disagreement between the forms
    # (it made 'mtkd verify' report axiom3 as an error of this correct linear pool).
    from pathlib import Path

    from mtkd.counterexamples.certify import _check_forms_agree
    from mtkd.operators import load_operator

    op = load_operator(f"{Path(__file__).parents[1] / 'zoo_operators.py'}:logsumexp_linear")
    assert op.derived_note
    x = ExactPoint(((F(1, 5), F(4, 5)), (F(1, 2), F(1, 2))), (F(1), F(2)), (F(1), F(0)))
    _check_forms_agree(op, x)  # raises OperatorFailure on a disagreement
