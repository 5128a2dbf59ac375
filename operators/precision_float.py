"""The cheap rigorous filter: float64 interval arithmetic with proven error bounds, vectorised.

A :class:`Lanes` number is a pair of float64 arrays ``lo <= x <= hi`` (any shape; a row of
``V`` tokens is one number), and every operation returns bounds that enclose the exact real
result of the exact real operands. Directed rounding is emulated, not switched on (numpy keeps
round-to-nearest, which this module assumes, as IEEE 754 and numpy's default do):

* ``+ - * /`` are correctly rounded (IEEE 754), so the exact result lies within half an ulp of
  the computed one; moving the lower end one float down and the upper end one float up
  (``nextafter``) therefore encloses it, in the normal and the subnormal range alike. A
  division needs a divisor that excludes 0.
* ``exp`` and ``log`` are *not* correctly rounded. numpy's SIMD float64 ``exp``/``log`` and
  glibc's are documented and tested to within 4 ulp (0.5-4); the enclosure allows
  :data:`LIBM_RELATIVE` = 2^-44 relative (512 ulp, 128 times the documented bound) plus
  :data:`LIBM_ABSOLUTE` = 2^-1000 absolute, which covers results in or near the subnormal range
  where ulp bounds are absolute. ``log`` needs a strictly positive argument. ``exp`` and ``log``
  are monotone, so the exact image of ``[lo, hi]`` is ``[f(lo), f(hi)]``.
* a sum over the lanes (``total``) uses the a-priori bound for floating-point summation in any
  order, ``|fl(sum) - sum| <= gamma_(n-1) sum |x_i|``, ``gamma_m = m u / (1 - m u)``,
  ``u = 2^-53`` (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., eq. 4.4;
  numpy's pairwise summation is one such order), inflated to ``1.02 n u`` to cover the rounding
  of the bound's own computation (valid while ``n u < 10^-3``), plus 2^-1022 absolute against
  underflow in that computation.

A non-finite end (overflow, ``log`` of a ball reaching 0, 0/0) makes the lane NaN, and a NaN
lane is never decided (``sign`` is ``None``), so failure is always on the safe side: the caller
moves on to arb balls. ``tests/cover/test_precision_float.py`` checks every enclosure against
mpmath at 60 digits on adversarial inputs and shows the check would fail without the libm
allowance.

Only the built-in pools whose precise form is *token-local* (token ``i`` of the pool depends on
token ``i`` of each teacher only, :attr:`~mtkd.operators.builtin.BuiltinOperator.token_local`)
run here: their rows are passed as one number each (a one-element list holding all ``V``
lanes), and the sums over tokens (temperature scaling, normalisation) go through
:meth:`LaneContext.total`. Every other form, and everything this filter leaves undecided, goes
to arb balls.

>>> from fractions import Fraction
>>> ctx = LaneContext()
>>> third = ctx.num(Fraction(1, 3))
>>> ctx.sign(third - ctx.num(Fraction(1, 4))), ctx.sign(third - third)
(1, None)
>>> d = LaneDerivative(ctx)
>>> y = d.seed(Fraction(1, 2), 1)
>>> d.to_str(d.derivative(d.exp(y) * y), 6)  # d/dy (y e^y) = (1 + y) e^y at y = 1/2
'[2.47308, 2.47308]'
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from functools import reduce
from typing import Any, overload

import mpmath
import numpy as np

from .precision import UndecidedError

LIBM_RELATIVE = 2.0**-44
"""Relative error allowed for numpy's float64 ``exp`` and ``log`` (see the module docstring)."""
LIBM_ABSOLUTE = 2.0**-1000
"""Absolute error allowed on top (results in or near the subnormal range)."""
SUM_ABSOLUTE = 2.0**-1022
"""Absolute slack of a lane sum's error bound (underflow while computing the bound)."""
_U = 2.0**-53
_INF = np.inf


