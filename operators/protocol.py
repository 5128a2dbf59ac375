"""The operator protocol and the wrapper that enforces it.

A candidate operator is a callable ``op(P, T, w) -> q`` (``P``: ``(K, V)`` float64 raw teachers,
``T``: ``(K,)`` temperatures, ``w``: ``(K,)`` weights; ``q``: ``(V,)``). It may also offer

* ``op.batched(P, T, w) -> q`` on ``(N, K, V)``, ``(N, K)``, ``(N, K)`` inputs (speed), and
* ``op.precise(P, T, w, ctx) -> list`` on nested lists of ``ctx`` numbers (see
  :mod:`mtkd.operators.precision`), which lets the suite confirm findings at 50+ digits and
  certify them with interval arithmetic.

:class:`Operator` detects these at load time, applies a per-call time limit and turns every
misbehaviour (exception, hang, wrong shape, NaN, inf) into :class:`~mtkd.errors.OperatorFailure`
carrying the offending input.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from mtkd.errors import OperatorFailure

from .precision import HighPrecision


class DeadlineExceeded(BaseException):
    """Raised inside the enclosed call by the alarm; BaseException so user ``except Exception`` can't eat it."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Interrupt the enclosed call after ``seconds`` (main thread only; elsewhere no limit).

    Deadlines nest: an inner one never outlives the outer one, and on exit the outer timer is
    re-armed with what is left of it.
    """
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def _alarm(signum: int, frame: Any) -> None:
        raise DeadlineExceeded()

    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, min(seconds, outer_left) if outer_left > 0 else seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left > 0:
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - started), 1e-3))


def describe_input(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> str:
    with np.printoptions(precision=6, suppress=False, linewidth=200, threshold=40):
        return f"P={np.array2string(P, separator=', ')}, T={np.array2string(T, separator=', ')}, w={np.array2string(w, separator=', ')}"


@dataclass(frozen=True)
class Operator:
    """A loaded operator: the user's callable plus what it offers and how it is called."""

    spec: str
    func: Callable[..., Any]
    batched_func: Callable[..., Any] | None = None
    precise_func: Callable[..., Any] | None = None
    description: str = ""
    time_limit: float = 5.0
    algebraic: tuple[str, dict[str, float]] | None = field(default=None, compare=False)
    """``(builtin name, params)`` when the symbolic and SMT engines know this operator's formula."""
    undefined_note: str = ""
    """The operator's own words on where it is undefined (``op.undefined_note``), appended to a
    NaN / inf ``error`` so that the report says *why* the output was not a number."""

    @property
    def capabilities(self) -> tuple[str, ...]:
        caps = ["single"]
        if self.batched_func is not None:
            caps.append("batched")
        if self.precise_func is not None:
            caps.append("precise")
        if self.algebraic is not None:
            caps.append("symbolic")
        return tuple(caps)

    def limitations(self) -> list[str]:
        """What the missing capabilities cost, in words for the report."""
        notes = []
        if self.batched_func is None:
            notes.append("no batched form: search calls the operator once per input (slower, smaller budget)")
        if self.precise_func is None:
            notes.append(
                "no precise form: counterexamples are confirmed only in float64 against a stated "
                "round-off bound and are never certified"
            )
        if self.algebraic is None:
            notes.append("no known formula: symbolic and SMT engines do not apply; search only")
        return notes

    # -- float64 -------------------------------------------------------------------------------
    def evaluate(self, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``q`` for a batch: ``(N, K, V), (N, K), (N, K) -> (N, V)``; raises OperatorFailure."""
        N, K, V = P.shape
        if self.batched_func is not None:
            q = self._guarded(self.batched_func, (P, T, w), self.time_limit + 1e-3 * N, (N, V), P[0], T[0], w[0])
        else:
            q = np.empty((N, V))
            for n in range(N):
                q[n] = self._guarded(self.func, (P[n], T[n], w[n]), self.time_limit, (V,), P[n], T[n], w[n])
        bad = ~np.isfinite(q).all(axis=-1)
        if bad.any():
            n = int(np.argmax(bad))
            raise OperatorFailure(
                f"operator {self.spec!r} returned a non-finite value (NaN or inf) "
                f"{np.array2string(q[n], precision=6)} at {describe_input(P[n], T[n], w[n])}"
                + (f". {self.undefined_note}" if self.undefined_note else ""),
                (P[n], T[n], w[n]),
            )
        return q

    def _guarded(self, fn: Callable[..., Any], args: tuple, limit: float, shape: tuple[int, ...],
                 P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        where = describe_input(P, T, w) if len(shape) == 1 else f"a batch whose first input is {describe_input(P, T, w)}"
        try:
            with deadline(limit):
                out = fn(*args)
        except DeadlineExceeded:
            raise OperatorFailure(
                f"operator {self.spec!r} did not return within {limit:.1f} s at {where}; "
                "make it faster or raise the per-call limit with --call-timeout", (P, T, w)) from None
        except Exception as exc:  # noqa: BLE001 - any failure of user code is reported, not raised
            raise OperatorFailure(
                f"operator {self.spec!r} raised {type(exc).__name__}: {exc} at {where}", (P, T, w)) from None
        try:
            arr = np.asarray(out, dtype=float)
        except (TypeError, ValueError):
            raise OperatorFailure(
                f"operator {self.spec!r} returned {type(out).__name__}, not an array of numbers, at {where}",
                (P, T, w)) from None
        if arr.shape != shape:
            raise OperatorFailure(
                f"operator {self.spec!r} returned shape {arr.shape}, expected {shape}, at {where}", (P, T, w))
        return arr

    # -- arbitrary precision -------------------------------------------------------------------
    def evaluate_precise(self, P: Sequence[Sequence[Fraction]], T: Sequence[Fraction],
                         w: Sequence[Any], ctx: HighPrecision) -> list[Any]:
        """``q`` in ``ctx`` arithmetic at exact rational inputs (``w`` may be pre-seeded ctx numbers)."""
        if self.precise_func is None:
            raise OperatorFailure(f"operator {self.spec!r} has no precise form")
        Pc = [[ctx.num(x) for x in row] for row in P]
        Tc = [ctx.num(t) for t in T]
        wc = [x if not isinstance(x, (Fraction, int, str)) else ctx.num(x) for x in w]
        try:
            with deadline(self.time_limit):
                out = list(self.precise_func(Pc, Tc, wc, ctx))
        except DeadlineExceeded:
            where = describe_input(np.array([[float(x) for x in row] for row in P]), np.array([float(t) for t in T]),
                                   np.array([float(getattr(x, "v", x)) for x in w]))
            raise OperatorFailure(
                f"precise form of {self.spec!r} did not return within {self.time_limit:.1f} s ({ctx.name}) at "
                f"{where}; make it faster or raise the per-call limit with --call-timeout", None) from None
        if len(out) != len(P[0]):
            raise OperatorFailure(
                f"precise form of {self.spec!r} returned {len(out)} values, expected {len(P[0])}")
        return out
