"""Float evidence that cannot lie: deciding a float-only operator's margin from its measured error.

Without a precise form only ``q`` is a float; the inputs are exact rationals and every other term
of a margin (``Q``, the student, the bound) can be computed exactly. So each returned entry is
treated as an interval ``q(i) ± r(i)`` whose radius is the operator's *own* error at that input
(:func:`measure`): its dtype's epsilon scaled by the value, plus twice the spread of re-evaluations
at inputs perturbed by a few ulps of that dtype (which exposes the conditioning: a float32
softmax of ``log p / T`` at ``T = 1e-3``, or a KL with a student of log-weight ``1e15``), plus the
gap to a re-evaluation in a wider dtype where the operator runs in one. The margin is then
enclosed with interval arithmetic (:func:`enclose`) and refutes only when the *whole* enclosure
is negative; the counterexample says so: "conditional on the operator's output being accurate to
± r". No fixed absolute tolerance is involved anywhere.

Strict parts: an exact zero margin refutes only when it is *structural* (:func:`structural_zero`,
:func:`weight_blind`): it stays exactly zero at every perturbed re-evaluation, and the ``q(i)``
that vanish do so while every ``Q_k(i)`` is far above underflow.

Derivatives (``axiom3``) come from one-sided differences at several step sizes
(:func:`derivative_evidence`), each with its round-off bound; they must agree in sign and settle.
Limits (``axiom5`` (b), ``axiom4``) are followed until the distance converges or stops shrinking
(:func:`limit_evidence`), with steps scaled to the data and the smallest weight. A jump found by
bisection (``axiom4``) is shown at nested pairs of inputs around it, each endpoint's error measured
on its own side (:func:`jump_evidence`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence

import mpmath
import numpy as np

from mtkd.errors import OperatorFailure
from mtkd.operators import Operator
from mtkd.operators.frameworks import EPSILON, HUGE, TINY
from mtkd.operators.precision import HighPrecision, Interval
from mtkd.operators.temperature import tau
from mtkd.theorems import Batch, ExactPoint, PreciseMargin, Property

from .jumps import Bracket, _point, _times, relative_distance, section, section_points

PERTURBED = 6
"""Re-evaluations per measurement; inputs move by 2 or 8 ulps of the operator's dtype."""
ULPS = (2.0, 8.0)
ENCLOSURE_DIGITS = 60


@dataclass(frozen=True)
class Measured:
    """The operator's output at one input with its measured error radius per entry."""

    q: np.ndarray
    radius: np.ndarray
    dtype: str
    stable_zero: np.ndarray
    """Entries that are exactly 0 at the input and at every perturbed re-evaluation."""

    def describe(self) -> str:
        return f"{self.dtype} output, max radius {float(self.radius.max()):.2g}"


