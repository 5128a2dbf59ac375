"""A precise form derived from the operator's own numpy code: run it on arrays of ctx numbers.

An operator without ``op.precise`` is called on :class:`CtxArray` inputs: numpy object arrays
whose elements are :class:`Num` (a ctx number with arithmetic, ``exp``, ``log``, ``sqrt``,
``log1p``, ``expm1``, powers and comparisons). numpy's own object loops then do the work:
arithmetic, broadcasting, ``keepdims``, indexing, ``sum``/``mean``, ``matmul``, ``einsum``,
``where``; ``maximum``/``minimum`` (and so ``max``, ``logsumexp`` written with a max shift) are
routed to ``ctx.max`` so that intervals and sympy get a true max instead of a comparison.
The adapter :func:`derived_precise` has the precise-form signature plus the user's object, so a
sandbox worker can run it by import path (``mtkd.operators.derive:derived_precise``).

A derived form is only *used* after :func:`derive_precise` found it equal to the float form at
seeded random inputs, to within what the float form's own dtype can resolve
(:data:`AGREEMENT_ULPS`). When the code does something the arrays cannot follow (converts to
float, calls a ufunc numbers do not implement, branches on an undecidable comparison), the
reason names the operation.

>>> import numpy as np
>>> from mtkd.operators.precision import HighPrecision
>>> def pool(P, T, w):
...     Q = P ** (1 / T[:, None]); Q = Q / Q.sum(axis=1, keepdims=True)
...     return w @ Q
>>> q = derived_precise(pool, [["1/4", "3/4"]], ["1"], ["1"], HighPrecision(30))
>>> [str(x) for x in q]
['0.25', '0.75']
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from typing import Any, Callable, Sequence

import numpy as np

from .precision import Derivative, Dual, HighPrecision, UndecidedError
from .symbolic import Symbolic


class DerivationBlocked(Exception):
    """The operator's code did something a derived precise form cannot follow (the message says what)."""


def _sign(ctx: Any, x: Any) -> int:
    """The sign of a ctx number, or an exception when the context cannot decide it."""
    if isinstance(ctx, Symbolic):
        return ctx.decide(x)
    if isinstance(ctx, Derivative):
        s = ctx.base.sign(x.v if isinstance(x, Dual) else x)
    else:
        s = ctx.sign(x)
    if s is None:
        raise UndecidedError(f"{ctx.name} cannot decide a comparison the operator's code makes")
    return s


