"""An input the operator's own dtype cannot hold is no float evidence.

A float16 operator casts its inputs first: a probability of 6.5e-9 becomes 0 before any
arithmetic, so its output there can be wrong by far more than its output's epsilon. Averaging
logits (the geometric pool, which *is* externally Bayesian) in float16 returned ``q(0) = 0`` at
such a point where the exact value is 0.0055, and the suite refuted external Bayesianity with an
enclosure built from output-side radii: a false refutation.
"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np

from mtkd.counterexamples.float_evidence import enclose, measure, measured_form
from mtkd.operators import wrap_callable
from mtkd.operators.precision import Interval
from mtkd.theorems import ExactPoint, get_property


def logit_mean_float16(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    P16, T16, w16 = (np.asarray(a, dtype=np.float16) for a in (P, T, w))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (w16[:, None] * np.log(P16) / T16[:, None]).sum(axis=0).astype(np.float32)
    e = np.exp(z - z.max())
    return (e / e.sum()).astype(np.float16)


# Found by `mtkd verify` on a float16 torch logit mean (seed 0): teacher 1's first entry is 6.5e-9.
POINT = ExactPoint.from_strings(
    [["3245309979474347/499996851704122210767000", "51231522769155584032517/55555205744902467863000",
      "38913143536411975000/499996851704122210767"], ["0.9996", "0.0001", "0.0003"]], ["1", "1"], ["0.5", "0.5"])
WITNESS = {"likelihood": [2.2745224628472993, 0.2512568095180345, 0.0636625464983801], "token": 0}


def test_geometric_pool_in_float16_is_not_refuted_where_its_inputs_underflow() -> None:
    op = wrap_callable(logit_mean_float16, "logit_mean_float16")
    op.evaluate(np.full((1, 2, 3), 1 / 3), np.ones((1, 2)), np.full((1, 2), 0.5))  # the operator says float16
    assert op.dtype == "float16"
    pm, ctx, _ = enclose(op, get_property("pool-external-bayesianity"), POINT, WITNESS)
    assert ctx.sign(pm.value) is None, pm.value  # undecided: the exact pool is externally Bayesian here


def test_inputs_within_the_dtype_range_keep_finite_radii() -> None:
    """Guard: the rule only removes evidence at unrepresentable inputs (a float16 pool at ordinary inputs)."""
    op = wrap_callable(logit_mean_float16, "logit_mean_float16")
    m = measure(op, np.array([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]]), np.array([1.0, 2.0]), np.array([0.25, 0.75]))
    assert m.dtype == "float16" and np.isfinite(m.radius).all() and float(m.radius.max()) < 0.05
    m = measure(op, np.array([[1e-6, 0.5, 0.5 - 1e-6], [0.6, 0.1, 0.3]]), np.array([1.0, 2.0]),
                np.array([0.25, 0.75]))
    assert not np.isfinite(m.radius).all()  # 1e-6 is below float16's smallest normal, 6.1e-5


def picky_linear(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The linear pool at T = 1, failing anywhere but at P[0, 0] = 1/2 exactly (ill-defined nearby)."""
    if P[0, 0] != 0.5:
        raise FloatingPointError("not here")
    return w @ P


def test_an_output_with_nothing_measurable_around_it_is_no_point_value() -> None:
    """Where re-evaluations next to the input fail, the radius is infinite: the interval handed to the
    property must be unbounded, never the bare float (spacing(inf) is NaN, which once read as 'no radius')."""
    op = wrap_callable(picky_linear, "picky_linear")
    form = measured_form(op)
    ctx = Interval(30)
    P = [[Fraction(1, 2), Fraction(1, 2)], [Fraction(1, 4), Fraction(3, 4)]]
    q = form(P, [Fraction(1), Fraction(1)], [Fraction(1, 2), Fraction(1, 2)], ctx)
    assert all(ctx.sign(v) is None and v.b - v.a == mpmath.inf for v in q), q
