"""Arithmetic contexts for the arbitrary-precision form of an operator.

An operator's *precise form* is ``precise(P, T, w, ctx) -> list`` where ``P`` is a list of
rows, ``T`` and ``w`` lists, all of ``ctx`` numbers. It may use ``+ - * /``, ``ctx.exp``,
``ctx.log``, ``ctx.max`` and ``ctx.is_zero``, nothing else. Written that way, one form
serves three purposes:

* :class:`HighPrecision` — mpmath floats at 50+ digits, to confirm a float64 finding;
* :class:`Interval` — mpmath interval arithmetic, to *certify* the sign of a margin;
* :class:`Derivative` — forward-mode dual numbers over intervals, to certify the sign of a
  directional derivative (``axiom3``).

>>> from fractions import Fraction
>>> ctx = Interval(40)
>>> x = ctx.num(Fraction(1, 3))
>>> ctx.sign(x - ctx.num(Fraction(1, 4)))
1
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Iterable, Protocol, Sequence

import mpmath
from mpmath.ctx_iv import MPIntervalContext


class UndecidedError(ArithmeticError):
    """Interval arithmetic could not decide a comparison the computation depends on."""


class Arithmetic(Protocol):
    """What an operator's precise form may use: the contract of ``op.precise(P, T, w, ctx)``.

    Every context provides it (mpmath, intervals, arb balls, exact sympy, dual numbers), so one
    precise form runs in all of them.
    """

    name: str
    """How certificates and messages name the arithmetic."""

    def num(self, x: Fraction | int | str) -> Any: ...
    def exp(self, x: Any) -> Any: ...
    def log(self, x: Any) -> Any: ...
    def max(self, xs: Iterable[Any]) -> Any: ...
    def is_zero(self, x: Any) -> bool: ...


class Context(Arithmetic, Protocol):
    """An arithmetic that can also judge a margin: its sign (``None``: undecided) and an enclosure."""

    dps: int
    """Working precision in digits (0: exact)."""
    certifying: bool
    """Whether a decided sign is a certificate (balls, intervals, exact) or a confirmation (plain mpmath)."""

    def sign(self, x: Any) -> int | None: ...
    def bounds(self, x: Any) -> tuple[Any, Any]: ...
    def to_str(self, x: Any, digits: int = 20) -> str: ...


def row_numbers(ctx: Arithmetic, row: Sequence[Any]) -> list[Any]:
    """The entries of a row of exact inputs as ``ctx`` numbers (a context may convert whole rows faster)."""
    entries = getattr(ctx, "entries", None)
    return entries(row) if entries is not None else [ctx.num(x) for x in row]


class HighPrecision:
    """mpmath floating point at ``dps`` significant digits (confirmation, not certification)."""

    certifying = False

    def __init__(self, dps: int = 50) -> None:
        self.mp = mpmath.MPContext()
        self.mp.dps = dps
        self.dps = dps
        self.name = f"mpmath {dps} digits"

    def __reduce__(self) -> tuple[Any, ...]:
        # The mpmath context itself does not pickle; the worker of a sandboxed operator rebuilds it.
        return (type(self), (self.dps,))

    def num(self, x: Fraction | int | str) -> Any:
        x = Fraction(x)
        return self.mp.mpf(x.numerator) / x.denominator

    def wire_encode(self, x: Any) -> tuple[str, Any] | None:
        """A picklable stand-in for an mpmath number (their types belong to one context), else ``None``.

        >>> ctx = HighPrecision(30)
        >>> x = ctx.num(Fraction(1, 3))
        >>> HighPrecision(30).wire_decode(ctx.wire_encode(x)) == x
        True
        """
        return _wire_encode(x)

    def wire_decode(self, data: tuple[str, Any]) -> Any:
        """The number :meth:`wire_encode` describes, in this context."""
        tag, value = data
        if tag == "f":
            return self.mp.make_mpf(_mpf_tuple(value))
        if tag == "i":
            return self.mp.make_mpf((_mpf_tuple(value[0]), _mpf_tuple(value[1])))
        if tag == "c":
            return self.mp.make_mpc((_mpf_tuple(value[0]), _mpf_tuple(value[1])))
        raise ValueError(f"unknown ctx number tag {tag!r}")

    def exp(self, x: Any) -> Any:
        return self.mp.exp(x)

    def log(self, x: Any) -> Any:
        return self.mp.log(x)

    def max(self, xs: Iterable[Any]) -> Any:
        return max(xs)

    def is_zero(self, x: Any) -> bool:
        return x == 0

    def sign(self, x: Any) -> int | None:
        return 0 if x == 0 else (1 if x > 0 else -1)

    def bounds(self, x: Any) -> tuple[Any, Any]:
        return x, x

    def to_str(self, x: Any, digits: int = 20) -> str:
        return mpmath.nstr(x, digits)


def _wire_encode(x: Any) -> tuple[str, Any] | None:
    if not type(x).__module__.startswith("mpmath."):
        return None
    for tag, attr in (("i", "_mpi_"), ("c", "_mpc_")):
        value = getattr(x, attr, None)
        if isinstance(value, tuple) and len(value) == 2:
            return tag, (_plain(value[0]), _plain(value[1]))
    value = getattr(x, "_mpf_", None)
    if isinstance(value, tuple) and len(value) == 4:
        return "f", _plain(value)
    return None


def _plain(t: tuple[Any, ...]) -> tuple[int, int, int, int]:
    # gmpy2's mpz mantissas (when mpmath uses that backend) become ints on the wire.
    sign, man, exp, bc = t
    return int(sign), int(man), int(exp), int(bc)


def _mpf_tuple(t: tuple[int, int, int, int]) -> tuple[Any, ...]:
    sign, man, exp, bc = t
    return int(sign), mpmath.libmp.MPZ(man), int(exp), int(bc)


class Interval(HighPrecision):
    """mpmath interval arithmetic: every result encloses the exact real value."""

    certifying = True

    def __init__(self, dps: int = 60) -> None:
        self.mp = MPIntervalContext()
        self.mp.dps = dps
        self.dps = dps
        self.name = f"mpmath interval arithmetic, {dps} digits"

    def max(self, xs: Iterable[Any]) -> Any:
        # The enclosure of a max is the max of lower ends and the max of upper ends.
        xs = list(xs)
        return self.mp.mpf([max(x.a for x in xs).a, max(x.b for x in xs).b])

    def is_zero(self, x: Any) -> bool:
        return x.a == 0 and x.b == 0

    def sign(self, x: Any) -> int | None:
        """The sign if the interval decides it, else ``None``."""
        if self.is_zero(x):
            return 0
        if x.a > 0:
            return 1
        if x.b < 0:
            return -1
        return None

    def bounds(self, x: Any) -> tuple[Any, Any]:
        lo, hi = x._mpi_
        return mpmath.mp.make_mpf(lo), mpmath.mp.make_mpf(hi)

    def to_str(self, x: Any, digits: int = 20) -> str:
        lo, hi = self.bounds(x)
        return f"[{mpmath.nstr(lo, digits)}, {mpmath.nstr(hi, digits)}]"


class Dual:
    """A value and its derivative along one direction; ``d`` is ``0`` (int) when exactly zero."""

    __slots__ = ("v", "d")

    def __init__(self, v: Any, d: Any = 0) -> None:
        self.v = v
        self.d = d

    @staticmethod
    def _lift(x: Any) -> "Dual":
        return x if isinstance(x, Dual) else Dual(x, 0)

    @staticmethod
    def _add(a: Any, b: Any) -> Any:
        # Keeping exact zeros exact is what lets a weight-blind operator certify "derivative = 0".
        if isinstance(a, int) and a == 0:
            return b
        if isinstance(b, int) and b == 0:
            return a
        return a + b

    @staticmethod
    def _mul(a: Any, b: Any) -> Any:
        if isinstance(a, int) or isinstance(b, int):
            # Only the exact zero is ever stored as an int; ``-1`` is a sign flip.
            if a == 0 or b == 0:
                return 0
        return a * b

    def __add__(self, o: Any) -> "Dual":
        o = self._lift(o)
        return Dual(self.v + o.v, self._add(self.d, o.d))

    __radd__ = __add__

    def __neg__(self) -> "Dual":
        return Dual(-self.v, self._mul(self.d, -1))

    def __sub__(self, o: Any) -> "Dual":
        return self + (-self._lift(o))

    def __rsub__(self, o: Any) -> "Dual":
        return self._lift(o) - self

    def __mul__(self, o: Any) -> "Dual":
        o = self._lift(o)
        return Dual(self.v * o.v, self._add(self._mul(self.d, o.v), self._mul(self.v, o.d)))

    __rmul__ = __mul__

    def __truediv__(self, o: Any) -> "Dual":
        o = self._lift(o)
        num = self._add(self._mul(self.d, o.v), self._mul(self._mul(self.v, o.d), -1))
        return Dual(self.v / o.v, self._mul(num, 1 / (o.v * o.v)))

    def __rtruediv__(self, o: Any) -> "Dual":
        return self._lift(o) / self


class Derivative:
    """Dual numbers over a base context: a value and its directional derivative.

    Over :class:`Interval` the derivative enclosure is rigorous (certification); over
    :class:`HighPrecision` it is a 50-digit confirmation.
    """

    def __init__(self, base: Context) -> None:
        self.base = base
        self.dps = base.dps
        self.certifying = base.certifying
        self.name = f"forward-mode derivative in {base.name}"

    def num(self, x: Fraction | int | str) -> Dual:
        return Dual(self.base.num(x), 0)

    def wire_encode(self, x: Any) -> tuple[str, Any] | None:
        return self.base.wire_encode(x)  # type: ignore[attr-defined]  # contexts that cross the sandbox have it

    def wire_decode(self, data: tuple[str, Any]) -> Any:
        return self.base.wire_decode(data)  # type: ignore[attr-defined]

    def seed(self, x: Fraction | int | str, direction: Fraction | int) -> Dual:
        """An input that moves with the perturbation parameter at rate ``direction``."""
        return Dual(self.base.num(x), 0 if direction == 0 else self.base.num(direction))

    def exp(self, x: Dual) -> Dual:
        e = self.base.exp(x.v)
        return Dual(e, Dual._mul(x.d, e))

    def log(self, x: Dual) -> Dual:
        return Dual(self.base.log(x.v), 0 if isinstance(x.d, int) else x.d / x.v)

    def max(self, xs: Iterable[Dual]) -> Dual:
        xs = list(xs)
        lo, hi = zip(*(self.base.bounds(x.v) for x in xs))
        top = xs[max(range(len(xs)), key=lambda j: hi[j])]
        rivals = [x for j, x in enumerate(xs) if x is not top and not hi[j] < self.base.bounds(top.v)[0]]
        if any(not _same_derivative(x.d, top.d) for x in rivals):
            raise UndecidedError("max of overlapping values with different derivatives")
        return Dual(self.base.max(x.v for x in xs), top.d)

    def is_zero(self, x: Dual) -> bool:
        """Zero *and* not moving: a weight at 0 that the perturbation raises is not zero."""
        return self.base.is_zero(x.v) and isinstance(x.d, int)

    def derivative_sign(self, x: Dual) -> int | None:
        """Sign of the derivative part: exact ``0`` when the perturbation never reached ``x``."""
        if isinstance(x.d, int):
            return 0
        return self.base.sign(x.d)

    def value(self, x: Any) -> Any:
        return x.v if isinstance(x, Dual) else x

    def derivative(self, x: Any) -> Any | None:
        """The derivative part; ``None`` when the perturbation never reached ``x`` (exactly 0)."""
        return None if not isinstance(x, Dual) or isinstance(x.d, int) else x.d


def _same_derivative(a: Any, b: Any) -> bool:
    if isinstance(a, int) or isinstance(b, int):
        return isinstance(a, int) and isinstance(b, int) and a == b
    return bool(a == b) is True