class Num:
    """One ctx number inside a numpy object array; converting it to float is refused."""

    __slots__ = ("v", "ctx")

    def __init__(self, v: Any, ctx: Any) -> None:
        self.v, self.ctx = v, ctx

    def _lift(self, o: Any) -> Any:
        if isinstance(o, Num):
            return o.v
        if isinstance(o, (bool, np.bool_)):
            return int(o)
        if isinstance(o, (int, np.integer)):
            return int(o)
        if isinstance(o, (float, np.floating)):
            # The float the code wrote, exactly (no decimal guess): its own value is what it computes with.
            return self.ctx.num(Fraction(float(o)))
        raise DerivationBlocked(f"arithmetic with a {type(o).__name__} ({o!r})")

    def _bin(self, o: Any, fn: Callable[[Any, Any], Any]) -> Any:
        if isinstance(o, np.ndarray):
            return NotImplemented
        return Num(fn(self.v, self._lift(o)), self.ctx)

    def __add__(self, o: Any) -> Any: return self._bin(o, operator.add)
    def __radd__(self, o: Any) -> Any: return self._bin(o, lambda a, b: b + a)
    def __sub__(self, o: Any) -> Any: return self._bin(o, operator.sub)
    def __rsub__(self, o: Any) -> Any: return self._bin(o, lambda a, b: b - a)
    def __mul__(self, o: Any) -> Any: return self._bin(o, operator.mul)
    def __rmul__(self, o: Any) -> Any: return self._bin(o, lambda a, b: b * a)
    def __truediv__(self, o: Any) -> Any: return self._bin(o, operator.truediv)
    def __rtruediv__(self, o: Any) -> Any: return self._bin(o, lambda a, b: b / a)
    def __neg__(self) -> "Num": return Num(-self.v, self.ctx)
    def __pos__(self) -> "Num": return self

    def __pow__(self, o: Any) -> Any:
        if isinstance(o, np.ndarray):
            return NotImplemented
        if isinstance(o, (int, float, np.integer, np.floating)) and float(o).is_integer() and abs(float(o)) <= 64:
            n, out = int(o), self.ctx.num(1)
            for _ in range(abs(n)):
                out = out * self.v
            return Num(out if n >= 0 else 1 / out, self.ctx)
        return Num(self.ctx.exp(self.ctx.log(self.v) * self._lift(o)), self.ctx)

    def __rpow__(self, o: Any) -> Any:
        return Num(self.ctx.exp(self.ctx.log(self._lift(o)) * self.v), self.ctx)

    def exp(self) -> "Num": return Num(self.ctx.exp(self.v), self.ctx)
    def log(self) -> "Num": return Num(self.ctx.log(self.v), self.ctx)
    def sqrt(self) -> "Num": return Num(self.ctx.exp(self.ctx.log(self.v) / 2), self.ctx)
    def log1p(self) -> "Num": return Num(self.ctx.log(self.v + 1), self.ctx)
    def expm1(self) -> "Num": return Num(self.ctx.exp(self.v) - 1, self.ctx)
    def conjugate(self) -> "Num": return self

    def __abs__(self) -> "Num":
        return self if _sign(self.ctx, self.v) >= 0 else -self

    def _cmp(self, o: Any) -> int:
        return _sign(self.ctx, self.v - self._lift(o))

    def __lt__(self, o: Any) -> bool: return self._cmp(o) < 0
    def __le__(self, o: Any) -> bool: return self._cmp(o) <= 0
    def __gt__(self, o: Any) -> bool: return self._cmp(o) > 0
    def __ge__(self, o: Any) -> bool: return self._cmp(o) >= 0
    def __bool__(self) -> bool: return _sign(self.ctx, self.v) != 0

    def __eq__(self, o: Any) -> bool:
        return self._cmp(o) == 0

    def __ne__(self, o: Any) -> bool:
        return self._cmp(o) != 0

    __hash__ = None  # type: ignore[assignment]

    def __float__(self) -> float:
        raise DerivationBlocked("float() of a ctx number: the code converts its input to float64 "
                                "(float(x), .item(), .astype(float) or np.asarray(..., dtype=float))")

    __int__ = __float__
    __index__ = __float__

    def __repr__(self) -> str:
        return f"Num({self.v!r})"


def _max2(a: Any, b: Any) -> Any:
    """``ctx.max`` of two elements (either may be a plain number)."""
    ctx = a.ctx if isinstance(a, Num) else b.ctx
    x = a if isinstance(a, Num) else Num(ctx.num(Fraction(float(a))), ctx)
    y = b if isinstance(b, Num) else Num(ctx.num(Fraction(float(b))), ctx)
    return Num(ctx.max([x.v, y.v]), ctx)


def _min2(a: Any, b: Any) -> Any:
    return -_max2(-a, -b)


_PAIRWISE = {"maximum": _max2, "fmax": _max2, "minimum": _min2, "fmin": _min2}