class NotVectorised(UndecidedError):
    """The computation needs token-by-token work (or mixes exact zeros with non-zeros): balls serve it."""


def _down(x: np.ndarray) -> np.ndarray:
    return np.nextafter(x, -_INF)


def _up(x: np.ndarray) -> np.ndarray:
    return np.nextafter(x, _INF)


class Lanes:
    """Enclosures ``lo <= x <= hi`` of real numbers, elementwise over float64 arrays of one shape."""

    __slots__ = ("lo", "hi")
    __array_ufunc__ = None  # numpy scalars on the left defer to these operators

    def __init__(self, lo: np.ndarray, hi: np.ndarray) -> None:
        bad = ~(lo <= hi)  # NaN, or an inverted pair, is an undecided lane
        if bad.any():
            lo, hi = np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)
        self.lo, self.hi = lo, hi

    @classmethod
    def point(cls, x: Any) -> Lanes:
        """An exact float64 value (or array of them)."""
        a = np.asarray(x, dtype=float)
        return cls(a, a)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.lo.shape

    def __len__(self) -> int:
        return len(self.lo)

    def __getitem__(self, i: Any) -> Lanes:
        return Lanes(self.lo[i], self.hi[i])

    def __repr__(self) -> str:
        return f"Lanes(lo={self.lo!r}, hi={self.hi!r})"

    # -- arithmetic: exact results enclosed by one float outward (correct rounding) ------------
    def __add__(self, other: Any) -> Lanes:
        b = _lift(other)
        if b is None:
            return NotImplemented
        return Lanes(_down(self.lo + b.lo), _up(self.hi + b.hi))

    __radd__ = __add__

    def __neg__(self) -> Lanes:
        return Lanes(-self.hi, -self.lo)

    def __abs__(self) -> Lanes:
        # Exact: |x| of an enclosure is [0 or the smaller end, the larger end].
        a, b = np.abs(self.lo), np.abs(self.hi)
        straddles = (self.lo < 0) & (self.hi > 0)
        return Lanes(np.where(straddles, 0.0, np.minimum(a, b)), np.maximum(a, b))

    def __sub__(self, other: Any) -> Lanes:
        b = _lift(other)
        if b is None:
            return NotImplemented
        return Lanes(_down(self.lo - b.hi), _up(self.hi - b.lo))

    def __rsub__(self, other: Any) -> Lanes:
        b = _lift(other)
        if b is None:
            return NotImplemented
        return b - self

    def __mul__(self, other: Any) -> Lanes:
        b = None if isinstance(other, Positive) else _lift(other)  # Positive keeps log form
        if b is None:
            return NotImplemented
        with np.errstate(invalid="ignore", over="ignore"):
            p = (self.lo * b.lo, self.lo * b.hi, self.hi * b.lo, self.hi * b.hi)
            lo, hi = reduce(np.minimum, p), reduce(np.maximum, p)
        return Lanes(_down(lo), _up(hi))

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Lanes:
        b = None if isinstance(other, Positive) else _lift(other)
        if b is None:
            return NotImplemented
        # A divisor whose enclosure reaches 0 gives NaN lanes (undecided), never a wrong bound.
        ok = (b.lo > 0) | (b.hi < 0)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            q = (self.lo / b.lo, self.lo / b.hi, self.hi / b.lo, self.hi / b.hi)
            lo, hi = reduce(np.minimum, q), reduce(np.maximum, q)
        return Lanes(np.where(ok, _down(lo), np.nan), np.where(ok, _up(hi), np.nan))

    def __rtruediv__(self, other: Any) -> Lanes:
        b = _lift(other)
        if b is None:
            return NotImplemented
        return b / self

    # -- monotone elementary functions, widened by the libm allowance --------------------------
    def exp(self) -> Positive:
        """``e^x`` kept as its logarithm ``x``: no underflow, however negative ``x`` is."""
        return Positive(self)

    def exp_plain(self) -> Lanes:
        """``e^x`` as a float64 enclosure (underflow gives ``[0, tiny]``; ``x = -inf`` an exact 0)."""
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            lo, hi = np.exp(self.lo), np.exp(self.hi)
            lo = np.maximum(_down(lo * (1 - LIBM_RELATIVE) - LIBM_ABSOLUTE), 0.0)
            hi = np.where(self.hi == -_INF, 0.0, _up(hi * (1 + LIBM_RELATIVE) + LIBM_ABSOLUTE))
        return Lanes(np.where(np.isfinite(lo), lo, np.nan), np.where(np.isfinite(hi), hi, np.nan))

    def log(self) -> Lanes:
        ok = self.lo > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            lo, hi = np.log(np.where(ok, self.lo, np.nan)), np.log(np.where(ok, self.hi, np.nan))
            lo = _down(lo - np.abs(lo) * LIBM_RELATIVE - LIBM_ABSOLUTE)
            hi = _up(hi + np.abs(hi) * LIBM_RELATIVE + LIBM_ABSOLUTE)
        return Lanes(lo, np.where(np.isfinite(hi), hi, np.nan))

    def total(self) -> Lanes:
        """The sum over all lanes (a 0-d enclosure), with the a-priori summation error bound."""
        n = self.lo.size
        if n * _U >= 1e-3:
            raise NotVectorised("too many terms for the summation bound")
        slack = 1.02 * n * _U
        ends = []
        for a, direction in ((self.lo, -1), (self.hi, 1)):
            s = np.sum(a)
            err = np.sum(np.abs(a)) * slack + SUM_ABSOLUTE
            ends.append(_down(s - err) if direction < 0 else _up(s + err))
        return Lanes(np.asarray(ends[0]), np.asarray(ends[1]))

    def maximum(self, other: Lanes) -> Lanes:
        # max is exact on floats and monotone in both arguments.
        return Lanes(np.maximum(self.lo, other.lo), np.maximum(self.hi, other.hi))

    # -- judgements ----------------------------------------------------------------------------
    def exact_zero(self) -> np.ndarray:
        return (self.lo == 0) & (self.hi == 0)

    def sign(self) -> int | None:
        if self.lo.size != 1:
            raise NotVectorised("the sign of a whole row")
        lo, hi = self.lo.item(), self.hi.item()
        if lo == 0 and hi == 0:
            return 0
        if lo > 0:
            return 1
        if hi < 0:
            return -1
        return None  # straddles 0, or NaN


