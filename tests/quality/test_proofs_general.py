"""All-K, V proofs: true cells proved, false variants not, never contradicted by a certified counterexample.

Also the operator-agnostic finding: ``reweighted`` has Axioms 1-5 proved, yet Thm IV.9 fails at an
input checked here in exact rational arithmetic, independently of the suite's certifier.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp

from mtkd.counterexamples.certify import check_exact
from mtkd.counterexamples.corpus import DEFAULT_DIR, load_entry
from mtkd.operators import load_operator
from mtkd.results import Verdict
from mtkd.theorems import ExactPoint, get_property
from mtkd.theorems.statements import property_ids
from mtkd.theorems.structure import certify_continuous
from mtkd.theorems.symbolic_verdicts import symbolic_check
from mtkd.theorems.symbols import Q, i

AXIOMS_1_5 = ("axiom1", "axiom2", "axiom3", "axiom4", "axiom5")

# (operator, params) -> the cells the issue lists as true and that the new proofs must settle for all K, V.
TRUE_CELLS = {
    ("geometric", ()): ("axiom1", "axiom2", "axiom4", "axiom5", "thm-IV.9"),
    ("power", (("alpha", -1.0),)): ("axiom1", "axiom2", "axiom4", "axiom5"),
    ("power", (("alpha", 0.5),)): ("axiom1", "axiom2", "axiom4", "axiom5", "thm-IV.9"),
    ("power", (("alpha", 2.0),)): ("axiom1", "axiom2", "axiom4", "axiom5", "def-IV.1", "prop-IV.11"),
    ("entropic", (("beta", 0.5),)): ("axiom1", "axiom2", "axiom4"),
    ("max", ()): ("axiom1", "axiom2", "axiom4", "assumption-L", "prop-IV.11"),
    ("linear", ()): ("axiom1", "axiom1-hull", "axiom2", "axiom4", "axiom5", "def-IV.1", "prop-IV.11", "cor-IV.12"),
    ("reweighted", (("c", 1.0),)): AXIOMS_1_5 + ("axiom1-hull", "prop-IV.11"),
}


@pytest.mark.parametrize("op", sorted(TRUE_CELLS))
def test_true_cells_are_proved_for_all_sizes(op: tuple[str, tuple]) -> None:
    name, params = op
    for prop_id in TRUE_CELLS[op]:
        r = symbolic_check(name, dict(params), prop_id)
        assert r is not None and r.verdict is Verdict.PROVED, (name, params, prop_id)
        assert r.proof is not None and r.proof.sizes is None and "all K" in r.scope, (prop_id, r.scope)
        assert r.extra.get("scope_mark") == "∀"


# Statements that are false for these operators (each refuted by a certified counterexample in the
# corpus or by the search): the proof layer must decline them.
FALSE_CELLS = (
    ("entropic", {"beta": 0.5}, "axiom5"),      # (a) fails: Q_k^(1/(1+beta)) renormalised is not Q_k
    ("power", {"alpha": 2.0}, "thm-IV.9"),       # the log-loss bound needs alpha <= 1
    ("power", {"alpha": 3.0}, "def-IV.1"),       # the variance argument needs alpha <= 2
    ("power", {"alpha": 0.5}, "prop-IV.11"),     # attenuation needs alpha >= 1
    ("geometric", {}, "cor-IV.12"),
    ("max", {}, "axiom5"),
    ("reweighted", {"c": 3.0}, "axiom3"),        # f' < 0 near 1/2 when c > 2
    ("reweighted", {"c": 3.0}, "axiom5"),
    ("reweighted", {"c": 1.0}, "thm-IV.9"),
)


@pytest.mark.parametrize("name,params,prop_id", FALSE_CELLS)
def test_false_variants_are_not_proved(name: str, params: dict, prop_id: str) -> None:
    assert symbolic_check(name, params, prop_id) is None


def test_continuity_certificate_rejects_jumps_and_unguarded_divisions() -> None:
    assert not certify_continuous(sp.Heaviside(Q[1, i] - sp.Rational(1, 2))).ok
    assert not certify_continuous(1 / (Q[1, i] - sp.Rational(1, 2))).ok
    assert not certify_continuous(sp.floor(10 * Q[1, i])).ok
    assert certify_continuous(sp.log(Q[1, i]) / (1 + Q[2, i])).ok


def test_no_general_proof_is_contradicted_by_a_saved_certified_counterexample() -> None:
    """Soundness: every certified counterexample in the corpus is checked against the symbolic layer."""
    checked = 0
    for path in sorted(Path(DEFAULT_DIR).glob("*.json")):
        entry = load_entry(path)
        if not entry.counterexample.certified or entry.property not in property_ids():
            continue
        try:
            op = load_operator(entry.operator)
        except Exception:  # noqa: BLE001 - user operators in the corpus have no formula
            continue
        if op.algebraic is None:
            continue
        name, params = op.algebraic
        proved = symbolic_check(name, params, entry.property)
        assert proved is None, f"SOUNDNESS: {entry.operator} {entry.property} proved but {path.name} refutes it"
        checked += 1
    assert checked >= 20  # the corpus holds the built-ins' refutations


def test_reweighted_conforms_yet_violates_the_log_loss_bound() -> None:
    """The operator-agnostic claim fails: axioms 1-5 proved, Thm IV.9 violated at a certified point."""
    for prop_id in AXIOMS_1_5:
        assert symbolic_check("reweighted", {"c": 1.0}, prop_id).verdict is Verdict.PROVED
    # K = 2, T = 1, w = (3/4, 1/4): f(3/4) = 21/32, so q(0) = 21/32 * 3/5 + 11/32 * 1/2 = 181/320.
    x = ExactPoint.from_strings((("0.6", "0.4"), ("0.5", "0.5")), ("1", "1"), ("0.75", "0.25"))
    q0 = Fraction(21, 32) * Fraction(3, 5) + Fraction(11, 32) * Fraction(1, 2)
    assert q0 == Fraction(181, 320)
    # -log q(0) > -(3/4 log 3/5 + 1/4 log 1/2)  <=>  q(0)^4 < (3/5)^3 (1/2): exact rationals.
    assert q0 ** 4 < Fraction(3, 5) ** 3 * Fraction(1, 2)
    op = load_operator("reweighted:c=1")
    out = check_exact(op, get_property("thm-IV.9"), x, {"token": 0})
    assert out.counterexample is not None and out.counterexample.certified
