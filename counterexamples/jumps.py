"""Discontinuities found by bisection along segments, then certified at exact rational points.

**Search (float64, vectorised).** Each input ``x`` of a batch gets a segment ``x -> y``: either to
another input of the same size (a *partner* segment, moving ``P``, ``T``, ``w`` or all three), or
to a multiplicative perturbation of ``x`` in log space (a *local* segment). Points on it are
``(1 - t) x + t y`` (rows of ``P`` and ``w`` stay on the simplex). Each round cuts the bracket
(at first the whole segment) into eight equal parts, all evaluated in one call, and keeps the part
where the output changes most. Half the segments measure change absolutely (``max_i |Δq(i)|``), half relatively
(``max_i |Δq(i)| / max(q_a(i), q_b(i))``), so a jump of a tiny entry (``1e-6 -> 0``) is not
drowned by smooth variation elsewhere. A continuous map's change shrinks with the bracket
(about ``2^-9`` per three rounds where it is Lipschitz); a **jump** is a change that stays
(at least half of it over the last three rounds), is above ``1e-9`` and a thousand times the
float64 noise measured at that point, across a bracket whose every coordinate is within relative
distance ``1e-6`` (so a segment that runs into a zero weight or a vanishing entry, where the
smooth maps of the built-ins have unbounded slopes, is never called a jump).

**Certification (precise form).** The segment is rebuilt exactly (``x``, ``y`` exact rationals,
``t`` dyadic), the bisection is continued at 60 digits until the bracket's relative distance is
below ``1e-40``, and at the nested brackets of relative distance ``1e-20``, ``1e-30`` and
``1e-40`` the change ``max_i |G(a)(i) - G(b)(i)|`` is enclosed with interval arithmetic. What is
certified is exactly that: three pairs of exact points, each closer than the stated relative
distance in every coordinate, on both sides of one point, whose outputs differ by at least the
stated amount, the change at ``1e-40`` being at least half the change at ``1e-20``. A map with a
bounded relative modulus of continuity cannot do that; it is the finite-precision form of "does
not shrink as the step shrinks", not a proof about infinitely many scales.

>>> from mtkd.operators import load_operator
>>> from mtkd.counterexamples.generators import generate
>>> import numpy as np
>>> x = generate(np.random.default_rng(0), 16, 3, 4)
>>> found = bisect_segments(load_operator("linear"), x, np.random.default_rng(1))
>>> bool((found.margins() >= 0).all())   # the linear pool is continuous: no jump anywhere
True
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from mtkd.operators import Operator
from mtkd.operators.precision import Context, HighPrecision
from mtkd.theorems.property import Batch, ExactPoint, PreciseMargin, fmt

SECTIONS = 8
"""Each round cuts the bracket into this many equal parts and keeps the one where ``q`` changes most."""
ROUNDS = 9
"""Rounds of sectioning: the final bracket is ``8^-9 = 2^-27`` of the segment."""
LOOKBACK_ROUNDS = 3
"""A jump's change must stay (at least half of it) over this many rounds (a factor 512 of bracket)."""
FLOAT_TOL = 1e-9
NOISE_FACTOR = 1e3
RELATIVE_BRACKET = 1e-6
CHECKPOINTS = (20, 30, 40)
"""Relative distances ``10^-e`` at which the exact change is certified."""
PRECISE_TOL = Fraction(1, 10**20)
MAX_PRECISE_HALVINGS = 400


@dataclass(frozen=True)
class Segments:
    """The float64 bisection of one segment per input: the final bracket and what it showed."""

    end: Batch
    t: np.ndarray
    """``(N, 2)``: the final bracket ``[t_lo, t_hi]``."""
    relative: np.ndarray
    change: np.ndarray
    """``max_i |q(t_hi)(i) - q(t_lo)(i)|``, absolute."""
    jump: np.ndarray

    def margins(self) -> np.ndarray:
        """``< 0`` exactly at the jumps (minus the change), else the shortfall below the tolerance."""
        return np.where(self.jump, -self.change, np.maximum(FLOAT_TOL - self.change, 1e-300))

    def witness(self) -> dict[str, np.ndarray]:
        return {"P_b": self.end.P, "T_b": self.end.T, "w_b": self.end.w, "t": self.t,
                "relative": self.relative.astype(int)}