class Positive:
    """Non-negative reals held by an enclosure of their logarithm: ``e^lo <= x <= e^hi``.

    What ``exp`` returns, so that temperature scaling at ``T = 1e-6`` (logits of -1e7) and
    products of tiny probabilities keep their size instead of underflowing to ``[0, tiny]``:
    products, quotients, sums, maxima and logarithms of such numbers stay in log space, each
    step enclosed by :class:`Lanes` arithmetic on the logarithms (``log(e^a + e^b)`` and
    ``log sum_i e^(a_i)`` are increasing in every argument, so their ends come from the ends of
    the arguments). Anything else first *realises* the number (``exp`` of its log enclosure,
    rigorous, at worst ``[0, tiny]``). ``log = -inf`` is an exact 0.
    """

    __slots__ = ("log_",)
    __array_ufunc__ = None

    def __init__(self, log: Lanes) -> None:
        self.log_ = log

    def realise(self) -> Lanes:
        return self.log_.exp_plain()

    def __len__(self) -> int:
        return len(self.log_)

    def __getitem__(self, i: Any) -> Positive:
        return Positive(self.log_[i])

    def __repr__(self) -> str:
        return f"Positive(log={self.log_!r})"

    def log(self) -> Lanes:
        return self.log_

    def exp(self) -> Positive:
        return Positive(self.realise())

    def __mul__(self, other: Any) -> Any:
        o = _positive(other)
        return Positive(self.log_ + o.log_) if o is not None else self.realise() * other

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Any:
        o = _positive(other)
        return Positive(self.log_ - o.log_) if o is not None else self.realise() / other

    def __rtruediv__(self, other: Any) -> Any:
        o = _positive(other)
        return Positive(o.log_ - self.log_) if o is not None else other / self.realise()

    def __add__(self, other: Any) -> Any:
        if isinstance(other, Positive):
            return Positive(_log_add(self.log_, other.log_))
        return self.realise() + other

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        return self.realise() - (other.realise() if isinstance(other, Positive) else other)

    def __rsub__(self, other: Any) -> Any:
        return other - self.realise()

    def __neg__(self) -> Lanes:
        return -self.realise()

    def __abs__(self) -> Positive:
        return self

    def total(self) -> Positive:
        return Positive(_log_sum(self.log_))

    def maximum(self, other: Positive) -> Positive:
        return Positive(self.log_.maximum(other.log_))

    def exact_zero(self) -> np.ndarray:
        return self.log_.hi == -_INF

    def sign(self) -> int | None:
        if self.log_.lo.size != 1:
            raise NotVectorised("the sign of a whole row")
        if self.log_.hi.item() == -_INF:
            return 0
        return 1 if self.log_.lo.item() > -_INF else None  # NaN compares False: undecided


