"""Every form is the operator: the batched and precise forms are checked against ``op(P, T, w)``.

The search runs the batched form and certificates are computed with the precise form, so a form
that computes a different pool (or a "precise" form that is float64 in disguise) would produce
verdicts about something other than the operator. Checked:

* at the start (:func:`forms_problem`), at a few fixed probe inputs: batched vs single, precise
  vs single (each within the single form's measured error), and the precise form's honesty: at 50
  and 100 digits it agrees far beyond float64, and it responds to a change of the input far below
  float64's resolution while it does respond to a large one (a form that rounds to float64 inside
  would not);
* at every reported counterexample (:func:`counterexample_problem`): batched vs single there, and
  the plain call's own margin, enclosed with its measured error, must not be positive.

Any disagreement becomes an ``error`` verdict whose message shows both values. Built-in operators
are trusted (their forms are the suite's own code) and are not re-checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from fractions import Fraction
from typing import Any, Mapping

import mpmath
import numpy as np

from mtkd.errors import OperatorFailure
from mtkd.operators import Operator
from mtkd.operators.precision import HighPrecision
from mtkd.results import Counterexample
from mtkd.theorems import ExactPoint, PreciseKind, Property

from .float_evidence import derivative_evidence, enclose, measure

HONEST_AGREEMENT = mpmath.mpf(10) ** -40
"""Relative agreement required between the precise form at 50 and at 100 digits (float64: 1e-16)."""
BELOW_FLOAT64 = Fraction(1, 10**30)
"""A relative change of the input far below float64's resolution, visible to an honest precise form."""


def _probes() -> list[ExactPoint]:
    """Fixed, non-dyadic probe inputs, one of them where float64 would underflow (Q ~ 1e-400)."""
    third = Fraction(1, 3)
    return [
        ExactPoint(((Fraction(2, 10), Fraction(3, 10), Fraction(5, 10)), (Fraction(6, 10), Fraction(3, 10), Fraction(1, 10))),
                   (Fraction(7, 10), Fraction(13, 10)), (third, 1 - third)),
        ExactPoint(((Fraction(1, 10**200), 1 - Fraction(1, 10**200)), (Fraction(3, 7), Fraction(4, 7)),
                    (Fraction(1, 9), Fraction(8, 9))),
                   (Fraction(1, 2), Fraction(3), Fraction(1)), (Fraction(1, 5), Fraction(1, 2), Fraction(3, 10))),
    ]


def _trusted(op: Operator) -> bool:
    return op.algebraic is not None


def _single(op: Operator) -> Operator:
    return replace(op, batched_func=None, precise_func=None)


def _show(v: np.ndarray | list[Any]) -> str:
    return "[" + ", ".join(mpmath.nstr(mpmath.mpf(x), 12) if not isinstance(x, float) else f"{x:.12g}"
                           for x in (v.tolist() if isinstance(v, np.ndarray) else v)) + "]"


def _batched_vs_single(op: Operator, P: np.ndarray, T: np.ndarray, w: np.ndarray, where: str) -> str | None:
    if op.batched_func is None:
        return None
    single = _single(op)
    m = measure(single, P, T, w)
    q_batch = op.evaluate(P[None], T[None], w[None])[0]
    tol = 2 * m.radius + 64 * op.eps * float(np.abs(m.q).max())
    if (np.abs(q_batch - m.q) <= tol).all():
        return None
    return (f"the batched form of {op.spec!r} disagrees with op(P, T, w) {where}: batched {_show(q_batch)}, "
            f"op {_show(m.q)} (beyond the single form's measured error {float(tol.max()):.3g}). The search runs the "
            "batched form, so its verdicts would not be about this operator; make both compute the same pool.")


def batched_problem(op: Operator) -> str | None:
    """How the batched form disagrees with ``op(P, T, w)`` at the probe inputs, or ``None``.

    Raises :class:`OperatorFailure` when a form fails there.
    """
    for x in _probes():
        P, T, w = x.floats()
        if not np.isfinite(P).all() or (P <= 0).any():
            continue  # the underflow probe is for the precise form only
        problem = _batched_vs_single(op, P, T, w, "at a probe input")
        if problem:
            return problem
    return None


def forms_problem(op: Operator) -> str | None:
    """What is wrong between the operator's forms at the probe inputs, or ``None``."""
    if _trusted(op):
        return None
    try:
        problem = batched_problem(op)
        if problem:
            return problem
        if op.precise_func is not None:
            return _precise_problem(op)
    except OperatorFailure:
        return None  # failures at the probes are reported by the properties themselves, with the input
    return None