def segment_ends(x: Batch, rng: np.random.Generator) -> Batch:
    """Half partner segments (moving ``P``, ``T``, ``w`` or all), half local log-space steps."""
    N, K, V = x.shape
    partner = x.take(np.roll(np.arange(N), 1))
    mode = rng.integers(0, 4, N)  # 0 all, 1 P only, 2 T only, 3 w only
    P = np.where(np.isin(mode, (0, 1))[:, None, None], partner.P, x.P)
    T = np.where(np.isin(mode, (0, 2))[:, None], partner.T, x.T)
    w = np.where(np.isin(mode, (0, 3))[:, None], partner.w, x.w)
    step = np.exp(rng.uniform(np.log(0.05), np.log(3.0), N))
    local_P = x.P * np.exp(step[:, None, None] * rng.standard_normal((N, K, V)))
    local_w = x.w * np.exp(step[:, None] * rng.standard_normal((N, K)))
    local = rng.random(N) < 0.5
    P = np.where(local[:, None, None], local_P / local_P.sum(-1, keepdims=True), P)
    T = np.where(local[:, None], x.T * np.exp(step[:, None] * rng.standard_normal((N, K))), T)
    w = np.where(local[:, None], local_w / local_w.sum(-1, keepdims=True), w)
    return Batch(P, T, w, x.generator)


def _point(x: Batch, y: Batch, t: np.ndarray, exact_form: bool = True) -> tuple[np.ndarray, ...]:
    if exact_form:
        a, b = 1 - t, t
        return (a[:, None, None] * x.P + b[:, None, None] * y.P, a[:, None] * x.T + b[:, None] * y.T,
                a[:, None] * x.w + b[:, None] * y.w)
    # The same point computed another way: differences are float64 round-off, the noise floor.
    return (x.P + t[:, None, None] * (y.P - x.P), x.T + t[:, None] * (y.T - x.T), x.w + t[:, None] * (y.w - x.w))


def _change(qa: np.ndarray, qb: np.ndarray, relative: np.ndarray) -> np.ndarray:
    diff = np.abs(qa - qb)
    scale = np.maximum(np.abs(qa), np.abs(qb))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(scale > 0, diff / np.where(scale > 0, scale, 1.0), 0.0)
    return np.where(relative, rel.max(-1), diff.max(-1))


