"""Confirm and certify a candidate counterexample found in float64.

A float64 margin below zero is only a *candidate*. The input is rounded to exact decimals
(rows summing to exactly one) and the margin is recomputed at that exact point:

1. where the operator has a precise form: exactly (sympy, rationals and algebraic numbers) on
   small points, else with ball arithmetic (python-flint ``arb``: 64 bits first, a cheap filter
   that decides clear cases and float near-ties, then 200 and 400 bits only while the ball
   straddles 0; mpmath intervals for a form that does not run on balls); a sign decided either
   way is a **certificate**, and the certificate says which;
2. else at 50 digits with mpmath: a confirmation, not a certificate;
3. for float64-only operators: the violation must exceed the property's stated round-off bound.

A candidate that fails these checks is round-off and is dropped.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from enum import Enum
from typing import Any, Mapping

import mpmath
import numpy as np

from mtkd.errors import OperatorFailure
from mtkd.operators import Operator
from mtkd.operators.exact import Exact
from mtkd.operators.precision import Context, HighPrecision, Interval, UndecidedError
from mtkd.operators.precision_arb import FILTER_BITS, Ball
from mtkd.operators.protocol import DeadlineExceeded, deadline, describe_input
from mtkd.results import Counterexample
from mtkd.theorems import Batch, ExactPoint, PreciseKind, Property

CONFIRM_DIGITS = 50
CERTIFY_BITS = (FILTER_BITS, 200, 400)
"""Ball precisions tried in turn: the 64-bit pass decides clear cases and float near-ties; the
next ones run only while the ball still straddles 0 (400 bits is about 120 digits)."""
CERTIFY_DIGITS = (60, 120)
"""mpmath interval precisions, used only for a precise form that does not run on ``arb`` balls."""
EXACT_MAX_CELLS = 16
"""Exact (sympy) certification is tried on points with K * V up to this and all T = 1."""
EXACT_SECONDS = 1.5


def _certifying_contexts(x: ExactPoint, exact: bool) -> list[Exact | Ball | Interval]:
    # Temperatures other than 1 raise rationals to rational powers whose minimal polynomials
    # quickly reach high degree; exact arithmetic is only worth trying without them.
    worth_it = exact and x.K * x.V <= EXACT_MAX_CELLS and all(t == 1 for t in x.T)
    first: list[Exact | Ball | Interval] = [Exact()] if worth_it else []
    return first + [Ball(bits) for bits in CERTIFY_BITS]


class Rejection(str, Enum):
    """What showed a float64 candidate to be round-off (the value is how summaries name it)."""

    PRECISE_FORM_FAILED = "the float64 round-off bound after the precise form failed"
    """The precise form could not run; the float64 margin was within the property's round-off bound."""

    ROUNDOFF_BOUND = "the float64 round-off bound"
    """No precise form: the float64 margin was within the property's round-off bound."""

    CERTIFIED_NONNEGATIVE = "interval arithmetic (margin certified >= 0)"
    """Exact or interval arithmetic established the margin's sign: the statement holds there."""

    TOO_CLOSE = "interval arithmetic (sign undecided: too close to call)"
    """Even at the highest interval precision the enclosure contains zero."""

    HYPOTHESIS_FAILS = "an exact check of the witness's hypotheses"
    """The witness's hypotheses (e.g. ``Q_k(i) > Q_k'(i)``) fail at the exact point."""

    HIGH_PRECISION = "high-precision re-evaluation"
    """At 50+ digits the margin is not negative (no interval arithmetic available)."""


@dataclass(frozen=True)
class Outcome:
    """What certification concluded about one candidate: a counterexample, or why it was rejected."""

    counterexample: Counterexample | None
    reason: str
    rejection: Rejection | None = None
    """Set exactly when ``counterexample`` is None."""