def _positive(x: Any) -> Positive | None:
    """``x`` in log form if it is certainly > 0 everywhere (a weight, a probability), else ``None``."""
    if isinstance(x, Positive):
        return x
    lanes = _lift(x)
    if lanes is None or not (lanes.lo > 0).all():
        return None
    return Positive(lanes.log())


def _ends(f: Any, a: Lanes, b: Lanes | None = None) -> Lanes:
    """Enclose ``f`` increasing in every argument: lower end from the lower ends, upper from the upper."""
    lo = f(Lanes.point(a.lo)) if b is None else f(Lanes.point(a.lo), Lanes.point(b.lo))
    hi = f(Lanes.point(a.hi)) if b is None else f(Lanes.point(a.hi), Lanes.point(b.hi))
    return Lanes(lo.lo, hi.hi)


def _log_add(a: Lanes, b: Lanes) -> Lanes:
    """``log(e^a + e^b)`` elementwise, shifted by the larger upper end (any shift cancels exactly)."""
    with np.errstate(invalid="ignore"):
        m = np.maximum(a.hi, b.hi)
    m = np.where(np.isfinite(m), m, 0.0)
    return _ends(lambda x, y: ((x - m).exp_plain() + (y - m).exp_plain()).log() + m, a, b)


def _log_sum(a: Lanes) -> Lanes:
    """``log sum_i e^(a_i)`` over all lanes, shifted by the largest finite upper end."""
    finite = a.hi[np.isfinite(a.hi)]
    m = float(finite.max()) if finite.size else 0.0
    return _ends(lambda x: (x - m).exp_plain().total().log() + m, a)


def _lift(x: Any) -> Lanes | None:
    """``x`` as a :class:`Lanes`; Python numbers are enclosed exactly (one float each side if inexact)."""
    if isinstance(x, Lanes):
        return x
    if isinstance(x, Positive):
        return x.realise()
    if isinstance(x, np.ndarray):
        return Lanes.point(x)
    if isinstance(x, (int, Fraction)):
        return _enclose_rational(x)
    if isinstance(x, float):
        return Lanes.point(x)
    return None


def _as_lanes(x: Any) -> Lanes:
    lanes = _lift(x)
    if lanes is None:
        raise TypeError(f"not a number of the float64 filter: {x!r}")
    return lanes