def relative_distance(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> np.ndarray:
    """Per input, ``max`` over every coordinate of ``|a - b| / max(|a|, |b|)`` (``0`` where both are 0)."""
    out = np.zeros(len(a[0]))
    for u, v in zip(a, b):
        scale = np.maximum(np.abs(u), np.abs(v))
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where(scale > 0, np.abs(u - v) / np.where(scale > 0, scale, 1.0), 0.0)
        out = np.maximum(out, r.reshape(len(out), -1).max(-1))
    return out


def _times(x: Batch, n: int) -> Batch:
    return Batch(np.concatenate([x.P] * n), np.concatenate([x.T] * n), np.concatenate([x.w] * n))


Bracket = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""``(lo, hi, q_lo, q_hi)``: each segment's bracket ``[lo, hi]`` (``(N,)``) and ``q`` at its ends (``(N, V)``)."""


def section_points(bracket: Bracket) -> np.ndarray:
    """The ``SECTIONS - 1`` interior points of every bracket, ``(SECTIONS - 1, N)``."""
    lo, hi = bracket[:2]
    return lo[None] + (hi - lo)[None] * (np.arange(1, SECTIONS) / SECTIONS)[:, None]


def section(op: Operator, x: Batch, y: Batch, bracket: Bracket,
            relative: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One round: every bracket narrowed to its part (of ``SECTIONS``) where ``q`` changes most.

    Returns the new bracket and that part's change. All interior points in one call (one exchange
    with a single-input form's worker per round, where halving needed three).
    """
    lo, hi, q_lo, q_hi = bracket
    N = lo.shape[0]
    ts = section_points(bracket)
    q_in = op.evaluate(*_point(_times(x, SECTIONS - 1), _times(y, SECTIONS - 1), ts.ravel()))
    qs = np.concatenate([q_lo[None], q_in.reshape(SECTIONS - 1, N, -1), q_hi[None]])
    bounds = np.concatenate([lo[None], ts, hi[None]])
    steps = _change(qs[:-1], qs[1:], relative)  # (SECTIONS, N): every part's change at once
    pick, rows = steps.argmax(axis=0), np.arange(N)
    return bounds[pick, rows], bounds[pick + 1, rows], qs[pick, rows], qs[pick + 1, rows], steps[pick, rows]


def bisect_segments(op: Operator, x: Batch, rng: np.random.Generator) -> Segments:
    """Bisect one segment per input of ``x`` (see the module docstring); raises ``OperatorFailure``."""
    N = x.shape[0]
    y = segment_ends(x, rng)
    relative = rng.random(N) < 0.5

    lo, hi = np.zeros(N), np.ones(N)
    q_lo, q_hi = np.split(op.evaluate(*_point(_times(x, 2), _times(y, 2), np.repeat([0.0, 1.0], N))), 2)
    history = []
    for _ in range(ROUNDS):
        lo, hi, q_lo, q_hi, step = section(op, x, y, (lo, hi, q_lo, q_hi), relative)
        history.append(step)
    change = np.abs(q_hi - q_lo).max(-1)
    noise = np.abs(op.evaluate(*_point(x, y, lo, exact_form=False)) - q_lo).max(-1)
    tight = relative_distance(_point(x, y, lo), _point(x, y, hi)) <= RELATIVE_BRACKET
    stays = history[-1] >= 0.5 * history[-1 - LOOKBACK_ROUNDS]
    jump = stays & tight & (change > FLOAT_TOL) & (change > NOISE_FACTOR * noise)
    return Segments(y, np.stack([lo, hi], axis=-1), relative, change, jump)


# ---- exact stage --------------------------------------------------------------------------------

def _exact_relative_distance(a: ExactPoint, b: ExactPoint) -> Fraction:
    worst = Fraction(0)
    pairs = [(u, v) for ra, rb in zip(a.P, b.P) for u, v in zip(ra, rb)]
    pairs += list(zip(a.T, b.T)) + list(zip(a.w, b.w))
    for u, v in pairs:
        scale = max(abs(u), abs(v))
        if scale:
            worst = max(worst, abs(u - v) / scale)
    return worst


def _on_segment(x: ExactPoint, y: ExactPoint, t: Fraction) -> ExactPoint:
    s = 1 - t
    return ExactPoint(tuple(tuple(s * u + t * v for u, v in zip(ra, rb)) for ra, rb in zip(x.P, y.P)),
                      tuple(s * u + t * v for u, v in zip(x.T, y.T)), tuple(s * u + t * v for u, v in zip(x.w, y.w)))


def _exact_change(op: Operator, a: ExactPoint, b: ExactPoint, ctx: Context, relative: bool) -> Any:
    qa = op.evaluate_precise(a.P, a.T, a.w, ctx)
    qb = op.evaluate_precise(b.P, b.T, b.w, ctx)
    diffs = [ctx.max([u - v, v - u]) for u, v in zip(qa, qb)]
    if relative:
        diffs = [d / ctx.max([u, v]) if ctx.sign(ctx.max([u, v])) == 1 else d for d, u, v in zip(diffs, qa, qb)]
    return ctx.max(diffs)


def segment_end(x: ExactPoint, witness: Mapping[str, Any]) -> ExactPoint:
    """The witness's segment end as an exact point of ``x``'s size, rows and weights renormalised exactly.

    Renormalising keeps the point admissible after shrinking drops teachers or tokens from it;
    a witness of another size (or with a non-positive entry where ``x`` needs one) is rejected.
    """
    rows = [[Fraction(str(v)) for v in row] for row in witness["P_b"]]
    T = [Fraction(str(v)) for v in witness["T_b"]]
    w = [Fraction(str(v)) for v in witness["w_b"]]
    if len(rows) != x.K or len(T) != x.K or len(w) != x.K or any(len(row) != x.V for row in rows):
        raise ValueError(f"segment end of size K={len(rows)} does not match the point's K={x.K}, V={x.V}")
    if any(v < 0 for row in rows for v in row) or any(t <= 0 for t in T) or any(v < 0 for v in w) or sum(w) <= 0:
        raise ValueError("segment end outside the domain")
    return ExactPoint(tuple(tuple(v / sum(row) for v in row) for row in rows), tuple(T),
                      tuple(v / sum(w) for v in w))


def certify_jump(op: Operator, x: ExactPoint, witness: Mapping[str, Any], ctx: Context) -> PreciseMargin:
    """The exact stage (module docstring): a margin ``< 0`` certifies the jump in ``ctx`` arithmetic.

    The bisection's choices are made at ``ctx.dps`` digits with plain mpmath (any choice is
    fine: only the final points are certified); the changes at the checkpoints are computed in
    ``ctx`` itself. Raises ``ValueError`` for a non-interval exact context (bisection in exact
    algebraic arithmetic would take far too long); certification then uses intervals.
    """
    if not getattr(ctx, "dps", 0):
        raise ValueError("jump certification runs in interval arithmetic, not exact arithmetic")
    y = segment_end(x, witness)
    relative = bool(witness.get("relative", 0))
    nav = HighPrecision(ctx.dps)
    lo, hi = (Fraction(float(v)) for v in witness["t"])
    brackets: dict[int, tuple[Fraction, Fraction]] = {}
    q_of = {}

    def q(t: Fraction) -> list[Any]:
        if t not in q_of:
            p = _on_segment(x, y, t)
            q_of[t] = op.evaluate_precise(p.P, p.T, p.w, nav)
        return q_of[t]

    def change(u: list[Any], v: list[Any]) -> Any:
        diffs = [abs(a - b) for a, b in zip(u, v)]
        if relative:
            diffs = [d / max(a, b) if max(a, b) > 0 else d for d, a, b in zip(diffs, u, v)]
        return max(diffs)

    for _ in range(MAX_PRECISE_HALVINGS):
        distance = _exact_relative_distance(_on_segment(x, y, lo), _on_segment(x, y, hi))
        for e in CHECKPOINTS:
            if e not in brackets and distance <= Fraction(1, 10**e):
                brackets[e] = (lo, hi)
        if len(brackets) == len(CHECKPOINTS):
            break
        mid = (lo + hi) / 2
        if change(q(lo), q(mid)) >= change(q(mid), q(hi)):
            hi = mid
        else:
            lo = mid
    if len(brackets) < len(CHECKPOINTS):
        # Never got close enough in every coordinate: no certificate (a positive margin says so).
        return PreciseMargin(ctx.num(1), False, detail={"bracket": "did not reach relative distance 1e-40"})
    changes = {e: _exact_change(op, _on_segment(x, y, a), _on_segment(x, y, b), ctx, False)
               for e, (a, b) in brackets.items()}
    first, last = changes[CHECKPOINTS[0]], changes[CHECKPOINTS[-1]]
    value = ctx.max([ctx.num(PRECISE_TOL) - last, first / 2 - last])
    a, b = brackets[CHECKPOINTS[-1]]
    detail = {f"change at relative distance 1e-{e}": fmt(ctx, c) for e, c in changes.items()}
    detail["t"] = f"{float(a):.17g}"
    return PreciseMargin(value, False, detail=detail)


def explain_jump(pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
    """The jump in words, for exact pairs (1e-20, 1e-30, 1e-40) and float pairs (1e-6, 1e-9, 1e-12) alike."""
    changes = {key.removeprefix("change at relative distance "): v for key, v in pm.detail.items()
               if key.startswith("change")}
    decades = round(np.log10(float(next(iter(changes))) / float(list(changes)[-1]))) if len(changes) > 1 else 0
    return ("q jumps along the segment from the input towards the witness point (P_b, T_b, w_b), at "
            f"t ≈ {pm.detail.get('t', '?')}: at points on both sides, every coordinate within "
            f"relative distance {', '.join(changes)}, max_i |q(a)(i) − q(b)(i)| = {', '.join(changes.values())} — "
            f"the change does not shrink as the distance shrinks by {decades} orders of magnitude (discontinuity "
            "is inferred from these finitely many scales; the certificate says how each change was enclosed).")
