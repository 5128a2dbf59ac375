"""Confirm and certify a candidate counterexample found in float64.

A float64 margin below zero is only a *candidate*. The input is rounded to exact decimals
(rows summing to exactly one) and the margin is recomputed at that exact point:

1. where the operator has a precise form: exactly (sympy, rationals and algebraic numbers) on
   small points, else with a cheap rigorous filter (float64 interval arithmetic with proven
   error bounds, vectorised over tokens, :mod:`~mtkd.operators.precision_float`; on small inputs
   a 64-bit ``arb`` ball instead), then python-flint ``arb`` balls at 400 bits only while the
   enclosure straddles 0 (mpmath intervals for a form that does not run on balls); a sign decided either
   way is a **certificate**, and the certificate says which;
2. else at 50 digits with mpmath: a confirmation, not a certificate;
3. for float-only operators: the margin is enclosed from the returned ``q`` with the operator's own
   measured error (:mod:`.float_evidence`); a wholly negative enclosure is a counterexample
   *conditional* on that accuracy, never a certificate.

A candidate that fails these checks is round-off and is dropped.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from typing import Any, Mapping, Sequence

import mpmath
import numpy as np

from mtkd.errors import OperatorFailure
from mtkd.operators import Operator
from mtkd.operators.exact import Exact
from mtkd.operators.precision import Context, HighPrecision, Interval, UndecidedError
from mtkd.operators.precision_arb import FILTER_BITS, Ball
from mtkd.operators.precision_float import LaneContext
from mtkd.operators.protocol import DeadlineExceeded, deadline, describe_input
from mtkd.results import Counterexample
from mtkd.theorems import ExactPoint, PreciseKind, PreciseMargin, Property
from mtkd.theorems.property import fmt, precise_Q

from .float_evidence import derivative_evidence, enclose, radius_summary, structural_zero

CONFIRM_DIGITS = 50
CERTIFY_BITS = (FILTER_BITS, 400)
"""Ball precisions tried in turn: the 64-bit pass decides clear cases on small inputs; 400 bits
(about 120 digits) runs only while the ball still straddles 0. No rung between: the cost of a
pass hardly depends on the precision (Python's per-operation overhead dominates), so a middle
rung that fails only adds a pass (bench/certify_speed.md)."""
LANE_MIN_CELLS = 192
"""The float64 filter runs from ``K * V`` this large: below, one 64-bit ball pass costs less than
the filter's fixed numpy overhead (about 1.6 ms against 0.02 ms per teacher entry for balls)."""
LIMIT_BITS = 200
LIMIT_DIGITS = 60
"""Limits (``axiom5`` (b), ``axiom4``'s probes) are evaluated on 200-bit balls (about 60 digits), or
at 60 digits with mpmath for a form that does not run on balls: evidence, never certificates."""
CERTIFY_DIGITS = (60, 120)
"""mpmath interval precisions, used only for a precise form that does not run on ``arb`` balls."""
EXACT_MAX_CELLS = 16
"""Exact (sympy) certification is tried on points with K * V up to this and algebraic temperatures."""
EXACT_SECONDS = 30.0
"""A safety net only: whether exact arithmetic is tried is decided by the point's work estimate
(:data:`~mtkd.operators.exact.MAX_WORK`), which keeps attempts under ~2 s on a loaded core, so
that the certificate does not depend on machine speed or on the thread it runs in."""


def algebraic_temperature(t: Fraction) -> bool:
    """``p ** (1 / t)`` of a rational ``p`` has low algebraic degree: ``t = a / b`` with ``a <= 2``, ``b <= 4``.

    >>> [algebraic_temperature(Fraction(t)) for t in ("1", "1/2", "2", "2/3", "3", "0.7")]
    [True, True, True, True, False, False]
    """
    return t.numerator <= 2 and t.denominator <= 4


def _exact_worth_trying(K: int, V: int, T: Sequence[Fraction]) -> bool:
    # Other temperatures raise rationals to rational powers whose minimal polynomials quickly
    # reach high degree; exact arithmetic is only worth trying with these (T = 1, 2, 1/2, 2/3...).
    return K * V <= EXACT_MAX_CELLS and all(algebraic_temperature(t) for t in T)


def _certifying_contexts(op: Operator, prop: Property, x: ExactPoint,
                         exact: bool) -> list[Exact | LaneContext | Ball | Interval]:
    first: list[Exact | LaneContext | Ball | Interval] = [Exact()] if exact and _exact_worth_trying(x.K, x.V, x.T) else []
    if op.vectorised_precise and prop.vectorised_margin and x.K * x.V >= LANE_MIN_CELLS:
        # The cheap rigorous filter (whole rows in numpy, proven bounds) takes the 64-bit ball's place.
        return first + [LaneContext()] + [Ball(bits) for bits in CERTIFY_BITS if bits > FILTER_BITS]
    return first + [Ball(bits) for bits in CERTIFY_BITS]


class Rejection(str, Enum):
    """What showed a float64 candidate to be round-off (the value is how summaries name it)."""

    PRECISE_FORM_FAILED = "the operator's measured round-off after the precise form failed"
    """The precise form could not run; the margin's enclosure from the measured float output was not negative."""

    MEASURED_ROUNDOFF = "the operator's measured round-off (float output)"
    """No precise form: the margin's enclosure from the output and its measured error was not wholly negative."""

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
        contexts = _certifying_contexts(op, prop, x, exact)
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
                if is_exact or isinstance(ctx, LaneContext):
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
    hp = HighPrecision(CONFIRM_DIGITS if kind is not PreciseKind.LIMIT else LIMIT_DIGITS)
    judges: list[Any] = [hp]
    if kind is PreciseKind.LIMIT:
        # A limit is only ever evidence; enclosures make that evidence firmer (the whole enclosure
        # below the threshold) and the float64 filter and C balls make it fast. mpmath comes last,
        # for forms that run on neither.
        vectorised = op.vectorised_precise and prop.vectorised_margin
        judges = ([LaneContext()] if vectorised else []) + [Ball(LIMIT_BITS), hp]
    threshold = mpmath.mpf(10) ** (-(hp.dps // 2))
    for ctx in judges:
        try:
            pm = prop.precise_margin(op, x, witness, ctx)
        except OperatorFailure:
            raise
        except Exception as exc:  # noqa: BLE001 - a precise form that can't run is reported, then float64 decides
            if ctx is not hp:
                continue  # e.g. a form that compares numbers, or one row mixing zeros: the next arithmetic
            return _float_only(op, prop, x, witness, float_margin,
                               note=f"precise form failed ({type(exc).__name__}: {exc}); ")
        sides = [_side(ctx, v, 0) for v in pm.hypotheses.values()]
        if any(side is not None and side < 0 for side in sides):
            return Outcome(None, "witness hypothesis fails at the exact point", Rejection.HYPOTHESIS_FAILS)
        lo, hi = ctx.bounds(pm.value)
        # Without an enclosure only an *exact* zero (a derivative the input never reached) shows strictness.
        if None not in sides and (hi < -threshold or (pm.strict and lo == hi == 0)):
            what = "limit evidence" if kind is PreciseKind.LIMIT else "confirmation"
            how = (f"at {hp.dps} digits (mpmath): margin {hp.to_str(pm.value, 12)}; not interval-certified" if ctx is hp
                   else f"by {ctx.name}: margin {ctx.to_str(pm.value, 12)}, wholly below -{mpmath.nstr(threshold, 3)}; "
                        "never a certificate")
            return Outcome(_counterexample(prop, x, witness, pm, ctx, False, f"{what} {how}"), "confirmed")
        if ctx is hp or (None not in sides and lo >= -threshold):  # mpmath's point value always decides
            return Outcome(None, f"margin {ctx.to_str(pm.value, 8)} ({ctx.name}): round-off", Rejection.HIGH_PRECISION)
    raise AssertionError("unreachable: the last judge is mpmath, which always decides")


def _side(ctx: Context, v: Any, t: Any) -> int | None:
    """Is ``v`` certainly above ``t`` (1), certainly at or below it (-1), or undecided (``None``)?"""
    lo, hi = ctx.bounds(v)
    return 1 if lo > t else -1 if hi <= t else None


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
        except OperatorFailure:
            raise
        except Exception:  # noqa: BLE001 - a form that rejects balls is tried on mpmath; one that runs on neither is handled (float64 fallback) later
            continue
        if all(np.isfinite(float(v)) for v in q_precise):
            break
        # e.g. log(w_k) at w_k = 0 is NaN on balls where float64 and mpmath carry -inf: not a
        # disagreement of the forms, an arithmetic the form does not run on here.
        q_precise = None
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
    """Decide a candidate of an operator without a usable precise form from its measured error.

    Never a certificate: the counterexample is conditional on the operator's output being as
    accurate as measured (:mod:`.float_evidence`); its ``certificate`` says so.
    """
    kind = prop.kind_at(witness)
    if kind is PreciseKind.DERIVATIVE:
        return _float_derivative(op, prop, x, witness, note)
    if kind is PreciseKind.LIMIT:
        return _float_limit(op, prop, x, witness, note)
    if kind is PreciseKind.VALUE and hasattr(prop, "float_jump") and witness.get("segment"):
        return _float_jump(op, prop, x, witness, note)
    try:
        pm, ctx, measured = enclose(op, prop, x, witness)
    except OperatorFailure:
        raise
    except (ArithmeticError, ValueError):
        # e.g. log of an interval q(i) +- r reaching below 0: the measured error is too large to conclude.
        return Outcome(None, f"{note}margin enclosure undefined (an interval q(i) +- r crosses a singularity): "
                             "within the operator's measured round-off", _measured(note))
    hyps = {name: ctx.sign(v) for name, v in pm.hypotheses.items()}
    if any(s is None or s <= 0 for s in hyps.values()):
        return Outcome(None, f"{note}witness hypothesis fails at the exact point ({_failing(hyps) or 'undecided'})",
                       Rejection.HYPOTHESIS_FAILS)
    sign = ctx.sign(pm.value)
    radius = radius_summary(measured)
    if sign == -1:
        return Outcome(_conditional(prop, x, witness, pm, ctx, radius,
                                    f"{note}the whole enclosure {ctx.to_str(pm.value, 8)} of the margin is negative"),
                       "float64")
    if pm.strict and sign is None:
        why = structural_zero(op, prop, x, witness, measured)
        if why is not None:
            return Outcome(_conditional(prop, x, witness, pm, ctx, radius, f"{note}strict part fails: {why}"), "float64")
    return Outcome(None, f"{note}margin enclosure {ctx.to_str(pm.value, 8)} is not wholly negative: within the "
                         f"operator's measured round-off ({radius})", _measured(note))


def _measured(note: str) -> Rejection:
    return Rejection.PRECISE_FORM_FAILED if note else Rejection.MEASURED_ROUNDOFF


def _conditional(prop: Property, x: ExactPoint, witness: Mapping[str, Any], pm: Any, ctx: HighPrecision,
                 radius: str, why: str) -> Counterexample:
    P, T, w = x.strings()
    return Counterexample(P, T, w, witness=dict(witness), margin=margin_string(ctx, pm.value),
                          precision=f"float output measured, margin by {ctx.name}", certified=False,
                          certificate=f"conditional on the operator's output being accurate to {radius}: {why}",
                          explanation=prop.explain(pm, witness))


def _float_derivative(op: Operator, prop: Property, x: ExactPoint, witness: Mapping[str, Any],
                      note: str) -> Outcome:
    """``axiom3`` without a precise form: hypotheses exactly, the derivative from several steps."""
    k, k2, i = witness["k"], witness["k2"], witness["token"]
    ctx = Interval(60)
    Q = precise_Q(x, ctx)
    hyps = {f"Q_{k}({i}) - Q_{k2}({i})": ctx.sign(Q[k][i] - Q[k2][i]), f"w_{k2}": ctx.sign(ctx.num(x.w[k2]))}
    if any(s is None or s <= 0 for s in hyps.values()):
        return Outcome(None, f"{note}witness hypothesis fails at the exact point ({_failing(hyps) or 'undecided'})",
                       Rejection.HYPOTHESIS_FAILS)
    P, T, w = x.floats()
    ev = derivative_evidence(op, P, T, w, k, k2, i)
    if ev.verdict == "undecided":
        return Outcome(None, f"{note}derivative not decided: {ev.reason}; within the operator's measured round-off",
                       _measured(note))
    q = op.evaluate(P[None], T[None], w[None])[0]
    d = "0 (exactly)" if ev.verdict == "zero" else f"{ev.estimates[-1][1]:.6g}"
    if ev.verdict == "negative":
        d = next(f"{D:.6g}" for _, D, e in ev.estimates if D + e < 0)
    pm = PreciseMargin(ctx.num(0) if ev.verdict == "zero" else ctx.num(Fraction(d)), True,
                       detail={"q(i)": f"{q[i]:.12g}", "dq/ddelta": d, "Q_k(i)": fmt(ctx, Q[k][i]),
                               "Q_k2(i)": fmt(ctx, Q[k2][i])})
    Ps, Ts, ws = x.strings()
    cx = Counterexample(Ps, Ts, ws, witness=dict(witness), margin="0" if ev.verdict == "zero" else d,
                        precision=f"{op.dtype} differences at several steps", certified=False,
                        certificate=f"{note}conditional on the operator's output being accurate to its measured "
                                    f"round-off: {ev.reason}; hypotheses certified > 0 by {ctx.name}",
                        explanation=prop.explain(pm, witness))
    return Outcome(cx, "float64")


def _float_limit(op: Operator, prop: Property, x: ExactPoint, witness: Mapping[str, Any], note: str) -> Outcome:
    """A limit (``axiom5`` (b), ``axiom4``) without a precise form: follow it until it converges or stalls."""
    follow = getattr(prop, "follow_limit", None)
    if follow is None:
        return Outcome(None, f"{note}no float evidence for this limit: round-off cannot be excluded",
                       _measured(note))
    ev, pm = follow(op, x, witness)
    if ev.verdict != "stalls":
        return Outcome(None, f"{note}limit {ev.verdict}: {ev.reason}: within the operator's measured round-off",
                       _measured(note))
    Ps, Ts, ws = x.strings()
    last = ev.distances[-1][1]
    cx = Counterexample(Ps, Ts, ws, witness=dict(witness), margin=repr(-last),
                        precision=f"{op.dtype} limit followed", certified=False,
                        certificate=f"{note}limit evidence, never a certificate: {ev.reason}",
                        explanation=prop.explain(pm, witness))
    return Outcome(cx, "float64")


def _float_jump(op: Operator, prop: Property, x: ExactPoint, witness: Mapping[str, Any], note: str) -> Outcome:
    """A jump found by bisection (``axiom4``) without a precise form: nested float pairs around it, each
    endpoint's error measured on its own side (an enclosure at the bracket would measure the jump itself)."""
    ev, pm = getattr(prop, "float_jump")(op, x, witness)  # noqa: B009 - a hook only Axiom4 has
    if not ev.shown:
        return Outcome(None, f"{note}jump not shown in float: {ev.reason}", _measured(note))
    Ps, Ts, ws = x.strings()
    cx = Counterexample(Ps, Ts, ws, witness=dict(witness), margin=repr(float(pm.value)),
                        precision=f"{op.dtype} outputs measured at nested pairs", certified=False,
                        certificate=f"{note}conditional on the operator's output being accurate to "
                                    f"{radius_summary(ev.measured)}: {ev.reason}",
                        explanation=prop.explain(pm, witness))
    return Outcome(cx, "float64")


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
    if not cx.certified or not _exact_worth_trying(cx.K, cx.V, [Fraction(t) for t in cx.T]):
        # Without exact arithmetic a re-certification would only repeat the intervals that certified
        # ``cx`` (at V = 131072 that is 20 s and the Fractions of a million entries, for nothing).
        return cx
    outcome = check_exact(op, prop, ExactPoint.from_strings(cx.P, cx.T, cx.w), cx.witness, exact=True)
    better = outcome.counterexample
    return better if better is not None and better.certified else cx


def certify_candidate(op: Operator, prop: Property, P: np.ndarray, T: np.ndarray, w: np.ndarray,
                      witness: Mapping[str, Any], float_margin: float) -> Outcome:
    """Round a float64 candidate to an exact point and decide it."""
    return check_exact(op, prop, ExactPoint.from_floats(P, T, w), witness, float_margin)
