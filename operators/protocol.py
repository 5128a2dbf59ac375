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
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from mtkd.errors import OperatorFailure

from .builtin import BuiltinOperator
from .precision import Arithmetic


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


DESCRIBE_THRESHOLD = 40
"""Arrays with more entries than this are summarised (``...``) in messages."""


def _one_line(a: np.ndarray) -> str:
    return np.array2string(np.asarray(a), separator=", ", precision=6, suppress_small=False,
                           max_line_width=10**6, threshold=DESCRIBE_THRESHOLD, edgeitems=3)


def describe_input(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> str:
    """The input on one line, whatever its size (messages are one paragraph).

    >>> describe_input(np.full((2, 3), 1 / 3), np.ones(2), np.full(2, 0.5))
    'P=[[0.333333, 0.333333, 0.333333], [0.333333, 0.333333, 0.333333]], T=[1., 1.], w=[0.5, 0.5]'
    >>> "\\n" in describe_input(np.full((8, 1000), 1e-3), np.ones(8), np.full(8, 1 / 8))
    False
    """
    return f"P={' '.join(_one_line(P).split())}, T={_one_line(T)}, w={_one_line(w)}"


def read_only(a: np.ndarray) -> np.ndarray:
    """A view of ``a`` that user code cannot write through (``a`` itself stays writable)."""
    view = np.asarray(a).view()
    view.setflags(write=False)
    return view


def _modified_input(exc: BaseException) -> bool:
    return isinstance(exc, ValueError) and "read-only" in str(exc)


BATCH_SECONDS_PER_INPUT = 1e-3
BATCH_SECONDS_PER_ELEMENT = 1e-7
"""A batched call's time limit grows with the batch: ``time_limit + 1e-3 N + 1e-7 N K V`` seconds
(100 ns per teacher entry, room for a few transcendental passes over ``(N, K, V)``)."""


PRECISE_SECONDS_PER_ENTRY = 2e-3
"""A precise evaluation's limit grows by this per teacher entry: a few hundred ball or interval
operations per entry on a busy machine, so a large V is never mistaken for a hang (V = 100,000
at K = 3 gets 10 minutes)."""


@dataclass(frozen=True)
class Operator:
    """A loaded operator: the user's callable plus what it offers and how it is called."""

    spec: str
    func: Callable[..., Any]
    batched_func: Callable[..., Any] | None = None
    precise_func: Callable[..., Any] | None = None
    time_limit: float = 5.0
    algebraic: tuple[str, dict[str, float]] | None = field(default=None, compare=False)
    """``(builtin name, params)`` when the symbolic and SMT engines know this operator's formula."""
    derived_note: str = ""
    """Non-empty when ``precise_func`` was derived from the operator's own code
    (:mod:`mtkd.operators.derive`): how, and how well it agreed with the float form."""
    derive_failure: str = ""
    """Why no precise form could be derived (the operation that blocked it), when none was."""
    undefined_note: str = ""
    """The operator's own words on where it is undefined (``op.undefined_note``), appended to a
    NaN / inf ``error`` so that the report says *why* the output was not a number."""

    @property
    def capabilities(self) -> tuple[str, ...]:
        caps = ["single"]
        if self.batched_func is not None:
            caps.append("batched")
        if self.precise_func is not None:
            caps.append("precise (derived from the code)" if self.derived_note else "precise")
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
                + (f" (deriving one from the code failed: {self.derive_failure})" if self.derive_failure else "")
            )
        if self.derived_note:
            notes.append(f"precise form {self.derived_note}; certificates and traced proofs are about this "
                         "derived form")
        if self.algebraic is None and self.precise_func is None:
            notes.append("no known formula: symbolic and SMT engines do not apply; search only")
        elif self.algebraic is None:
            notes.append("no built-in formula: symbolic and SMT engines work on the formula traced from the "
                         "precise form (see each result's scope)")
        return notes

    # -- float64 -------------------------------------------------------------------------------
    def evaluate(self, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``q`` for a batch: ``(N, K, V), (N, K), (N, K) -> (N, V)``; raises OperatorFailure."""
        N, K, V = P.shape
        if self.batched_func is not None:
            q = self._guarded(self.batched_func, (read_only(P), read_only(T), read_only(w)), self.batch_limit(N, K, V),
                              (N, V), P[0], T[0], w[0])
        else:
            q = np.empty((N, V))
            for n in range(N):
                q[n] = self._guarded(self.func, (read_only(P[n]), read_only(T[n]), read_only(w[n])),
                                     0.0 if self.trusted else self.time_limit,
                                     (V,), P[n], T[n], w[n])
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

    @property
    def trusted(self) -> bool:
        """A built-in: the suite's own code, which cannot hang, so no call limit applies to it
        (a busy machine must not turn a slow large-V evaluation into an ``error``)."""
        return isinstance(self.func, BuiltinOperator)

    def precise_limit(self, K: int, V: int) -> float:
        """Seconds one precise evaluation on ``K x V`` teachers may take (grows with the input; 0: none)."""
        return 0.0 if self.trusted else self.time_limit + PRECISE_SECONDS_PER_ENTRY * K * V

    def batch_limit(self, N: int, K: int, V: int) -> float:
        """Seconds one batched call on ``N`` inputs of ``K x V`` teachers may take (0: no limit)."""
        if self.trusted:
            return 0.0
        return self.time_limit + BATCH_SECONDS_PER_INPUT * N + BATCH_SECONDS_PER_ELEMENT * N * K * V

    def _guarded(self, fn: Callable[..., Any], args: tuple, limit: float, shape: tuple[int, ...],
                 P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        batch = len(shape) > 1

        def where_text() -> str:  # formatted only on failure: array2string costs more than most calls
            return f"a batch whose first input is {describe_input(P, T, w)}" if batch else describe_input(P, T, w)

        try:
            with deadline(limit):
                out = fn(*args)
        except DeadlineExceeded:
            within = (f"{limit:.1f} s (the limit covers the whole batch of {shape[0]} inputs: --call-timeout "
                      f"plus {BATCH_SECONDS_PER_INPUT:g} s per input and {BATCH_SECONDS_PER_ELEMENT:g} s per "
                      "teacher entry)" if batch else f"{limit:.1f} s")
            raise OperatorFailure(
                f"operator {self.spec!r} did not return within {within} at {where_text()}; "
                "make it faster or raise the per-call limit with --call-timeout", (P, T, w)) from None
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - any failure of user code is reported, not raised
            if _modified_input(exc):
                raise OperatorFailure(
                    f"operator {self.spec!r} tried to modify its input ({type(exc).__name__}: {exc}) at {where_text()}; "
                    "inputs are read-only: work on a copy (e.g. P = P.copy())", (P, T, w)) from None
            raise OperatorFailure(
                f"operator {self.spec!r} raised {type(exc).__name__}: {exc} at {where_text()}", (P, T, w)) from None
        if np.iscomplexobj(out) or (isinstance(out, (list, tuple)) and any(isinstance(v, complex) for v in out)):
            raise OperatorFailure(
                f"operator {self.spec!r} returned complex numbers, not real probabilities, at {where_text()}", (P, T, w))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", np.exceptions.ComplexWarning)
                arr = np.asarray(out, dtype=float)
        except np.exceptions.ComplexWarning:
            raise OperatorFailure(
                f"operator {self.spec!r} returned complex numbers, not real probabilities, at {where_text()}",
                (P, T, w)) from None
        except (TypeError, ValueError, OverflowError):
            raise OperatorFailure(
                f"operator {self.spec!r} returned {type(out).__name__}, not an array of numbers, at {where_text()}",
                (P, T, w)) from None
        if arr.shape != shape:
            raise OperatorFailure(
                f"operator {self.spec!r} returned shape {arr.shape}, expected {shape}, at {where_text()}", (P, T, w))
        return arr

    # -- arbitrary precision -------------------------------------------------------------------
    def evaluate_precise(self, P: Sequence[Sequence[Fraction]], T: Sequence[Fraction],
                         w: Sequence[Any], ctx: Arithmetic) -> list[Any]:
        """``q`` in ``ctx`` arithmetic at exact rational inputs (``w`` may be pre-seeded ctx numbers)."""
        if self.precise_func is None:
            raise OperatorFailure(f"operator {self.spec!r} has no precise form")
        Pc = [[ctx.num(x) for x in row] for row in P]
        Tc = [ctx.num(t) for t in T]
        wc = [x if not isinstance(x, (Fraction, int, str)) else ctx.num(x) for x in w]
        limit = self.precise_limit(len(P), len(P[0]))
        try:
            with deadline(limit):
                out = list(self.precise_func(Pc, Tc, wc, ctx))
        except SystemExit as exc:
            raise OperatorFailure(
                f"precise form of {self.spec!r} raised SystemExit({exc.code!r}) ({ctx.name}); an operator must "
                "return or raise an ordinary exception, not exit", None) from None
        except DeadlineExceeded:
            where = describe_input(np.array([[float(x) for x in row] for row in P]), np.array([float(t) for t in T]),
                                   np.array([float(getattr(x, "v", x)) for x in w]))
            raise OperatorFailure(
                f"precise form of {self.spec!r} did not return within {limit:.1f} s ({ctx.name}; --call-timeout plus "
                f"{PRECISE_SECONDS_PER_ENTRY:g} s per teacher entry) at {where}; make it faster or raise the per-call "
                "limit with --call-timeout", None) from None
        if len(out) != len(P[0]):
            raise OperatorFailure(
                f"precise form of {self.spec!r} returned {len(out)} values, expected {len(P[0])}")
        return out
