"""The symbolic layer: derivations match independent numerics, verdicts, statements and rendering."""

from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from mtkd.results import Verdict
from mtkd.theorems import operator_exprs as ox
from mtkd.theorems.derivations import _assumption_l_nonlinear, derivations
from mtkd.theorems.statements import PROPERTY_IDS, render, statement
from mtkd.theorems.symbols import K, Q, V, i, k, k2, q
from mtkd.theorems.symbolic_verdicts import symbolic_check

# Rational teachers (rows sum to 1) and weights used by the numeric cross-checks.
ROWS = ((sp.Rational(1, 5), sp.Rational(3, 10), sp.Rational(1, 2)),
        (sp.Rational(3, 5), sp.Rational(1, 4), sp.Rational(3, 20)),
        (sp.Rational(1, 10), sp.Rational(7, 10), sp.Rational(1, 5)))
WEIGHTS = (sp.Rational(1, 2), sp.Rational(1, 3), sp.Rational(1, 6))


def _derivation(op: str, prop_id: str, params: dict[str, float] | None = None):
    (found,) = [d for d in derivations(op, params or {}) if d.prop_id == prop_id]
    return found


def _geometric_mp(weights: list[mpmath.mpf]) -> list[mpmath.mpf]:
    """The geometric pool computed directly in mpmath, independently of the sympy layer."""
    scores = [mpmath.fprod(mpmath.mpf(ROWS[kk][ii]) ** weights[kk] for kk in range(3)) for ii in range(3)]
    total = mpmath.fsum(scores)
    return [s / total for s in scores]


def test_linear_axiom3_derivative_is_the_teacher_difference() -> None:
    d = _derivation("linear", "axiom3")
    assert d.checked
    assert sp.simplify(d.expression - (Q[k, i] - Q[k2, i])) == 0


def test_max_axiom3_derivative_is_zero() -> None:
    d = _derivation("max", "axiom3")
    assert d.checked and d.expression == 0


def test_geometric_axiom3_derivative_matches_finite_difference() -> None:
    d = _derivation("geometric", "axiom3")
    assert d.checked
    with mpmath.workdps(50):
        w0 = [mpmath.mpf(x) for x in WEIGHTS]
        h = mpmath.mpf("1e-20")
        up = _geometric_mp([w0[0] + h, w0[1] - h, w0[2]])
        down = _geometric_mp([w0[0] - h, w0[1] + h, w0[2]])
        finite_difference = (up[0] - down[0]) / (2 * h)  # central difference: error O(h^2)
        q_now = _geometric_mp(w0)
    # Instantiate the displayed general formula: teachers k=1, k'=2, token i=1, V=3 (1-based).
    formula = d.expression.subs({i: 1, k: 1, k2: 2, V: 3, K: 3}).doit()
    formula = formula.replace(q, lambda n: sp.Float(q_now[int(n) - 1], 50))
    formula = formula.xreplace({Q[a + 1, b + 1]: ROWS[a][b] for a in range(3) for b in range(3)})
    value = sp.N(formula, 50)
    assert value.is_number
    assert abs(float(value - sp.Float(finite_difference, 50))) < 1e-30
    assert abs(float(value)) > 1e-3  # a vacuous 0 = 0 comparison would not test anything


def test_hessian_zero_for_linear_nonzero_for_geometric() -> None:
    linear = _derivation("linear", "assumption-L")
    geometric = _derivation("geometric", "assumption-L")
    assert linear.checked and linear.expression == 0
    assert geometric.checked and abs(sp.N(geometric.expression, 30)) > 1e-3


def test_fractional_power_mean_hessian_is_decided_without_simplify(monkeypatch: pytest.MonkeyPatch) -> None:
    # alpha = 2.8: sympy's simplify of the Hessian entry, or of its value at w_0 = 1/3 (degree bound
    # 960400), ran for minutes; a value told apart from zero decides, shown to 30 digits.
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("simplify was called")

    monkeypatch.setattr(sp, "simplify", refuse)
    d = _assumption_l_nonlinear(ox.canonical_operator("power", {"alpha": 2.8}))
    assert d.checked and "fails" in d.conclusion and "degree bound 960400" in d.text

    def q0(w0: mpmath.mpf) -> mpmath.mpf:  # the power mean at Q = ((1/5, 4/5), (1/2, 1/2)), in mpmath
        alpha = mpmath.mpf(14) / 5
        m = [(w0 * a ** alpha + (1 - w0) * b ** alpha) ** (1 / alpha)
             for a, b in ((mpmath.mpf(1) / 5, mpmath.mpf(1) / 2), (mpmath.mpf(4) / 5, mpmath.mpf(1) / 2))]
        return m[0] / (m[0] + m[1])

    with mpmath.workdps(50):
        assert abs(mpmath.diff(q0, mpmath.mpf(1) / 3, 2) - mpmath.mpf(str(d.expression))) < mpmath.mpf("1e-25")