def _perturbed(P: np.ndarray, T: np.ndarray, w: np.ndarray, eps: float,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``PERTURBED`` copies of one input, every entry moved by a few ulps (zeros stay zeros)."""
    n = PERTURBED
    scale = np.array([ULPS[j % len(ULPS)] for j in range(n)]) * eps
    Pp = P[None] * (1 + scale[:, None, None] * rng.choice([-1.0, 1.0], size=(n,) + P.shape))
    Tp = T[None] * (1 + scale[:, None] * rng.choice([-1.0, 1.0], size=(n,) + T.shape))
    wp = w[None] * (1 + scale[:, None] * rng.choice([-1.0, 1.0], size=(n,) + w.shape))
    return Pp / Pp.sum(-1, keepdims=True), Tp, wp / wp.sum(-1, keepdims=True)


def measure(op: Operator, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> Measured:
    """``q`` at one float input and its error radius, from the operator's own behaviour there.

    Raises :class:`OperatorFailure` if the operator misbehaves at the input itself; a failure at
    a perturbed or wider-dtype re-evaluation only means that evidence is unavailable.
    """
    q0 = op.evaluate(P[None], T[None], w[None])[0]
    eps = op.eps
    rng = np.random.default_rng(0)  # fixed: the same point always gets the same radius
    spread = np.zeros_like(q0)
    zero = q0 == 0
    try:
        qs = op.evaluate(*_perturbed(P, T, w, eps, rng))
        spread = np.abs(qs - q0).max(axis=0)
        zero &= (qs == 0).all(axis=0)
    except OperatorFailure:
        spread = np.full_like(q0, np.inf)  # ill-defined next to the point: nothing can be concluded
        zero[:] = False
    if eps <= EPSILON["float64"] and EPSILON["longdouble"] < eps:
        try:
            wide = op.evaluate(*(a.astype(np.longdouble)[None] for a in (P, T, w)))[0]
            spread = np.maximum(spread, np.abs(wide - q0))
        except OperatorFailure:
            pass  # no wider form: the perturbations stand alone
    radius = 2 * spread + 8 * eps * np.abs(q0) + 2 * eps * float(np.abs(q0).max())
    if not holds_inputs(op.dtype, P, T, w):
        # An operator computing in a narrow dtype casts its inputs first: a probability below the
        # dtype's smallest normal (6.5e-9 in float16 becomes 0), or T = 1e6 (inf in float16), is
        # changed before any arithmetic, and no output-side measurement sees it: perturbing the
        # input by ulps changes nothing, and a geometric pool's root turns that 0 into an error of
        # 0.0055 on q(i) = 0. Nothing is concluded at such an input.
        radius = np.full_like(q0, np.inf)
    return Measured(q0, radius, op.dtype, zero)


def holds_inputs(dtype: str, *arrays: np.ndarray) -> bool:
    """Every non-zero input entry is a normal number of ``dtype`` (exact zeros are exact in any dtype)."""
    values = np.abs(np.concatenate([a.ravel() for a in arrays]))
    values = values[values != 0]
    return bool(((TINY[dtype] <= values) & (values <= HUGE[dtype])).all())


def _midpoint_float(v: Any) -> float:
    if hasattr(v, "_mpi_"):
        lo, hi = v._mpi_
        return float((mpmath.mp.make_mpf(lo) + mpmath.mp.make_mpf(hi)) / 2)
    if hasattr(v, "v"):
        raise TypeError("a measured output has no derivative")
    return float(v)


def measured_form(op: Operator) -> Callable[..., list[Any]]:
    """A precise form built from measurements: ``q(i)`` as the interval ``q(i) ± r(i)``.

    Handed to a property's own ``precise_margin``, it encloses the margin without knowing how the
    property is written; it is evaluated wherever the property evaluates the operator.
    """
    cache: dict[bytes, Measured] = {}

    def form(P: Sequence[Sequence[Any]], T: Sequence[Any], w: Sequence[Any], ctx: HighPrecision) -> list[Any]:
        Pf = np.array([[_midpoint_float(v) for v in row] for row in P])
        Tf = np.array([_midpoint_float(v) for v in T])
        wf = np.array([_midpoint_float(v) for v in w])
        key = Pf.tobytes() + Tf.tobytes() + wf.tobytes()
        if key not in cache:
            cache[key] = measure(op, Pf, Tf, wf)
        m = cache[key]
        if isinstance(ctx, Interval):
            return [ctx.mp.mpf([mpmath.mpf(float(a - r)), mpmath.mpf(float(a + r))]) if r > 0 else ctx.mp.mpf(float(a))
                    for a, r in zip(m.q, _outward(m.q, m.radius))]
        return [ctx.mp.mpf(float(a)) for a in m.q]

    form.measurements = cache  # type: ignore[attr-defined]
    return form


def _outward(q: np.ndarray, radius: np.ndarray) -> np.ndarray:
    # q +- r is formed in float64: widen by one ulp of the result so the rounding cannot shrink it.
    # An infinite radius (nothing measurable at the input) must stay infinite: spacing(inf) is NaN,
    # and a NaN radius would read as "no radius", an exact point.
    with np.errstate(invalid="ignore"):
        widened = radius + np.spacing(np.abs(q) + radius)
    return np.where(np.isfinite(radius), widened, np.inf)


def enclose(op: Operator, prop: Property, x: ExactPoint,
            witness: Mapping[str, Any]) -> tuple[PreciseMargin, Interval, list[Measured]]:
    """The property's margin at ``x`` with every operator output replaced by its measured interval."""
    form = measured_form(op)
    ctx = Interval(ENCLOSURE_DIGITS)
    pm = prop.precise_margin(replace(op, precise_func=form), x, witness, ctx)
    return pm, ctx, list(form.measurements.values())  # type: ignore[attr-defined]


def radius_summary(measured: Sequence[Measured]) -> str:
    if not measured:  # the margin at this witness never reads q (e.g. a hypothesis-only part)
        return "no operator output enters this margin"
    r = max(float(m.radius.max()) for m in measured)
    dtypes = sorted({m.dtype for m in measured})
    return f"±{r:.3g} per entry ({'/'.join(dtypes)} output: epsilon-scaled error plus the spread of re-evaluations at inputs moved by a few ulps)"


def structural_zero(op: Operator, prop: Property, x: ExactPoint, witness: Mapping[str, Any],
                    measured: Sequence[Measured]) -> str | None:
    """Why an exact-zero strict margin at ``x`` is structural, or ``None`` if round-off could explain it.

    Only one shape of exact zero is trusted: the witness token's ``q(i)`` is exactly 0 at the point
    and at every re-evaluation with inputs moved by a few ulps, while every ``Q_k(i)`` is at least
    ``sqrt(eps)`` of the dtype, so no intermediate underflow can have produced it (top-k fusion
    zeroing a token, not ``p ** (1 / T)`` underflowing). Other exact zeros (``q(i) = max_k Q_k(i)``
    to the last bit) can be a positive margin below the output's resolution, so they never refute.
    """
    token = witness.get("token")
    if not isinstance(token, int) or token < 0:
        return None
    if not measured or not all(m.stable_zero[token] for m in measured[:1]):
        return None
    P, T, w = x.floats()
    eps = op.eps
    rng = np.random.default_rng(1)
    Pn, Tn, wn = (np.concatenate([a[None], b]) for a, b in zip((P, T, w), _perturbed(P, T, w, eps, rng)))
    batch = Batch(Pn, Tn, wn, "structural")
    try:
        m = prop.margins(op, batch, np.random.default_rng(0))
    except OperatorFailure:
        return None
    if not ((m.values == 0) & m.strict).all():
        return None
    Q = tau(P[None], T[None])[0]
    if not (Q[:, token] >= np.sqrt(eps)).all():
        return None
    return (f"q({token}) = 0 exactly at the point and at {PERTURBED} re-evaluations with inputs moved by a few "
            f"ulps, while every Q_k({token}) >= {float(Q[:, token].min()):.3g} (far above underflow)")


# ---- derivatives ---------------------------------------------------------------------------------

DERIVATIVE_STEPS = 7
"""One-sided differences at steps h0, h0/4, ... (h0 = min(w_k' / 2, 1/16)); three consecutive must agree."""


@dataclass(frozen=True)
class DerivativeEvidence:
    estimates: tuple[tuple[float, float, float], ...]
    """``(h, D(h), round-off bound of D(h))`` per step."""
    verdict: str
    """``negative``, ``zero`` (weight-blind), or ``undecided``."""
    reason: str


def derivative_evidence(op: Operator, P: np.ndarray, T: np.ndarray, w: np.ndarray,
                        k: int, k2: int, i: int) -> DerivativeEvidence:
    """``d q(i) / d delta`` at ``delta = 0+`` (weight moved from ``k2`` to ``k``) from several steps.

    Each step gives the second-order one-sided difference ``(4 q(h) - q(2h) - 3 q(0)) / 2h`` and a
    bound on its round-off, ``(4 r_h + r_2h + 3 r_0) / 2h`` from the measured radii. The
    derivative is negative when three consecutive steps have their whole interval below zero and
    the estimates settle (the last two within half their size); zero when ``q`` is bitwise the
    same at weights far apart (the operator ignores this weight).
    """
    d = np.zeros(len(w))
    d[k], d[k2] = 1.0, -1.0
    h0 = min(w[k2] / 2, 1 / 16)
    hs = h0 / 4.0 ** np.arange(DERIVATIVE_STEPS)
    points = np.unique(np.concatenate([[0.0], hs, 2 * hs]))
    W = w[None] + points[:, None] * d[None]
    W = np.maximum(W, 0.0)
    W /= W.sum(-1, keepdims=True)
    n = len(points)
    q = op.evaluate(np.broadcast_to(P, (n,) + P.shape).copy(), np.broadcast_to(T, (n,) + T.shape).copy(), W)
    eps = op.eps
    # Weight-blind: the whole q bitwise the same at weights far apart, with q(i) far from 0 and 1
    # (a saturated q(i) = 1.0 is bitwise constant through round-off alone).
    # The weights must also be far apart: a pool that did respond would move q(i) by about
    # delta * (Q_k(i) - Q_k2(i)) over the span, which must exceed sqrt(eps) (not hidden by round-off).
    Q = tau(P[None], T[None])[0]
    span = float(points[-1]) * float(Q[k, i] - Q[k2, i])
    if (q == q[0]).all() and np.sqrt(eps) <= q[0, i] <= 1 - np.sqrt(eps) and span >= np.sqrt(eps):
        return DerivativeEvidence((), "zero", f"q is bitwise the same for {n} weight vectors from delta = 0 to "
                                  f"{float(points[-1]):.3g}, with q({i}) = {q[0, i]:.6g}: the operator ignores this "
                                  "weight (derivative 0)")
    r0 = measure(op, P, T, w).radius[i]
    at = {float(p): j for j, p in enumerate(points)}
    est = []
    for h in hs:
        qh, q2h = q[at[float(h)], i], q[at[float(2 * h)], i]
        D = (4 * qh - q2h - 3 * q[0, i]) / (2 * h)
        # Radii at the moved points are taken as the radius at the point itself, scaled by the value.
        scale = max(abs(qh), abs(q2h), abs(q[0, i]), 1e-300) / max(abs(q[0, i]), 1e-300)
        err = (8 * r0 * scale) / (2 * h)
        est.append((float(h), float(D), float(err)))
    for j in range(len(est) - 2):
        trio = est[j:j + 3]
        if all(D + e < 0 for _, D, e in trio) and abs(trio[2][1] - trio[1][1]) <= abs(trio[1][1]) / 2:
            return DerivativeEvidence(tuple(est), "negative",
                                      "one-sided differences at steps " + ", ".join(f"{h:.3g}" for h, _, _ in trio)
                                      + " give " + ", ".join(f"{D:.6g} ± {e:.2g}" for _, D, e in trio)
                                      + ": all below zero and settled")
    return DerivativeEvidence(tuple(est), "undecided", "the one-sided differences at several steps do not agree "
                              "on a negative sign beyond their round-off")


# ---- limits -----------------------------------------------------------------------------------

LIMIT_DECADES = 300
"""How far a limit is followed: T_k down to (scale * 1e-300) or up to 1e300."""


@dataclass(frozen=True)
class LimitEvidence:
    distances: tuple[tuple[float, float], ...]
    """``(parameter, distance to the limit value)`` along the path."""
    verdict: str
    """``converges``, ``stalls`` (stopped shrinking above the tolerance) or ``undecided``."""
    reason: str


def limit_evidence(distance: Callable[[float], float], params: Sequence[float], tol: float,
                   past: float) -> LimitEvidence:
    """Follow ``distance(t)`` along ``params`` (towards the limit) until it converges or stalls.

    ``converges``: the distance falls below ``tol``. ``stalls``: beyond ``past`` (where the data
    say convergence must have started), the distance stopped shrinking (three consecutive steps
    each keeping more than 90 % of the previous) while above ``tol``. A failure of the operator
    along the way leaves the verdict ``undecided``.
    """
    seen: list[tuple[float, float]] = []
    for t in params:
        try:
            dist = distance(t)
        except OperatorFailure:
            break
        if not np.isfinite(dist):
            break
        seen.append((t, dist))
        if dist <= tol:
            return LimitEvidence(tuple(seen), "converges", f"distance {dist:.3g} <= {tol:.3g} at {t:.3g}")
        tail = [d for p, d in seen if _beyond(p, past, params)]
        if len(tail) >= 4 and all(b > 0.9 * a for a, b in zip(tail[-4:], tail[-3:])):
            return LimitEvidence(tuple(seen), "stalls",
                                 f"distance stays {tail[-1]:.6g} (> {tol:.3g}) from {seen[-4][0]:.3g} to {t:.3g}, "
                                 "well past the scale where the data say it must converge")
    return LimitEvidence(tuple(seen), "undecided", "the distance neither converged nor stalled along the path")


def _beyond(p: float, past: float, params: Sequence[float]) -> bool:
    decreasing = params[-1] < params[0]
    return p <= past if decreasing else p >= past


# ---- jumps ---------------------------------------------------------------------------------------

JUMP_DISTANCES = (1e-6, 1e-9, 1e-12)
"""Relative distances (in every coordinate) of the nested pairs of float inputs around a jump: six
decades above float64's resolution, so that each pair's endpoints lie far from the jump compared
with the few-ulp moves that measure their error."""
LOCATE_DISTANCE = 1e-14
"""The jump is bracketed to this relative distance before the pairs are placed around the bracket."""
LOCATE_ROUNDS = 24
"""Sectioning rounds (eight parts each) at most; float64's resolution of the segment ends them sooner."""


@dataclass(frozen=True)
class JumpPair:
    """Two float inputs on both sides of a jump and how much ``q`` changes between them."""

    distance: float
    """Their relative distance, in every coordinate."""
    low: float
    high: float
    """``max_i |q(a)(i) - q(b)(i)|`` lies in ``[low, high]`` given each output's measured radius."""
    ends: tuple[Measured, Measured]


@dataclass(frozen=True)
class JumpEvidence:
    t: float
    """Where on the segment the jump is bracketed."""
    pairs: tuple[JumpPair, ...]
    shown: bool
    """The change stays (positive, at least half the coarsest pair's) while the distance shrinks."""
    reason: str

    @property
    def measured(self) -> tuple[Measured, ...]:
        return tuple(m for pair in self.pairs for m in pair.ends)


def jump_evidence(op: Operator, x: Batch, y: Batch, bracket: tuple[float, float], relative: bool) -> JumpEvidence:
    """A float-only operator's jump on the segment from ``x`` to ``y`` (one input each), from its own outputs.

    The search's bracket is narrowed by sectioning until float64 cannot split it further (about
    ``LOCATE_DISTANCE``); then pairs of inputs at relative distances ``JUMP_DISTANCES`` are placed
    *around* the bracket, each endpoint on its own side of the jump and far from it. Each endpoint's
    error is measured there (:func:`measure`: its ulp-perturbed re-evaluations stay on its side, so
    they show the operator's round-off, not the jump itself, which they would cross at the bracket).
    A jump is a change whose lowest value (``|q(a) - q(b)|`` minus both radii) stays positive at every
    pair and keeps at least half the coarsest pair's highest value as the distance shrinks by six
    decades; a continuous operator's change shrinks with the distance, however steep it is at scales
    float64 resolves.
    """
    def at(ts: Sequence[float] | np.ndarray) -> tuple[np.ndarray, ...]:
        return _point(_times(x, len(ts)), _times(y, len(ts)), np.asarray(ts, dtype=float))

    def distance(a: float, b: float) -> float:
        both = at([a, b])
        return float(relative_distance(tuple(v[:1] for v in both), tuple(v[1:] for v in both))[0])

    q_ends = op.evaluate(*at(bracket))
    state: Bracket = (np.array([bracket[0]]), np.array([bracket[1]]), q_ends[:1], q_ends[1:])
    for _ in range(LOCATE_ROUNDS):
        ts = section_points(state)[:, 0]
        lo, hi = float(state[0][0]), float(state[1][0])
        if distance(lo, hi) <= LOCATE_DISTANCE or not lo < ts[0] <= ts[-1] < hi:
            break
        state = section(op, x, y, state, np.array([relative]))[:4]
    lo, hi = float(state[0][0]), float(state[1][0])
    # Relative distance per unit of t near the bracket (the segment is short: it is about linear).
    step = min(1e-6, max(lo, 1 - hi))
    rate = distance(lo - step, lo) / step if lo >= step else distance(hi, hi + step) / step
    t = (lo + hi) / 2
    if not rate > 0:
        return JumpEvidence(t, (), False, "the segment does not move the input")
    pairs = []
    for target in JUMP_DISTANCES:
        half = target / rate / 2
        a, b = max(0.0, lo - half), min(1.0, hi + half)
        ma, mb = (measure(op, *(v[0] for v in at([s]))) for s in (a, b))
        diff, r = np.abs(ma.q - mb.q), ma.radius + mb.radius
        pairs.append(JumpPair(distance(a, b), float((diff - r).max()), float((diff + r).max()), (ma, mb)))
    inside = distance(lo, hi)
    shown = ", ".join(f"[{p.low:.6g}, {p.high:.6g}] at {p.distance:.2g}" for p in pairs)
    if inside > pairs[-1].distance / 10:
        return JumpEvidence(t, tuple(pairs), False, f"the jump could only be bracketed to relative distance "
                            f"{inside:.2g}, not far inside the finest pair")
    if all(p.low > 0 for p in pairs) and pairs[-1].low >= pairs[0].high / 2:
        decades = np.log10(pairs[0].distance / pairs[-1].distance)
        return JumpEvidence(t, tuple(pairs), True, (
            f"at float inputs on both sides of t = {t:.17g} on the segment, every coordinate within the relative "
            f"distance shown, max_i |q(a)(i) - q(b)(i)| lies in {shown} (each endpoint's output ± its own measured "
            f"error, measured on its side of the jump): the change does not shrink as the distance shrinks by "
            f"{decades:.0f} orders of magnitude"))
    return JumpEvidence(t, tuple(pairs), False, f"the change {shown} shrinks with the distance or is within the "
                        "measured error: no jump at the scales float64 resolves")
