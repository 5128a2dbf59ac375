"""Ball arithmetic contexts on python-flint's ``arb`` (C library Arb, part of FLINT).

Same contract as :mod:`~mtkd.operators.precision`: an operator's precise form runs unchanged on
these numbers (``+ - * /``, ``ctx.exp``, ``ctx.log``, ``ctx.max``, ``ctx.is_zero``). An ``arb``
is a midpoint-radius ball that encloses the exact real value, so a ball that excludes 0 decides
the sign rigorously, like an mpmath interval, at about 30 times the speed (each operation is one
C call). Precision only changes how *wide* the balls are, never whether they enclose.

* :class:`Ball` — ``arb`` at ``bits`` of working precision (64 bits first on small inputs, where
  it is cheaper than the float64 filter of :mod:`.precision_float`; certification escalates to
  400 bits only while the enclosure straddles 0);
* :class:`BallDerivative` — forward mode on ``arb_series`` truncated after the linear term (a
  dual number whose arithmetic is in C): the value and the directional derivative, both balls.
  An input the perturbation never reaches stays a plain ``arb``, so "the derivative is exactly
  0" (a weight-blind operator) is still recognised exactly.

``arb`` values are made picklable here (exact midpoint and radius), so precise forms can run in
a worker process.

>>> from fractions import Fraction
>>> ctx = Ball(64)
>>> x = ctx.num(Fraction(1, 3))
>>> ctx.sign(x - ctx.num(Fraction(1, 4))), ctx.sign(x - x)
(1, None)
>>> d = BallDerivative(Ball(64))
>>> y = d.seed(Fraction(1, 2), 1)
>>> d.to_str(d.derivative(d.exp(y) * y), 6)  # d/dy (y e^y) = (1 + y) e^y at y = 1/2
'[2.47308, 2.47308]'
"""

from __future__ import annotations

import copyreg
from collections.abc import Iterable, Sequence
from fractions import Fraction
from functools import reduce
from typing import Any, cast

import flint
import mpmath
import numpy as np
from flint import arb, arb_series
from mpmath.libmp import from_man_exp

from .precision import UndecidedError

FILTER_BITS = 64
"""The first ball pass on small inputs (``K * V`` below ``certify.LANE_MIN_CELLS``): clear cases are decided here."""

_ACTIVE_BITS: list[int | None] = [None]
"""The precision this process last set (reading ``flint.ctx.prec`` on every conversion costs more)."""


def _arb_state(x: arb) -> tuple:
    if not x.is_finite():
        return (x.str(),)
    return (_man_exp(x.mid()), _man_exp(x.rad()))


def _man_exp(x: arb) -> tuple[int, int]:
    m, e = x.man_exp()
    return int(m), int(e)


def _arb_from(mid: Any, rad: Any = None) -> arb:
    if rad is None:  # nan / inf: the string round-trips them
        return arb(mid)
    return arb(arb(mid), arb(rad)) if rad[0] else arb(mid)


def _reduce_arb(x: arb) -> tuple:
    return _arb_from, _arb_state(x)


def _reduce_series(x: arb_series) -> tuple:
    # python-flint < 0.7 has no ``prec`` attribute; this module only makes length-2 series.
    return _series_from, ([_arb_state(c) for c in x.coeffs()], getattr(x, "prec", 2))


def _series_from(coeffs: list[tuple], prec: int) -> arb_series:
    return arb_series([_arb_from(*c) for c in coeffs], prec=prec)


if __name__ == "mtkd.operators.precision_arb":
    # Only the canonical module registers: a second import of this file under another name (the
    # doctest run imports it as ``operators.precision_arb``) would otherwise take over the
    # reductions, and the sandbox's allow-list rejects balls pickled by a module it does not know.
    copyreg.pickle(arb, _reduce_arb)
    copyreg.pickle(arb_series, _reduce_series)


def to_mpf(x: arb) -> Any:
    """An exact ``arb`` (e.g. an endpoint) as an mpmath number (for messages and margins)."""
    if not x.is_finite():
        return mpmath.mpf("nan") if x.is_nan() else mpmath.mpf("inf") if x > 0 else mpmath.mpf("-inf")
    m, e = _man_exp(x.mid())
    # make_mpf keeps every bit (mpf() would round to mpmath's global 53 bits).
    return mpmath.mp.make_mpf(from_man_exp(m, e))