def _enclose_rational(x: Fraction | int) -> Lanes:
    try:
        f = float(x)  # correctly rounded (CPython's int / int true division)
    except OverflowError:
        return Lanes(np.array(np.nan), np.array(np.nan))
    if Fraction(f) == x:
        return Lanes.point(f)
    return Lanes(_down(np.array(f)), _up(np.array(f)))


def enclose_floats(nearest: np.ndarray, exact_zero: np.ndarray | None = None) -> Lanes:
    """Enclose exact values whose correctly rounded float64 values are ``nearest``.

    The exact value lies within half an ulp of its rounding, so one float either side
    encloses it. ``exact_zero`` marks lanes known to be exactly 0 (kept as exact points: a
    float 0 may also be the rounding of a tiny positive number, so zeros are never assumed).
    """
    lo, hi = _down(nearest), _up(nearest)
    if exact_zero is not None:
        lo, hi = np.where(exact_zero, 0.0, lo), np.where(exact_zero, 0.0, hi)
    return Lanes(lo, hi)


def _rounded_row(nearest: np.ndarray, top: int) -> Lanes:
    """Enclose a probability row rounded from float64 (``theorems.property.DecimalRow``).

    Entry ``j != top`` is the shortest decimal ``d_j`` of ``x_j = nearest[j]``, which rounds
    back to it (so one float either side encloses it; a float 0 is an exact 0, as the rounding
    keeps zeros). Entry ``top`` is exactly ``1 - sum_(j != top) d_j``. That sum is enclosed
    tightly (at ``T = 1e-6`` its error is amplified a million times): ``math.fsum`` gives the
    correctly rounded ``sum x_j`` (one float either side encloses the exact sum), and
    ``|d_j - x_j| <= ulp(x_j) / 2 <= 2^-53 x_j + 2^-1075``, so the decimals differ from the floats
    by at most ``2^-52 fsum + n 2^-1074`` in all (a factor 2 of slack covers that bound's own
    rounding).
    """
    lanes = enclose_floats(nearest, nearest == 0)
    others = np.delete(nearest, top)
    s = math.fsum(others.tolist())
    slack = s * 2.0**-52 + others.size * 2.0**-1074
    rest = Lanes(_down(np.array(s)), _up(np.array(s))) + Lanes(np.array(-slack), np.array(slack))
    top_value = 1 - rest
    lanes.lo[top], lanes.hi[top] = top_value.lo, top_value.hi
    return Lanes(lanes.lo, lanes.hi)


class LaneSeq(Sequence[Any]):
    """A row of ``V`` tokens held as one vectorised number; indexing picks one token's enclosure.

    Iterating token by token would turn the vectorised filter into scalar numpy calls (slower
    than balls), so it raises :class:`NotVectorised` and certification moves on to balls.
    """

    def __init__(self, value: Any) -> None:
        self.value = value

    def __len__(self) -> int:
        return _length(self.value)

    @overload
    def __getitem__(self, i: int) -> Any: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Any]: ...

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            raise NotVectorised("slicing a vectorised row")
        return self.value[i]

    def __iter__(self) -> Iterator[Any]:
        raise NotVectorised("token-by-token iteration over a vectorised row")


def _length(x: Any) -> int:
    return len(x.v) if isinstance(x, LaneDual) else len(x)  # Lanes and Positive have a length