class CtxArray(np.ndarray):
    """A numpy object array of :class:`Num`; results of numpy calls stay :class:`CtxArray`."""

    ctx: Any = None

    @classmethod
    def wrap(cls, values: Any, ctx: Any) -> "CtxArray":
        raw = _object_array(values)
        out = np.empty(raw.shape, dtype=object)
        for idx, v in np.ndenumerate(raw):
            out[idx] = v if isinstance(v, Num) else Num(v, ctx)
        arr = out.view(cls)
        arr.ctx = ctx
        return arr

    def __array_finalize__(self, obj: Any) -> None:
        self.ctx = getattr(obj, "ctx", None)

    def _rewrap(self, result: Any) -> Any:
        if isinstance(result, tuple):
            return tuple(self._rewrap(r) for r in result)
        if isinstance(result, np.ndarray) and result.dtype == object:
            arr = result.view(CtxArray)
            arr.ctx = self.ctx
            return arr
        return result

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        args = [x.view(np.ndarray) if isinstance(x, CtxArray) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(o.view(np.ndarray) if isinstance(o, CtxArray) else o for o in kwargs["out"])
        pair = _PAIRWISE.get(ufunc.__name__)
        if pair is not None:
            # A true max for every context (an interval enclosure, sympy's Max), not a comparison.
            ufunc = np.frompyfunc(pair, 2, 1)
            kwargs.pop("initial", None)
            if method == "reduce" and kwargs.get("dtype") is not None:
                kwargs.pop("dtype")
        try:
            result = getattr(ufunc, method)(*args, **kwargs)
        except (DerivationBlocked, UndecidedError, ArithmeticError):
            raise
        except (TypeError, AttributeError, ValueError) as exc:
            raise DerivationBlocked(f"numpy.{ufunc.__name__}{'' if method == '__call__' else '.' + method} "
                                    f"on ctx numbers ({type(exc).__name__}: {exc})") from None
        return self._rewrap(result)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        try:
            result = super().__array_function__(func, types, args, kwargs)
        except (DerivationBlocked, UndecidedError, ArithmeticError):
            raise
        except (TypeError, AttributeError, ValueError) as exc:
            raise DerivationBlocked(f"numpy.{func.__name__} on ctx numbers ({type(exc).__name__}: {exc})") from None
        return self._rewrap(result)

    def astype(self, dtype: Any, *args: Any, **kwargs: Any) -> Any:
        if np.dtype(dtype) != object:
            raise DerivationBlocked(f".astype({np.dtype(dtype)}): the code converts its input to {np.dtype(dtype)}")
        return self


def _object_array(values: Any) -> np.ndarray:
    """Nested lists as an object array shaped by the lists alone.

    ``np.asarray(..., dtype=object)`` would also descend into ctx numbers that are sequences
    themselves (a truncated power series, ``arb_series``, has a length and items).
    """
    if not isinstance(values, list):
        return np.asarray(values, dtype=object)
    shape: list[int] = []
    probe: Any = values
    while isinstance(probe, list):
        shape.append(len(probe))
        probe = probe[0] if probe else None
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        v: Any = values
        for j in idx:
            v = v[j]
        out[idx] = v
    return out


def derived_precise(user_obj: Callable[..., Any], P: Sequence[Sequence[Any]], T: Sequence[Any],
                    w: Sequence[Any], ctx: Any) -> list[Any]:
    """The precise form derived from ``user_obj(P, T, w)``: its code run on arrays of ctx numbers.

    ``P``, ``T``, ``w`` are nested lists of ctx numbers (strings and Fractions are converted with
    ``ctx.num``); returns the ``V`` pooled values as ctx numbers.
    """
    def lift(x: Any) -> Any:
        return ctx.num(x) if isinstance(x, (str, Fraction, int)) else x
    arrays = [CtxArray.wrap([[lift(x) for x in row] for row in P], ctx),
              CtxArray.wrap([lift(x) for x in T], ctx), CtxArray.wrap([lift(x) for x in w], ctx)]
    for a in arrays:
        a.flags.writeable = False
    from .derive_torch import torch_inputs

    with torch_inputs():
        out = user_obj(*arrays)
    flat = np.asarray(_from_framework(out), dtype=object).ravel()
    return [x.v if isinstance(x, Num) else ctx.num(Fraction(float(x))) for x in flat]


def _from_framework(out: Any) -> Any:
    from .derive_torch import unwrap

    return unwrap(out)


AGREEMENT_ULPS = 1024
"""Derived and float forms must agree to ``AGREEMENT_ULPS * eps`` of the float result's dtype.

The check inputs keep every entry >= 1/46 and T in [1/2, 2], where a correct pool's float error
is a few hundred ulps at most (a few dozen roundings, condition numbers near 1); a different
formula differs by orders of magnitude more. float64: 2.3e-13; float32: 1.2e-4.
"""

CHECK_SIZES = ((1, 2), (2, 3), (3, 4), (2, 2), (3, 3), (4, 2))


@dataclass(frozen=True)
class Derived:
    """The outcome of deriving a precise form: the adapter, or the reason there is none."""

    adapter: Callable[..., Any] | None
    reason: str
    checked: int = 0


def check_inputs(seed: int = 0) -> list[tuple[list[list[Fraction]], list[Fraction], list[Fraction]]]:
    """Seeded exact inputs of :data:`CHECK_SIZES`; one has a zero weight (a face of the simplex)."""
    rng = np.random.default_rng(seed)
    out = []
    for n, (K, V) in enumerate(CHECK_SIZES):
        P = [[Fraction(int(x), int(row.sum())) for x in row] for row in rng.integers(1, 10, size=(K, V))]
        T = [Fraction(int(x), 2) for x in rng.integers(1, 5, size=K)]
        raw = rng.integers(0 if n == 4 else 1, 5, size=K)
        raw[0] = max(raw[0], 1)
        w = [Fraction(int(x), int(raw.sum())) for x in raw]
        out.append((P, T, w))
    return out


def derive_precise(user_obj: Callable[..., Any], spec: str, call: Callable[[Callable[[], Any]], Any]) -> Derived:
    """Derive a precise form from ``user_obj``'s code and check it against its float form.

    ``call(thunk)`` runs user code under the caller's guards (time limit) and returns its value.
    """
    adapter = partial(derived_precise, user_obj)
    worst = 0.0
    for P, T, w in check_inputs():
        Pf = np.array([[float(x) for x in row] for row in P])
        Tf, wf = np.array([float(t) for t in T]), np.array([float(x) for x in w])
        try:
            raw = call(lambda: user_obj(Pf, Tf, wf))
            q_float = np.asarray(_from_framework(raw))
            if q_float.dtype.kind not in "biuf":
                return Derived(None, f"the float form returned {q_float.dtype} values, not real numbers")
            dtype = q_float.dtype if q_float.dtype.kind == "f" else np.dtype(np.float64)
            q_float = q_float.astype(np.float64).ravel()
        except BaseException as exc:  # noqa: BLE001 - the float form's own failures are reported elsewhere
            return Derived(None, f"the float form failed on a check input ({type(exc).__name__}: {exc})")
        try:
            q = call(lambda: adapter(P, T, w, HighPrecision(30)))
        except BaseException as exc:  # noqa: BLE001 - any failure means: no derived form, say why
            return Derived(None, f"deriving a precise form from the code failed: {_why(exc)}")
        tol = AGREEMENT_ULPS * float(np.finfo(dtype).eps)
        if len(q) != len(q_float):
            return Derived(None, f"the derived form returned {len(q)} values, the float form {len(q_float)}")
        gap = max(abs(float(a) - b) for a, b in zip(q, q_float))
        if not gap <= tol:
            return Derived(None, (
                f"the derived precise form disagrees with the float form: max_i |q_float(i) - q_derived(i)| = "
                f"{gap:.3g} > {tol:.3g} ({AGREEMENT_ULPS} ulps of {dtype.name}) at P={_fmt(P)}, T={_fmt([T])}, "
                f"w={_fmt([w])}; the code computes something else on ctx numbers than on floats, so the "
                "derived form is not used"))
        worst = max(worst, gap)
    return Derived(adapter, (f"derived from the operator's code (numpy on ctx numbers); agrees with the float "
                             f"form at {len(CHECK_SIZES)} seeded inputs to {worst:.2g}"), len(CHECK_SIZES))


def _why(exc: BaseException) -> str:
    if isinstance(exc, DerivationBlocked):
        return f"blocked by {exc}"
    tb = exc.__traceback__
    where, files = "", []
    while tb is not None:
        frame = tb.tb_frame
        files.append(frame.f_code.co_filename)
        if not frame.f_code.co_filename.startswith(__file__.rsplit("/", 1)[0]):
            where = f" at {frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"
        tb = tb.tb_next
    if any("/jax/" in f for f in files) or "jax" in f"{type(exc).__module__} {exc}".lower():
        # JAX traces its inputs into its own arrays, which cannot hold exact numbers (and it filters
        # its own frames out of tracebacks, so its messages are the surer sign).
        return ("JAX code cannot run on the exact numbers a derived form computes with (derived forms "
                "follow numpy and PyTorch code); give the operator a precise form (op.precise) for "
                f"certificates and proofs (JAX said {type(exc).__name__}{where})")
    return f"{type(exc).__name__}: {exc}{where}"


def _fmt(rows: Sequence[Sequence[Fraction]]) -> str:
    return "[" + ", ".join("[" + ", ".join(str(x) for x in row) + "]" for row in rows) + "]"


__all__ = ["AGREEMENT_ULPS", "CtxArray", "Derived", "DerivationBlocked", "Num", "derive_precise",
           "derived_precise"]