class Ball:
    """``arb`` balls at ``bits`` of precision: every result encloses the exact real value."""

    certifying = True

    def __init__(self, bits: int = FILTER_BITS) -> None:
        self.bits = bits
        self.dps = int(bits * 0.30103)
        self.name = f"arb ball (interval) arithmetic, python-flint, {bits} bits"

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.activate()

    def activate(self) -> None:
        """Set FLINT's working precision (a process-wide setting) to this context's.

        Called on every conversion, so numbers made by this context are computed at its
        precision in whichever process runs the form; a stale setting would only widen or
        narrow balls, never break enclosure.
        """
        if _ACTIVE_BITS[0] != self.bits:
            flint.ctx.prec = _ACTIVE_BITS[0] = self.bits

    def num(self, x: Fraction | int | str) -> arb:
        self.activate()
        if isinstance(x, int):
            return arb(x)
        if not isinstance(x, Fraction):
            x = Fraction(x)
        # Two rounded operations, each enclosing: faster than an exact fmpq (no gcd).
        return arb(x.numerator) / x.denominator

    def entries(self, row: Sequence[Fraction]) -> list[arb]:
        """A row of exact inputs as balls (``[num(x) for x in row]``, faster for rounded rows).

        At the filter's precision a row rounded from float64 (``theorems.property.DecimalRow``,
        which has ``rounded_from``) is enclosed from its floats: entry ``j != top`` is a decimal
        that rounds to ``x_j``, so it lies within one ulp (``np.spacing``) of it, and a float 0 is
        an exact 0; only the top entry is converted exactly. That pass need only decide clear
        cases, and it builds no Fractions (most of its cost at small K * V). Higher precisions
        convert every entry exactly: they are there for near-ties.
        """
        rounded = getattr(row, "rounded_from", None)
        if rounded is None or self.bits > FILTER_BITS:
            return [self.num(x) for x in row]
        self.activate()
        nearest, top = rounded
        out = [arb(x, r) if x else arb(0) for x, r in zip(nearest.tolist(), np.spacing(nearest).tolist())]
        out[top] = self.num(cast(Any, row).top_value())
        return out

    def exp(self, x: Any) -> Any:
        return x.exp()

    def log(self, x: Any) -> Any:
        return x.log()

    def max(self, xs: Iterable[arb]) -> arb:
        # arb's max encloses max(a, b) for every a, b in the balls.
        return reduce(lambda a, b: a.max(b), xs)

    def is_zero(self, x: Any) -> bool:
        return isinstance(x, arb) and x.is_zero()

    def sign(self, x: arb) -> int | None:
        """The sign if the ball decides it (an exact 0 included), else ``None``."""
        if x.is_zero():
            return 0
        if x > 0:
            return 1
        if x < 0:
            return -1
        return None

    def bounds(self, x: arb) -> tuple[Any, Any]:
        return to_mpf(x.lower()), to_mpf(x.upper())

    def to_str(self, x: arb, digits: int = 20) -> str:
        lo, hi = self.bounds(x)
        return f"[{mpmath.nstr(lo, digits)}, {mpmath.nstr(hi, digits)}]"


class BallDerivative:
    """Dual numbers as ``arb_series`` of length 2: ``v + d x + O(x^2)``, arithmetic in C.

    Plays the part of :class:`~mtkd.operators.precision.Derivative` over :class:`Ball`: the
    derivative ball encloses the exact directional derivative, so its sign certifies.
    """

    def __init__(self, base: Ball) -> None:
        self.base = base
        self.dps = base.dps
        self.certifying = True
        self.name = f"forward-mode derivative in {base.name}"

    def num(self, x: Fraction | int | str) -> arb:
        return self.base.num(x)

    def entries(self, row: Sequence[Fraction]) -> list[arb]:
        return self.base.entries(row)

    def seed(self, x: Fraction | int | str, direction: Fraction | int) -> Any:
        """An input that moves with the perturbation parameter at rate ``direction``."""
        v = self.base.num(x)
        return v if direction == 0 else arb_series([v, self.base.num(direction)], prec=2)

    def exp(self, x: Any) -> Any:
        return x.exp()

    def log(self, x: Any) -> Any:
        return x.log()

    def value(self, x: Any) -> arb:
        return x if isinstance(x, arb) else _coeff(x, 0)

    def derivative(self, x: Any) -> arb | None:
        """The derivative ball; ``None`` when it is exactly 0 (e.g. the perturbation never reached ``x``)."""
        if isinstance(x, arb):
            return None
        d = _coeff(x, 1)
        return None if d.is_zero() else d

    def max(self, xs: Iterable[Any]) -> Any:
        xs = list(xs)
        values = [self.value(x) for x in xs]
        top = max(range(len(xs)), key=lambda j: self.base.bounds(values[j])[1])
        rivals = [j for j in range(len(xs)) if j != top and values[j].overlaps(values[top])]
        if any(not _same_derivative(self.derivative(xs[j]), self.derivative(xs[top])) for j in rivals):
            raise UndecidedError("max of overlapping values with different derivatives")
        v = self.base.max(values)
        d = self.derivative(xs[top])
        return v if d is None else arb_series([v, d], prec=2)

    def is_zero(self, x: Any) -> bool:
        """Zero *and* not moving: a weight at 0 that the perturbation raises is not zero."""
        return self.value(x).is_zero() and self.derivative(x) is None

    def derivative_sign(self, x: Any) -> int | None:
        d = self.derivative(x)
        return 0 if d is None else self.base.sign(d)

    def sign(self, x: Any) -> int | None:
        return self.base.sign(self.value(x))

    def bounds(self, x: Any) -> tuple[Any, Any]:
        return self.base.bounds(self.value(x))

    def to_str(self, x: Any, digits: int = 20) -> str:
        return self.base.to_str(self.value(x) if not isinstance(x, arb) else x, digits)


def _coeff(s: arb_series, i: int) -> arb:
    cs = s.coeffs()
    # Trailing coefficients that are exactly zero are normalised away.
    return cs[i] if i < len(cs) else arb(0)


def _same_derivative(a: arb | None, b: arb | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.is_exact() and b.is_exact() and bool(a == b)


def derivative_context(ctx: Any) -> Any:
    """Forward mode over ``ctx``: ``arb_series`` duals on balls, lane duals on the float64 filter,
    :class:`Derivative` elsewhere."""
    from .precision import Derivative
    from .precision_float import LaneContext, LaneDerivative

    if isinstance(ctx, LaneContext):
        return LaneDerivative(ctx)
    return BallDerivative(ctx) if isinstance(ctx, Ball) else Derivative(ctx)