def _precise_problem(op: Operator) -> str | None:
    first = _probes()[0]
    P, T, w = first.floats()
    m = measure(_single(op), P, T, w)
    try:
        q50 = op.evaluate_precise(first.P, first.T, first.w, HighPrecision(50))
    except OperatorFailure:
        raise
    except Exception:  # noqa: BLE001 - a precise form that cannot run is handled per candidate (float fallback)
        return None
    gap = np.array([abs(float(a) - b) for a, b in zip(q50, m.q)])
    tol = 2 * m.radius + 64 * op.eps * float(np.abs(m.q).max())
    if not (gap <= tol).all():
        return (f"the precise form of {op.spec!r} disagrees with op(P, T, w) at a probe input: precise {_show(q50)}, "
                f"op {_show(m.q)} (beyond the operator's measured error {float(tol.max()):.3g}). Certificates are "
                "computed with the precise form, so they would not be about this operator.")
    for x in _probes():
        problem = _honesty(op, x)
        if problem:
            return problem
    return None


def _nudged(x: ExactPoint, rel: Fraction) -> ExactPoint:
    """``x`` with every positive entry moved by ``rel`` (alternating signs), rows renormalised exactly."""
    def row(vals: Sequence[Fraction]) -> tuple[Fraction, ...]:
        moved = [v * (1 + rel * (1 if j % 2 else -1)) for j, v in enumerate(vals)]
        total = sum(moved)
        return tuple(v / total for v in moved)
    return ExactPoint(tuple(row(r) for r in x.P), tuple(t * (1 + rel) for t in x.T), row(x.w))


def _honesty(op: Operator, x: ExactPoint) -> str | None:
    try:
        lo, hi = HighPrecision(50), HighPrecision(100)
        q50 = op.evaluate_precise(x.P, x.T, x.w, lo)
        q100 = op.evaluate_precise(x.P, x.T, x.w, hi)
        q_tiny = op.evaluate_precise(*_nudged_args(x, BELOW_FLOAT64), hi)
        q_big = op.evaluate_precise(*_nudged_args(x, Fraction(1, 1000)), hi)
    except OperatorFailure:
        raise
    except Exception:  # noqa: BLE001
        return None
    scale = max(abs(v) for v in q100)
    for a, b in zip(q50, q100):
        if abs(mpmath.mpf(a) - mpmath.mpf(b)) > HONEST_AGREEMENT * max(abs(b), scale * HONEST_AGREEMENT):
            return (f"the precise form of {op.spec!r} is not precise: at 50 and 100 digits it gives {_show(q50)} and "
                    f"{_show(q100)}, which should agree to ~40 digits. Certificates would rest on its round-off.")
    if all(a == b for a, b in zip(q_tiny, q100)) and any(a != b for a, b in zip(q_big, q100)):
        return (f"the precise form of {op.spec!r} behaves like float64 in disguise: moving the input by 1e-30 "
                f"(relative) leaves all 100 digits unchanged ({_show(q100)}) although a 1e-3 move changes it "
                f"({_show(q_big)}). Certificates would certify float64 round-off (e.g. an underflow).")
    return None


def _nudged_args(x: ExactPoint, rel: Fraction) -> tuple[Any, Any, Any]:
    y = _nudged(x, rel)
    return y.P, y.T, y.w


def counterexample_problem(op: Operator, prop: Property, cx: Counterexample) -> str | None:
    """A certified counterexample must also hold for ``op(P, T, w)`` itself (beyond its round-off)."""
    if _trusted(op) or not prop.needs_operator:
        return None
    x = ExactPoint.from_strings(cx.P, cx.T, cx.w)
    P, T, w = x.floats()
    plain = _single(op)
    try:
        problem = _batched_vs_single(op, P, T, w, "at the counterexample")
        if problem:
            return problem
        if not cx.certified or op.precise_func is None:
            return None
        return _plain_margin_problem(plain, prop, x, cx.witness, cx.margin)
    except OperatorFailure:
        return None


def _plain_margin_problem(plain: Operator, prop: Property, x: ExactPoint, witness: Mapping[str, Any],
                          margin: str) -> str | None:
    kind = prop.kind_at(witness)
    if kind is PreciseKind.LIMIT:
        return None
    if kind is PreciseKind.DERIVATIVE:
        P, T, w = x.floats()
        ev = derivative_evidence(plain, P, T, w, witness["k"], witness["k2"], witness["token"])
        if ev.estimates and all(D - e > 0 for _, D, e in ev.estimates[-3:]):
            return (f"the precise form certifies {prop.id} fails at this point (derivative {margin}), but op(P, T, w) "
                    "itself has a positive derivative there beyond its round-off ("
                    + ", ".join(f"{D:.6g} ± {e:.2g} at step {h:.2g}" for h, D, e in ev.estimates[-3:])
                    + "): the forms compute different pools.")
        return None
    try:
        pm, ctx, _ = enclose(plain, prop, x, witness)
    except (ArithmeticError, ValueError):
        return None
    if ctx.sign(pm.value) == 1:
        return (f"the precise form certifies {prop.id} fails at this point (margin {margin}), but op(P, T, w) itself "
                f"gives the margin {ctx.to_str(pm.value, 8)} (enclosed with its measured error), which is positive: "
                "the forms compute different pools.")
    return None
