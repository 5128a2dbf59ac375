"""The :class:`Property` abstraction: one statement of the paper, checkable two ways.

Every property gives a **margin**, a real number ``>= 0`` where the statement holds at an input
and ``< 0`` where it fails (``= 0`` also fails a *strict* statement):

* :meth:`Property.margins` — vectorised over a batch of float64 inputs, choosing the worst
  witness (token, teacher pair, student...) per input. This is the search's hot path.
* :meth:`Property.precise_margin` — the margin at one exact rational input and a fixed witness,
  in a :mod:`~mtkd.operators.precision` context. This is what confirms and certifies.
"""

from __future__ import annotations

import decimal
import itertools
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction
from typing import Any, ClassVar, TypeVar, overload

import mpmath
import numpy as np
import sympy as sp

from mtkd.operators import Operator
from mtkd.operators.precision import Context, row_numbers
from mtkd.operators.precision_float import LaneSeq
from mtkd.operators.temperature import tau, tau_precise

from .parts import Absent, Axis, Role, SmtPart, SymbolicProof, WitnessField


class PreciseKind(str, Enum):
    """Which arithmetic the precise margin needs."""

    VALUE = "value"
    """A plain expression in ``q``: intervals certify its sign."""

    DERIVATIVE = "derivative"
    """A one-sided derivative: dual numbers over intervals certify its sign."""

    LIMIT = "limit"
    """A limit or a jump: high precision gives evidence, never a certificate."""


@dataclass(frozen=True)
class Batch:
    """``N`` float64 inputs of one size: ``P`` ``(N, K, V)``, ``T`` ``(N, K)``, ``w`` ``(N, K)``."""

    P: np.ndarray
    T: np.ndarray
    w: np.ndarray
    generator: str = ""

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.P.shape

    def Q(self) -> np.ndarray:
        return tau(self.P, self.T)

    def take(self, idx: np.ndarray | slice) -> "Batch":
        return Batch(self.P[idx], self.T[idx], self.w[idx], self.generator)


@dataclass(frozen=True)
class Margins:
    """Per-input worst margins of a batch, whether that witness needs strictness, and the witness."""

    values: np.ndarray
    strict: np.ndarray
    witness: Mapping[str, np.ndarray] = field(default_factory=dict)

    def witness_at(self, n: int) -> dict[str, Any]:
        return {k: _plain(v[n]) for k, v in self.witness.items()}

    def take(self, idx: np.ndarray) -> "Margins":
        """The margins (and witnesses) of the inputs ``idx``."""
        return Margins(self.values[idx], self.strict[idx], {k: np.asarray(v)[idx] for k, v in self.witness.items()})

    def shared_keys(self, other: "Margins") -> list[str]:
        """The witness entries both have, in this one's order.

        Not ``keys() & keys()``: a set of strings iterates in a per-process hash order, which
        reached the JSON (the same seed gave another key order of the witness in another run).
        """
        return [k for k in self.witness if k in other.witness]

    def joined(self, other: "Margins") -> "Margins":
        """This batch's margins followed by ``other``'s (the witness entries both have)."""
        return Margins(np.concatenate([self.values, other.values]), np.concatenate([self.strict, other.strict]),
                       {k: np.concatenate([np.asarray(self.witness[k]), np.asarray(other.witness[k])])
                        for k in self.shared_keys(other)})


def _plain(x: Any) -> Any:
    if isinstance(x, np.ndarray) and x.ndim == 1 and x.dtype.kind == "f":
        return list(map(repr, x.tolist()))  # decimal_string of each entry, in one pass (V = 10,000 students)
    if isinstance(x, np.ndarray):
        return [_plain(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating, float)):
        return decimal_string(float(x))
    return x


def decimal_string(x: float) -> str:
    """The shortest decimal that round-trips ``x``; from then on that decimal *is* the value."""
    return repr(float(x))


T_co = TypeVar("T_co", covariant=True)