class LaneContext:
    """The precise-form contract on :class:`Lanes` (a certifying context: enclosures are rigorous)."""

    certifying = True
    vectorised = True
    dps = 15
    bits = 53
    name = "float64 interval arithmetic with proven error bounds (numpy, vectorised over tokens)"

    def num(self, x: Fraction | int | str) -> Lanes:
        return _enclose_rational(x if isinstance(x, (int, Fraction)) else Fraction(x))

    def row(self, values: Sequence[Fraction | str]) -> Lanes:
        """One row of exact inputs (Fractions or decimal strings) as a lane vector.

        Fast for rows rounded from float64 and for decimal strings (Python's ``float`` of a
        decimal string is correctly rounded, so one float either side encloses it).
        """
        rounded = getattr(values, "rounded_from", None)
        if rounded is not None:
            return _rounded_row(*rounded)
        if all(isinstance(v, str) for v in values):
            return enclose_floats(np.array([float(v) for v in values]))
        exact = [Fraction(v) for v in values]
        try:
            nearest = np.array([float(v) for v in exact])
        except OverflowError:
            raise NotVectorised("an entry beyond float64's range") from None
        return enclose_floats(nearest, np.array([v == 0 for v in exact]))

    def exp(self, x: Any) -> Any:
        return x.exp()

    def log(self, x: Any) -> Any:
        return x.log()

    def max(self, xs: Iterable[Any]) -> Any:
        xs = list(xs)
        if all(isinstance(x, Positive) for x in xs):
            return reduce(Positive.maximum, xs)
        return reduce(Lanes.maximum, [_as_lanes(x) for x in xs])

    def is_zero(self, x: Any) -> bool:
        """Exactly zero in every lane (``True``) or in none (``False``); a mix is not vectorised."""
        z = x if isinstance(x, Positive) else _lift(x)
        if z is None:
            return False
        zero = z.exact_zero()
        if zero.all():
            return True
        if zero.any():
            raise NotVectorised("a row mixing exact zeros and non-zeros")
        return False

    def total(self, x: Lanes) -> Lanes:
        return x.total()

    def tau(self, p: Lanes, t: Lanes) -> Positive:
        """``tau_t`` of one row in log form: ``log Q_i = z_i - log sum_j e^(z_j)``, ``z_i = log(p_i / p_m) / t``.

        Dividing by an entry ``p_m`` first (any positive number cancels exactly) makes ``z_m``
        exactly 0: at ``t = 1e-20`` the logarithm's error is amplified 1e20 times, and this keeps
        the largest entry exact instead of wide. Exact zeros of ``p`` stay exact zeros (``log = -inf``).
        """
        zero = p.exact_zero()
        m = int(np.argmax(np.where(zero, -_INF, p.hi)))
        safe = Lanes(np.where(zero, 1.0, p.lo), np.where(zero, 1.0, p.hi))
        z = (safe / safe[m]).log() / t
        z.lo[m] = z.hi[m] = 0.0  # log(p_m / p_m) exactly
        z = Lanes(np.where(zero, -_INF, z.lo), np.where(zero, -_INF, z.hi))
        log_q = z - _log_sum(z)
        return Positive(Lanes(np.where(zero, -_INF, log_q.lo), np.where(zero, -_INF, log_q.hi)))

    def sign(self, x: Any) -> int | None:
        return x.sign()

    def bounds(self, x: Any) -> tuple[Any, Any]:
        lanes = _as_lanes(x)
        return mpmath.mpf(lanes.lo.item()), mpmath.mpf(lanes.hi.item())

    def to_str(self, x: Any, digits: int = 20) -> str:
        lo, hi = self.bounds(x)
        return f"[{mpmath.nstr(lo, digits)}, {mpmath.nstr(hi, digits)}]"