def test_entropic_closed_form_is_stationary_for_its_objective() -> None:
    beta = sp.Rational(1, 2)
    closed = ox.operator_expr("entropic", {"beta": float(beta)}, 3, 3)
    point = {ox.Q[a, b]: ROWS[a][b] for a in range(3) for b in range(3)}
    point.update({ox.w[a]: WEIGHTS[a] for a in range(3)})
    with mpmath.workdps(50):
        qv = [mpmath.mpf(sp.N(e.subs(point), 60)) for e in closed]
        # d/dq_i [Σ_k w_k Σ_i q_i log(q_i/Q_ki) + β Σ_i q_i log q_i], written out by hand.
        grad = [mpmath.fsum(mpmath.mpf(WEIGHTS[a]) * (mpmath.log(qv[b] / mpmath.mpf(ROWS[a][b])) + 1)
                            for a in range(3)) + mpmath.mpf(beta) * (mpmath.log(qv[b]) + 1)
                for b in range(3)]
        # Stationary on the simplex <=> the gradient is parallel to (1, ..., 1).
        assert max(grad) - min(grad) < mpmath.mpf("1e-40")
        assert abs(mpmath.fsum(qv) - 1) < mpmath.mpf("1e-40")
    assert _derivation("entropic", "thm-III.2").checked


def test_symbolic_verdicts() -> None:
    proved = symbolic_check("linear", {}, "thm-IV.7")
    assert proved is not None and proved.verdict is Verdict.PROVED
    assert proved.method == "symbolic (sympy)" and "Jensen" in proved.message
    assert symbolic_check("geometric", {}, "axiom3") is None
    assert "assumption-L" in symbolic_check("linear", {}, "thm-IV.2").message
    assert symbolic_check("geometric", {}, "thm-IV.9").verdict is Verdict.PROVED
    assert symbolic_check("geometric", {}, "thm-IV.2") is None


KEY_SYMBOLS = {
    "axiom1": ("Σ", "= 1", "≥ 0"),
    "axiom1-hull": ("∃ λ ∈ Δ_K", "λ[k]"),
    "axiom2": ("Δ°_V", "> 0"),
    "axiom3": ("δ", "e[k']", "w[k'] > 0"),
    "axiom4": ("ε", "η", "G(P', T', w', i)"),
    "axiom5": ("lim_{T[k]→∞}", "lim_{T[k]→0⁺}", "1/T[k]"),
    "assumption-L": ("λ", "w'"),
    "assumption-L-separable": ("∃ f", "f(k, Q[k, i])"),
    "def-IV.1": ("Q[k, i]^2", "q(i)^2"),
    "thm-IV.2": ("w[k]^2", "<", "≤"),
    "thm-IV.7": ("log(q(i)/s[i])", "Δ°_V"),
    "thm-IV.9": ("-log(q(y))", "log(Q[k, y])"),
    "prop-IV.11": ("max_{k ∈ {1,…,K}}", "k∗"),
    "cor-IV.12": ("1 - w[k∗]", "∖{k∗}"),
    "thm-III.1": ("∃ G ∈ 𝒢", "axiom5"),
    "thm-III.2": ("G₁", "G₂", "≠"),
    "prop-V.2": ("θ", "exp"),
    "pool-unanimity": ("Q[1, i]", "⇒"),
    "pool-zero-preservation": ("= 0", "⇒"),
    "pool-anonymity": ("S_K", "P_σ"),
    "pool-neutrality": ("S_V", "π(i)"),
    "pool-marginalization": ("M(P, a, b)", "𝟙"),
    "pool-external-bayesianity": ("λ[i]", "P_λ"),
}


@pytest.mark.parametrize("prop_id", PROPERTY_IDS)
def test_render_every_id(prop_id: str) -> None:
    text = render(prop_id, "unicode")
    for symbol in KEY_SYMBOLS[prop_id]:
        assert symbol in text, (symbol, text)
    latex = render(prop_id, "latex")
    assert latex and "\\" in latex and "∀" not in latex


def test_key_symbols_cover_every_id() -> None:
    assert set(KEY_SYMBOLS) == set(PROPERTY_IDS)


def test_unknown_id_lists_valid_ids() -> None:
    with pytest.raises(KeyError) as err:
        statement("axiom9")
    assert "axiom1-hull" in str(err.value) and "prop-V.2" in str(err.value)
    with pytest.raises(KeyError):
        render("nope", "unicode")
    with pytest.raises(KeyError):
        symbolic_check("linear", {}, "nope")