class LazyTuple(Sequence[T_co]):
    """A tuple computed on first use (:meth:`build`); equal to, and hashed like, that tuple."""

    __slots__ = ("_value",)

    def __init__(self) -> None:
        self._value: tuple[T_co, ...] | None = None

    def build(self) -> tuple[T_co, ...]:
        raise NotImplementedError

    @property
    def value(self) -> tuple[T_co, ...]:
        if self._value is None:
            self._value = self.build()
        return self._value

    @overload
    def __getitem__(self, i: int) -> T_co: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[T_co, ...]: ...

    def __getitem__(self, i: int | slice) -> T_co | tuple[T_co, ...]:
        return self.value[i]

    def __iter__(self) -> Iterator[T_co]:
        return iter(self.value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyTuple):
            other = other.value
        return isinstance(other, tuple) and self.value == other

    def __hash__(self) -> int:
        return hash(self.value)


class DecimalRow(LazyTuple[Fraction]):
    """A float64 probability row rounded as :func:`simplex_point` does, with its Fractions built lazily.

    The exact values are the shortest decimals of ``floats``, except entry ``top`` (the first
    largest), which is one minus the others. Certification usually decides a candidate from an
    enclosure of these values, which the floats give without a single Fraction
    (``LaneContext.row`` reads ``rounded_from``); the ``V`` Fractions are made on first use.
    Equal to (and hashed like) the tuple of its Fractions.

    >>> row = DecimalRow(np.array([0.1, 0.2, 0.7000000000000001]))
    >>> row.rounded_from[1], row[2], row == (Fraction(1, 10), Fraction(1, 5), Fraction(7, 10))
    (2, Fraction(7, 10), True)
    >>> row.strings()
    ('0.1', '0.2', '0.7')
    """

    __slots__ = ("floats",)

    def __init__(self, floats: np.ndarray) -> None:
        super().__init__()
        self.floats = np.array(floats, dtype=float)

    @property
    def rounded_from(self) -> tuple[np.ndarray, int]:
        return self.floats, int(np.argmax(self.floats))

    def build(self) -> tuple[Fraction, ...]:
        return simplex_point(self.floats)

    def __len__(self) -> int:
        return len(self.floats)

    def __repr__(self) -> str:
        return f"DecimalRow({self.floats!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return DecimalRow, (self.floats,)

    def strings(self) -> tuple[str, ...]:
        """``fraction_string`` of every entry, written from the floats' shortest decimals (no Fractions).

        >>> DecimalRow(np.array([2.5e-07, 1e-70, 0.75, 0.25 - 2.5e-07 - 1e-70])).strings()[:2]
        ('0.00000025', '1/10000000000000000000000000000000000000000000000000000000000000000000000')
        """
        values, top = self.rounded_from
        # str() of a list writes every float's shortest round-trip decimal in one C call.
        reps = str(values.tolist())[1:-1].split(", ")
        out = [_decimal_text(r) for r in reps]
        out[top] = fraction_string(self.top_value(reps))
        return tuple(out)

    def nearest(self) -> np.ndarray:
        """The float64 roundings of the exact values (the floats, apart from perhaps the top entry)."""
        values, top = self.rounded_from
        out = values.copy()
        out[top] = float(self.top_value())
        return out

    def top_value(self, reps: Sequence[str] | None = None) -> Fraction:
        """Entry ``top`` exactly: one minus the other entries' decimals, summed exactly by libmpdec."""
        values, top = self.rounded_from
        if reps is None:
            reps = str(values.tolist())[1:-1].split(", ")
        with decimal.localcontext(_EXACT_DECIMALS):
            # One C call per entry (a Python loop over the digits cost ~10 ms at V = 10,000).
            total = sum(map(decimal.Decimal, itertools.chain(reps[:top], reps[top + 1:])), decimal.Decimal(0))
            return Fraction(1 - total)


_EXACT_DECIMALS = decimal.Context(prec=decimal.MAX_PREC, traps=[decimal.Inexact])
"""Decimal sums without rounding: the precision is unbounded in practice and a rounded result would raise."""


class RowStrings(LazyTuple[str]):
    """The decimal strings of a :class:`DecimalRow` (its ``strings()``), written on first use.

    A candidate is certified from the row's floats; writing its point out (``repr`` of every
    float and the exact top entry: ~13 ms per row at V = 10,000) is only needed once the
    counterexample is reported, so a :class:`~mtkd.results.Counterexample` holds these. Equal to,
    hashed and printed like the tuple of strings; pickles as that tuple.

    >>> r = RowStrings(DecimalRow(np.array([0.25, 0.75])))
    >>> r == ("0.25", "0.75"), ("0.25", "0.75") == r, r, len(r), list(r)
    (True, True, ('0.25', '0.75'), 2, ['0.25', '0.75'])
    """

    __slots__ = ("row",)

    def __init__(self, row: DecimalRow) -> None:
        super().__init__()
        self.row = row

    def build(self) -> tuple[str, ...]:
        return self.row.strings()

    def __len__(self) -> int:
        return len(self.row)

    def __repr__(self) -> str:
        return repr(self.value)

    def __reduce__(self) -> tuple[Any, ...]:
        return tuple, (self.value,)