class LaneDual:
    """``v + d eps`` over :class:`Lanes`: a value and its directional derivative, both enclosed."""

    __slots__ = ("v", "d")
    __array_ufunc__ = None

    def __init__(self, v: Lanes | Positive, d: Lanes | Positive) -> None:
        self.v, self.d = v, d

    def __getitem__(self, i: Any) -> LaneDual:
        return LaneDual(self.v[i], self.d[i])

    def __len__(self) -> int:
        return len(self.v)

    def __add__(self, o: Any) -> LaneDual:
        if isinstance(o, LaneDual):
            return LaneDual(self.v + o.v, self.d + o.d)
        return LaneDual(self.v + o, self.d)

    __radd__ = __add__

    def __neg__(self) -> LaneDual:
        return LaneDual(-self.v, -self.d)

    def __sub__(self, o: Any) -> LaneDual:
        return self + (-o)

    def __rsub__(self, o: Any) -> LaneDual:
        return (-self) + o

    def __mul__(self, o: Any) -> LaneDual:
        if isinstance(o, LaneDual):
            return LaneDual(self.v * o.v, self.v * o.d + self.d * o.v)
        return LaneDual(self.v * o, self.d * o)

    __rmul__ = __mul__

    def __truediv__(self, o: Any) -> LaneDual:
        if isinstance(o, LaneDual):
            q = self.v / o.v
            return LaneDual(q, (self.d - q * o.d) / o.v)
        return LaneDual(self.v / o, self.d / o)

    def __rtruediv__(self, o: Any) -> LaneDual:
        q = o / self.v
        return LaneDual(q, -(q * self.d) / self.v)

    def exp(self) -> LaneDual:
        e = self.v.exp()
        return LaneDual(e, e * self.d)

    def log(self) -> LaneDual:
        return LaneDual(self.v.log(), self.d / self.v)


class LaneDerivative:
    """Forward mode over :class:`LaneContext`, the lane counterpart of ``BallDerivative``.

    An input the perturbation never reaches stays a plain :class:`Lanes`, so a derivative that
    is exactly 0 (a weight-blind operator) is still recognised exactly.
    """

    certifying = True
    vectorised = True

    def __init__(self, base: LaneContext) -> None:
        self.base = base
        self.dps = base.dps
        self.name = f"forward-mode derivative in {base.name}"

    def num(self, x: Fraction | int | str) -> Lanes:
        return self.base.num(x)

    def row(self, values: Sequence[Fraction]) -> Lanes:
        return self.base.row(values)

    def seed(self, x: Fraction | int | str, direction: Fraction | int) -> Any:
        v = self.base.num(x)
        return v if direction == 0 else LaneDual(v, self.base.num(direction))

    def exp(self, x: Any) -> Any:
        return x.exp()

    def log(self, x: Any) -> Any:
        return x.log()

    def value(self, x: Any) -> Lanes | Positive:
        return x.v if isinstance(x, LaneDual) else x

    def derivative(self, x: Any) -> Lanes | Positive | None:
        """The derivative's enclosure; ``None`` when it is exactly 0 (the perturbation never reached ``x``)."""
        if not isinstance(x, LaneDual) or x.d.exact_zero().all():
            return None
        return x.d

    def max(self, xs: Iterable[Any]) -> Any:
        xs = list(xs)
        if not any(isinstance(x, LaneDual) for x in xs):
            return self.base.max(xs)
        # Which argument is the max decides the derivative; a lane where it is not clear is undecided.
        values = [self.value(x) for x in xs]
        v = self.base.max(values)
        plain = [_as_lanes(x) for x in values]
        for j, x in enumerate(plain):
            if not all((x.lo > y.hi).all() for i, y in enumerate(plain) if i != j):
                continue
            d = self.derivative(xs[j])
            return v if d is None else LaneDual(v, d)
        raise NotVectorised("a max whose argument differs between tokens or is not separated")

    def is_zero(self, x: Any) -> bool:
        return self.base.is_zero(self.value(x)) and self.derivative(x) is None

    def total(self, x: Any) -> Any:
        if isinstance(x, LaneDual):
            return LaneDual(x.v.total(), x.d.total())
        return x.total()

    def tau(self, p: Lanes, t: Lanes) -> Positive:
        return self.base.tau(p, t)

    def derivative_sign(self, x: Any) -> int | None:
        d = self.derivative(x)
        return 0 if d is None else d.sign()

    def sign(self, x: Any) -> int | None:
        return self.value(x).sign()

    def bounds(self, x: Any) -> tuple[Any, Any]:
        return self.base.bounds(self.value(x))

    def to_str(self, x: Any, digits: int = 20) -> str:
        return self.base.to_str(self.value(x), digits)