def check_exact(op: Operator, prop: Property, x: ExactPoint, witness: Mapping[str, Any],
                float_margin: float | None = None, exact: bool = False) -> Outcome:
    """Decide whether ``prop`` fails at the exact point ``x`` with ``witness``.

    ``exact=True`` tries sympy's exact arithmetic before intervals. It can take seconds, so the
    search triages candidates with intervals and only the reported counterexample is upgraded
    (:func:`strongest_certificate`).
    """
    if op.precise_func is None:
        return _float_only(op, prop, x, witness, float_margin)
    if prop.needs_operator and not op.trusted:
        _check_forms_agree(op, x)
    kind = prop.kind_at(witness)
    if kind is not PreciseKind.LIMIT:
        contexts = _certifying_contexts(x, exact)
        n = 0
        while n < len(contexts):
            ctx = contexts[n]
            n += 1
            last = n == len(contexts)
            is_exact = isinstance(ctx, Exact)
            try:
                with deadline(EXACT_SECONDS) if is_exact else contextlib.nullcontext():
                    pm = prop.precise_margin(op, x, witness, ctx)
                    hyps = {name: ctx.sign(v) for name, v in pm.hypotheses.items()}
                    sign = ctx.sign(pm.value)
            except OperatorFailure:
                if is_exact:
                    continue  # sympy can be slower than the call limit; balls will do
                raise
            except UndecidedError:
                if is_exact or not last:
                    continue  # e.g. a max of overlapping balls: more precision may separate them
                break
            except (Exception, DeadlineExceeded):  # noqa: BLE001 - a form that rejects this arithmetic
                if is_exact:
                    continue
                if isinstance(ctx, Ball):
                    # flint cannot serve this form (e.g. it compares numbers): mpmath intervals can.
                    contexts[n:] = [Interval(dps) for dps in CERTIFY_DIGITS]
                    continue
                break  # the precise form does not run on intervals: fall back to confirmation
            if any(s is not None and s <= 0 for s in hyps.values()):
                return Outcome(None, f"witness hypothesis fails at the exact point ({_failing(hyps)})",
                               Rejection.HYPOTHESIS_FAILS)
            if sign is None or any(s is None for s in hyps.values()):
                if not is_exact and last:
                    return Outcome(None, f"sign undecided at {ctx.dps} digits ({ctx.to_str(pm.value, 8)}): too close to call",
                                   Rejection.TOO_CLOSE)
                continue
            if sign < 0 or (sign == 0 and pm.strict):
                what = ("is exactly 0 (strict inequality fails)" if sign == 0
                        else f"{'=' if is_exact else 'lies in'} {ctx.to_str(pm.value)}")
                return Outcome(_counterexample(prop, x, witness, pm, ctx, True,
                                               f"margin {what}, by {ctx.name}; hypotheses certified > 0"), "certified")
            return Outcome(None, f"margin certified >= 0 at the exact point ({ctx.to_str(pm.value, 8)}): round-off",
                           Rejection.CERTIFIED_NONNEGATIVE)
    hp = HighPrecision(CONFIRM_DIGITS if kind is not PreciseKind.LIMIT else 60)
    try:
        pm = prop.precise_margin(op, x, witness, hp)
    except OperatorFailure:
        raise
    except Exception as exc:  # noqa: BLE001 - a precise form that can't run is reported, then float64 decides
        return _float_only(op, prop, x, witness, float_margin,
                           note=f"precise form failed ({type(exc).__name__}: {exc}); ")
    threshold = hp.mp.mpf(10) ** (-(hp.dps // 2))
    if any(v <= 0 for v in pm.hypotheses.values()):
        return Outcome(None, "witness hypothesis fails at the exact point", Rejection.HYPOTHESIS_FAILS)
    # Without intervals only an *exact* zero (a derivative the input never reached) shows strictness.
    if pm.value < -threshold or (pm.strict and pm.value == 0):
        what = "limit evidence" if kind is PreciseKind.LIMIT else "confirmation"
        return Outcome(_counterexample(prop, x, witness, pm, hp, False,
                                       f"{what} at {hp.dps} digits (mpmath): margin {hp.to_str(pm.value, 12)}; "
                                       "not interval-certified"), "confirmed")
    return Outcome(None, f"margin {hp.to_str(pm.value, 8)} at {hp.dps} digits: round-off", Rejection.HIGH_PRECISION)


def _failing(hyps: Mapping[str, int | None]) -> str:
    return ", ".join(f"{k} has sign {v}" for k, v in hyps.items() if v is not None and v <= 0)


FORMS_TOLERANCE = 1e-6
"""Largest |q_float - q_precise| accepted between an operator's two forms at one input."""


def _check_forms_agree(op: Operator, x: ExactPoint) -> None:
    """Certificates are about the precise form; they say nothing unless it computes the same pool.

    A precise form that disagrees with the float64 operator would certify refutations of a
    correct operator (or clear a broken one), so the disagreement is an operator error. Built-ins
    (``op.trusted``) are not re-compared per point: their two forms are the suite's own code,
    tested to agree (tests/cover/test_operators.py).
    """
    P, T, w = x.floats()
    q_float = op.evaluate(P[None], T[None], w[None])[0]
    q_precise = None
    for ctx in (Ball(FILTER_BITS), HighPrecision(30)):
        try:
            q_precise = op.evaluate_precise(x.P, x.T, x.w, ctx)
            break
        except OperatorFailure:
            raise
        except Exception:  # noqa: BLE001 - a form that rejects balls is tried on mpmath; one that runs on neither is handled (float64 fallback) later
            continue
    if q_precise is None:
        return
    gap = max(abs(float(a) - b) for a, b in zip(q_precise, q_float))
    if not gap <= FORMS_TOLERANCE:
        raise OperatorFailure(
            f"the precise form of {op.spec!r} disagrees with the operator itself: max_i |q_float(i) - "
            f"q_precise(i)| = {gap:.3g} > {FORMS_TOLERANCE:g} at {describe_input(P, T, w)}. Certificates are "
            "computed with the precise form, so they would not be about this operator; make the two forms "
            "compute the same pool.", (P, T, w))


def _float_only(op: Operator, prop: Property, x: ExactPoint, witness: Mapping[str, Any],
                float_margin: float | None, note: str = "") -> Outcome:
    if float_margin is None:
        # Nothing to trust (e.g. a replayed file): recompute the worst float64 margin at the point.
        P, T, w = x.floats()
        float_margin = float(prop.margins(op, Batch(P[None], T[None], w[None]), np.random.default_rng(0)).values[0])
    bound = prop.float_bound
    if float_margin < -bound:
        cx = Counterexample(
            *x.strings(), witness=dict(witness), margin=repr(float_margin), precision="float64",
            certified=False,
            certificate=f"{note}float64 only: margin {float_margin:.3e} is below the round-off bound -{bound:g}",
            explanation=f"{prop.title} fails (float64 evidence, margin {float_margin:.3e}).")
        return Outcome(cx, "float64")
    return Outcome(None, f"{note}float64 margin {float_margin:.3e} is within the round-off bound {bound:g}",
                   Rejection.PRECISE_FORM_FAILED if note else Rejection.ROUNDOFF_BOUND)


def _counterexample(prop: Property, x: ExactPoint, witness: Mapping[str, Any], pm: Any, ctx: Context,
                    certified: bool, certificate: str) -> Counterexample:
    P, T, w = x.strings()
    return Counterexample(P, T, w, witness=dict(witness), margin=margin_string(ctx, pm.value),
                          precision=ctx.name, certified=certified, certificate=certificate,
                          explanation=prop.explain(pm, witness))


def margin_string(ctx: Context, value: Any) -> str:
    """The margin as a decimal string (the JSON contract), with the sign that was established.

    For an enclosure this is its upper end: the exact margin is at most this number, so a
    negative string is itself a rigorous bound (the full enclosure is in ``certificate``).
    """
    _, hi = ctx.bounds(value)
    return mpmath.nstr(hi, 20)


def strongest_certificate(op: Operator, prop: Property, cx: Counterexample) -> Counterexample:
    """``cx`` re-certified exactly when its point is small and algebraic; otherwise ``cx`` itself."""
    if not cx.certified:
        return cx
    outcome = check_exact(op, prop, ExactPoint.from_strings(cx.P, cx.T, cx.w), cx.witness, exact=True)
    better = outcome.counterexample
    return better if better is not None and better.certified else cx


def certify_candidate(op: Operator, prop: Property, P: np.ndarray, T: np.ndarray, w: np.ndarray,
                      witness: Mapping[str, Any], float_margin: float) -> Outcome:
    """Round a float64 candidate to an exact point and decide it."""
    return check_exact(op, prop, ExactPoint.from_floats(P, T, w), witness, float_margin)