def _decimal_text(r: str) -> str:
    """``fraction_string(Fraction(r))`` for a float's ``repr`` ``r``, by moving the decimal point.

    Positional notation of the same digits, except where ``fraction_string`` writes ``p/q``
    (a reduced denominator of 60 or more digits: only below about 1e-40) or for a sign.
    """
    if "e" not in r:
        return r[:-2] if r.endswith(".0") else r
    mantissa, _, exponent = r.partition("e")
    whole, _, frac = mantissa.partition(".")
    digits, places = whole + frac, len(frac) - int(exponent)
    if places > 40 or r.startswith("-"):
        return fraction_string(Fraction(r))
    if places <= 0:
        return digits + "0" * -places
    if len(digits) <= places:
        return "0." + digits.rjust(places, "0")
    return digits[:-places] + "." + digits[-places:]


@dataclass(frozen=True)
class ExactPoint:
    """An exact rational input: rows of ``P`` and ``w`` sum to exactly one."""

    P: tuple[Sequence[Fraction], ...]
    """Rows of Fractions (a :class:`DecimalRow` when rounded from float64: the same values, built lazily)."""
    T: tuple[Fraction, ...]
    w: tuple[Fraction, ...]

    @classmethod
    def from_floats(cls, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> "ExactPoint":
        return cls(tuple(DecimalRow(row) for row in P), tuple(Fraction(decimal_string(t)) for t in T),
                   simplex_point(w))

    @classmethod
    def from_strings(cls, P: Sequence[Sequence[str]], T: Sequence[str], w: Sequence[str]) -> "ExactPoint":
        return cls(tuple(tuple(Fraction(x) for x in row) for row in P), tuple(Fraction(t) for t in T),
                   tuple(Fraction(x) for x in w))

    def strings(self) -> tuple[tuple[Sequence[str], ...], tuple[str, ...], tuple[str, ...]]:
        """The point as decimal strings; rows rounded from float64 are written on first use (:class:`RowStrings`)."""
        return (tuple(RowStrings(row) if isinstance(row, DecimalRow) else tuple(fraction_string(x) for x in row)
                      for row in self.P),
                tuple(fraction_string(t) for t in self.T), tuple(fraction_string(x) for x in self.w))

    def row_floats(self, k: int) -> np.ndarray:
        """Row ``k`` of ``P`` rounded to float64 (a :class:`DecimalRow` without building its Fractions)."""
        row = self.P[k]
        return row.nearest() if isinstance(row, DecimalRow) else np.array([float(x) for x in row])

    def floats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (np.array([self.row_floats(k) for k in range(self.K)]), np.array([float(t) for t in self.T]),
                np.array([float(x) for x in self.w]))

    @property
    def K(self) -> int:
        return len(self.P)

    @property
    def V(self) -> int:
        return len(self.P[0])


def simplex_point(row: Sequence[float] | np.ndarray) -> tuple[Fraction, ...]:
    """Round a float probability vector to decimals that sum to exactly one.

    The largest entry absorbs the rounding so that no entry changes sign (zeros stay zeros).
    Integer arithmetic over a common power of ten (not ``Fraction`` sums, whose denominators
    grow term by term): this runs on every candidate, at V = 10,000 too.

    >>> simplex_point([0.1, 0.2, 0.7000000000000001])
    (Fraction(1, 10), Fraction(1, 5), Fraction(7, 10))
    >>> simplex_point(np.array([0.0, 0.25, 0.75]))
    (Fraction(0, 1), Fraction(1, 4), Fraction(3, 4))
    """
    parts = [_decimal_parts(x) if x != 0 else (0, 0) for x in np.asarray(row, dtype=float).tolist()]
    scale = max(0, max(e for _, e in parts))
    powers = {e: 10 ** (scale - e) for e in {e for _, e in parts}}
    ints = [m * powers[e] for m, e in parts]
    top = ints.index(max(ints))
    ints[top] += 10**scale - sum(ints)
    return tuple(Fraction(n, 10**scale) for n in ints)


def _decimal_parts(x: float) -> tuple[int, int]:
    """``(m, e)`` with ``x``'s shortest round-trip decimal equal to ``m / 10**e`` exactly.

    >>> _decimal_parts(0.1), _decimal_parts(1.5e-07), _decimal_parts(1e+20), _decimal_parts(-2.25)
    ((1, 1), (15, 8), (1, -20), (-225, 2))
    """
    mantissa, _, exponent = repr(x).partition("e")
    whole, _, frac = mantissa.partition(".")
    return int(whole + frac), len(frac) - int(exponent or 0)


DECIMAL_DIGITS = 28
"""Longest significand (in digits) written as a decimal; longer exact values are written ``p/q``."""


def fraction_string(x: Fraction) -> str:
    """Decimal notation when exact and short, else ``p/q``.

    >>> fraction_string(Fraction(1, 4)), fraction_string(Fraction(-5, 2)), fraction_string(Fraction(1, 3))
    ('0.25', '-2.5', '1/3')
    >>> fraction_string(Fraction(10**30)), fraction_string(Fraction(1, 2**100))
    ('1000000000000000000000000000000', '1/1267650600228229401496703205376')
    """
    d = x.denominator
    twos = (d & -d).bit_length() - 1
    d >>= twos
    fives = round(math.log(d, 5)) if d > 1 else 0
    if d != 5**fives or len(str(x.denominator)) >= 60:
        return f"{x.numerator}/{x.denominator}"
    places = max(twos, fives)
    digits = str(abs(x.numerator) * (10**places // x.denominator))
    if len(digits.rstrip("0")) > DECIMAL_DIGITS:
        return f"{x.numerator}/{x.denominator}" if x.denominator != 1 else str(x.numerator)
    digits = digits.rjust(places + 1, "0")
    sign = "-" if x.numerator < 0 else ""
    return sign + (f"{digits[:-places]}.{digits[-places:]}" if places else digits)


@dataclass(frozen=True)
class PreciseMargin:
    """The margin at one exact input, with the hypotheses that must hold (each must be > 0)."""

    value: Any
    strict: bool
    hypotheses: Mapping[str, Any] = field(default_factory=dict)
    detail: Mapping[str, str] = field(default_factory=dict)
    """Human-readable values for the explanation (``q(i)`` before/after, the derivative...)."""


class Property(ABC):
    """One checkable statement. Subclasses set the class attributes and the two margins."""

    id: ClassVar[str]
    title: ClassVar[str]
    reference: ClassVar[str]
    wording: ClassVar[str]
    """docs/formalization.md's statement, which is what is checked."""
    precise_kind: ClassVar[PreciseKind] = PreciseKind.VALUE
    open_only: ClassVar[bool] = False
    closed_only: ClassVar[bool] = False
    """True for statements about zeros (``pool-zero-preservation``): vacuous on the open domain."""
    vectorised_margin: ClassVar[bool] = False
    """True when :meth:`precise_margin` reads the teachers only through ``precise_Q``/``precise_Q_row``
    and ``op.evaluate_precise`` and then a few tokens (or handles whole rows itself): then it runs
    on the vectorised float64 filter (:mod:`~mtkd.operators.precision_float`) before arb balls.
    Iterating over every token there raises ``NotVectorised`` and the balls decide, so a wrong
    True costs time, never soundness."""
    needs_operator: ClassVar[bool] = True
    """False for statements whose margin never evaluates the operator (``thm-IV.2``'s inequality)."""

    witness_fields: ClassVar[Mapping[str, WitnessField]] = {}
    """What each witness entry holds (:meth:`witness_schema` may refine it per witness)."""
    smt: ClassVar[SmtPart] = Absent("no z3 encoding is provided for this property")
    symbolic: ClassVar[Mapping[str, SymbolicProof]] = {}
    """Symbolic proofs by canonical built-in operator name; operators not listed get none."""

    def statement(self) -> sp.Basic | Absent:
        """The sympy statement (a ``Boolean`` over the vocabulary of :mod:`~mtkd.theorems.symbols`)."""
        return Absent("no sympy statement is provided; the wording is the statement")

    def witness_schema(self, witness: Mapping[str, Any]) -> dict[str, WitnessField]:
        """The entries this witness needs; a property whose witness has parts may override."""
        return dict(self.witness_fields)

    def witness_role(self, witness: Mapping[str, Any], key: str, axis: Axis) -> Role | None:
        """How ``witness[key]`` is remapped when indices on ``axis`` are dropped (``None``: unaffected)."""
        kind = self.witness_schema(witness).get(key)
        return kind.role(axis) if kind is not None and not isinstance(kind, tuple) else None

    def kind_at(self, witness: Mapping[str, Any]) -> PreciseKind:
        """The arithmetic this witness's margin needs; a property mixing parts may override."""
        return self.precise_kind

    @abstractmethod
    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        """Worst margin per input; raises ``OperatorFailure`` if the operator misbehaves."""

    @abstractmethod
    def precise_margin(self, op: Operator, x: ExactPoint, witness: Mapping[str, Any],
                       ctx: Context) -> PreciseMargin:
        """The margin at an exact input and witness, in ``ctx`` arithmetic."""

    def evidence(self, op: Operator, seed: int) -> str | None:
        """Further evidence shown next to the verdict (it never changes the verdict); ``None`` if none."""
        return None

    def explain(self, pm: PreciseMargin, witness: Mapping[str, Any]) -> str:
        """One or two sentences a newcomer can read; subclasses specialise."""
        details = ", ".join(f"{k} = {v}" for k, v in pm.detail.items())
        return f"{self.title} fails at witness {dict(witness)}" + (f": {details}." if details else ".")

    def __repr__(self) -> str:
        return f"<Property {self.id}>"


# ---- helpers shared by the property modules --------------------------------------------------

def precise_Q(x: ExactPoint, ctx: Context) -> list[Sequence[Any]]:
    return [precise_Q_row(x, ctx, k) for k in range(x.K)]


def precise_Q_row(x: ExactPoint, ctx: Context, k: int) -> Sequence[Any]:
    """``Q_k = tau_(T_k)(p_k)`` in ``ctx``; a vectorised context computes the row as one number."""
    if getattr(ctx, "vectorised", False):
        return LaneSeq(tau_precise([ctx.row(x.P[k])], ctx.num(x.T[k]), ctx)[0])  # type: ignore[attr-defined]
    return tau_precise(row_numbers(ctx, x.P[k]), ctx.num(x.T[k]), ctx)


def fmt(ctx: Context, v: Any) -> str:
    """A readable value for explanations: the midpoint of an enclosure (the margin keeps the bounds)."""
    lo, hi = ctx.bounds(v)
    return mpmath.nstr((lo + hi) / 2, 12)


def token_margins(margin: np.ndarray, witness: Mapping[str, np.ndarray] | None = None,
                  strict: bool = False) -> Margins:
    """Margins of a statement about every token, from its per-token margin ``(N, V)``.

    Each input's worst token gives the value and becomes the witness's ``token``, after the
    entries of ``witness`` (which fix the rest of what was compared).
    """
    return Margins(margin.min(axis=-1), np.full(len(margin), strict),
                   {**(witness or {}), "token": margin.argmin(axis=-1)})


def equality_margins(difference: np.ndarray, witness: Mapping[str, np.ndarray]) -> Margins:
    """Margins of an equality of two pools, from their difference ``(N, V)``: ``-max_i |difference(i)|``.

    Zero where the equality holds, so never strict.
    """
    return token_margins(-np.abs(difference), witness)


def equality_margin(ctx: Context, lhs: Any, rhs: Any, labels: tuple[str, str]) -> PreciseMargin:
    """The precise margin ``-|lhs - rhs|`` of an equality at one token; the explanation names the sides ``labels``."""
    return PreciseMargin(-abs(lhs - rhs), False, detail={labels[0]: fmt(ctx, lhs), labels[1]: fmt(ctx, rhs)})


def masked_min(values: np.ndarray, mask: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """Min over ``axis`` of the entries where ``mask`` holds (``+inf`` if none) and its argmin."""
    masked = np.where(mask, values, np.inf)
    return masked.min(axis=axis), masked.argmin(axis=axis)  # min, not take_along_axis: cheaper on small arrays
