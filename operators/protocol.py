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
import functools
import math
import signal
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from mtkd import budget
from mtkd.errors import OperatorFailure, OperatorUndefined

from .frameworks import EPSILON, OutputNotNumbers, Returned, float_output, safe_str
from .precision import Arithmetic, row_numbers
from .precision_float import LaneSeq, NotVectorised
from .sandbox import BadOutput, CallTimedOut, UserRaised, WorkerDied


class DeadlineExceeded(BaseException):
    """Raised inside the enclosed call by the alarm; BaseException so user ``except Exception`` can't eat it."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Interrupt the enclosed call after ``seconds``.

    In the main thread an alarm (``SIGALRM``) interrupts anything, even a long C call. Other threads
    (a dask worker runs tasks in one) cannot receive signals: there a trace function checks the clock
    at every Python function call instead, so pure-Python work (sympy) is stopped, a single long C
    call is not. Deadlines nest: an inner one never outlives the outer one, and on exit the outer
    one is restored with what is left of it.
    """
    if seconds <= 0:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        with _traced_deadline(seconds):
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


@contextlib.contextmanager
def _traced_deadline(seconds: float) -> Iterator[None]:
    """:func:`deadline` off the main thread: raise at the first Python call after the time is up."""
    previous = sys.gettrace()  # an outer deadline's tracer (or a coverage tool's): restored on exit
    outer = getattr(previous, "mtkd_deadline_end", math.inf)
    end = min(outer, time.monotonic() + seconds)

    def tracer(frame: Any, event: str, arg: Any) -> None:
        # A 'call' event for every Python frame; returning None asks for no per-line events.
        if time.monotonic() > end:
            raise DeadlineExceeded()  # CPython unsets a tracer that raises; the finally restores

    tracer.mtkd_deadline_end = end  # type: ignore[attr-defined]
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)


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

TOGETHER_MAX_ENTRIES = 1 << 20
"""Teacher entries one :meth:`Operator.evaluate_together` call may join (8 MB of ``P``)."""

FORM_FIELDS = {"func": "func", "batched": "batched_func", "precise": "precise_func"}
"""The operator's forms and the :class:`Operator` fields holding them."""


class RemoteForm:
    """One form of an operator living in a :class:`~mtkd.operators.sandbox.Sandbox` worker.

    Callable like the user's own form (``op.func(P, T, w)``, ``op.precise_func(P, T, w, ctx)``);
    :class:`Operator` calls :meth:`run` with an explicit time limit instead.
    """

    def __init__(self, sandbox: Any, form: str, limit: float, adapter: str | None = None) -> None:
        self.sandbox = sandbox
        self.form = form
        self.limit = limit
        self.adapter = adapter

    def run(self, args: tuple[Any, ...], limit: float, ctx: Any = None) -> Any:
        return self.sandbox.call(self.form, args, limit, ctx=ctx, adapter=self.adapter)

    def __call__(self, *args: Any) -> Any:
        if self.form == "precise":
            return self.run(tuple(args[:-1]), self.limit, ctx=args[-1])
        return self.run(tuple(np.asarray(a, dtype=float) for a in args), self.limit).values

    def __repr__(self) -> str:
        return f"<{self.form} form of {self.sandbox.target.label!r} in a worker process>"


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
    batched_note: str = ""
    """Non-empty when ``batched_func`` was built by the tool (``torch.func.vmap`` / ``jax.vmap`` of the
    single-input form) and agreed with it at the probe inputs: how."""
    batched_failure: str = ""
    """Why building a batched form failed, when it was tried."""
    framework: str = "auto"
    """``--framework``: whose vmap builds a missing batched form (``auto``: the framework the operator returns)."""
    trusted: bool = False
    """The tool's own code (built-ins): called in-process, without a time limit."""
    isolation: str = "in-process"
    """Where user code runs: "worker process" (killable) or "in-process" (signals only)."""
    observed: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)
    """Precisions the operator returned so far (``"dtypes"``): round-off allowances scale with them."""

    @property
    def sandboxed(self) -> bool:
        return isinstance(self.func, RemoteForm)

    def replica(self, index: int) -> "Operator":
        """The same operator on its ``index``-th worker (itself when not sandboxed or ``index`` is 0).

        Parallel streams each use one replica: a worker serves one call at a time.
        """
        if not isinstance(self.func, RemoteForm) or index == 0:
            return self

        def move(form: Any) -> Any:
            if not isinstance(form, RemoteForm):
                return form
            return RemoteForm(form.sandbox.replica(index), form.form, form.limit, form.adapter)

        return replace(self, func=move(self.func), batched_func=move(self.batched_func),
                       precise_func=move(self.precise_func))

    def with_adapter(self, form: str, adapter: str) -> "Operator":
        """This operator with ``form`` built by a tool-side ``adapter`` (``"module:function"``).

        The adapter is called as ``adapter(user_object, *args)``, in the worker when the
        operator has one (so derived forms also run isolated), else in this process.
        """
        if form not in FORM_FIELDS:
            raise ValueError(f"unknown form {form!r}; one of {', '.join(FORM_FIELDS)}")
        if isinstance(self.func, RemoteForm):
            built: Callable[..., Any] = RemoteForm(self.func.sandbox, form, self.time_limit, adapter)
        else:
            import importlib

            module, _, attr = adapter.partition(":")
            built = functools.partial(getattr(importlib.import_module(module), attr), self.func)
        changes: dict[str, Any] = {FORM_FIELDS[form]: built}
        return replace(self, **changes)

    def record(self, returned: Returned) -> None:
        """Remember the precision of one call's output (the sandbox calls this with the worker's answer)."""
        self.observed.setdefault("dtypes", set()).add(returned.dtype)

    @property
    def eps(self) -> float:
        """Machine epsilon of the least precise output seen so far (float64 until a call said otherwise)."""
        return max((EPSILON[d] for d in self.observed.get("dtypes", ())), default=EPSILON["float64"])

    @property
    def dtype(self) -> str:
        """The least precise dtype returned so far (``float64`` before any call)."""
        return max(self.observed.get("dtypes", ()), key=EPSILON.__getitem__, default="float64")

    @property
    def capabilities(self) -> tuple[str, ...]:
        caps = ["single"]
        if self.batched_func is not None:
            caps.append(f"batched ({self.batched_note})" if self.batched_note else "batched")
        if self.precise_func is not None:
            caps.append("precise (derived from the code)" if self.derived_note else "precise")
        if self.algebraic is not None:
            caps.append("symbolic")
        return tuple(caps)

    def limitations(self) -> list[str]:
        """What the missing capabilities cost, in words for the report."""
        notes = []
        if self.batched_func is None:
            notes.append("no batched form: the operator's worker calls it once per input (slower; the search "
                         "takes smaller batches, the same input quota)"
                         + (f" ({self.batched_failure})" if self.batched_failure else ""))
        if self.precise_func is None:
            notes.append(
                "no precise form: counterexamples are confirmed only from the operator's float output, "
                "against its own measured round-off, and are never certified"
                + (f" ({self.derive_failure})" if self.derive_failure else "")
            )
        if self.derived_note:
            notes.append(f"precise form {self.derived_note}; certificates and traced proofs are about this "
                         "derived form")
        if self.algebraic is None and self.precise_func is None:
            notes.append("no known formula: symbolic and SMT engines do not apply; search only")
        elif self.algebraic is None:
            notes.append("no built-in formula: symbolic and SMT engines work on the formula traced from the "
                         "precise form (see each result's scope)")
        if not self.trusted and not self.sandboxed:
            notes.append(
                "runs in the tool's own process (an in-memory callable that cannot be pickled by reference): "
                "--call-timeout cannot stop a hang inside C code, and an exit or crash of the operator ends "
                "the run; load it by spec (module:attr or file.py:attr) to run it in a killable worker")
        return notes

    # -- float64 -------------------------------------------------------------------------------
    def evaluate(self, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``q`` for a batch: ``(N, K, V), (N, K), (N, K) -> (N, V)``; raises OperatorFailure."""
        N, K, V = P.shape
        if self.batched_func is not None:
            q = self._guarded(self.batched_func, (P, T, w), self.batch_limit(N, K, V), (N, V), P[0], T[0], w[0])
        else:
            q = np.empty((N, V))
            start = 0
            if isinstance(self.func, RemoteForm) and self.func.adapter is None:
                # One exchange with the worker for the whole batch; at a failure, the inputs from
                # the one at fault on are called one by one below, which gives the exact message.
                try:
                    returned = self.func.sandbox.call_each((P, T, w), budget.clamp(self.time_limit))
                    self.record(returned)
                    return self._finite(returned.values, P, T, w)
                except _TIMEOUTS + _UserFailure as exc:
                    start = int(getattr(exc, "index", 0))
            for n in range(start, N):
                q[n] = self._guarded(self.func, (P[n], T[n], w[n]), self.time_limit, (V,), P[n], T[n], w[n])
            if start > 0:
                q[:start] = self.evaluate(P[:start], T[:start], w[:start])
        return self._finite(q, P, T, w)

    def evaluate_together(self, batches: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        """``q`` for several batches of one size (``evaluate`` of each) in a single call.

        One exchange with the operator's worker instead of one per batch: margins that probe many
        variations of their inputs (temperature limits, one-hot weights) pay the call overhead once.
        A failure names the first offending input in the order given, as separate calls would.
        Calls are cut at ``TOGETHER_MAX_ENTRIES`` teacher entries, so that large ``V`` keeps the
        search's memory bound.
        """
        out: list[np.ndarray] = []
        start = 0
        while start < len(batches):
            end, entries = start, 0
            while end < len(batches) and (end == start or entries + batches[end][0].size <= TOGETHER_MAX_ENTRIES):
                entries += batches[end][0].size
                end += 1
            group = batches[start:end]
            q = self.evaluate(*(np.concatenate([b[j] for b in group]) for j in range(3)))
            out += np.split(q, np.cumsum([len(b[0]) for b in group])[:-1])
            start = end
        return out

    def evaluate_scaled(self, logQ: np.ndarray, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``evaluate(P, T, w)`` for a caller that holds ``logQ = log tau_T(P)`` already.

        A built-in pool of the scaled teachers (``scales_then_pools``) pools ``logQ`` directly, the
        same float operations as its ``batched`` form: temperature scaling once per input however
        often a margin re-weights the pool. Any other operator is called as usual.
        """
        if not (self.trusted and getattr(self.func, "scales_then_pools", False)):
            return self.evaluate(P, T, w)
        pool = getattr(self.func, "pool_of_scaled")  # noqa: B009 - a BuiltinOperator's (protocol.py does not import them)
        return self._finite(np.asarray(pool(logQ, w), dtype=float), P, T, w)

    def _finite(self, q: np.ndarray, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        if not isinstance(q, np.ndarray) or q.dtype != np.float64 or q.shape != P.shape[:1] + P.shape[-1:]:
            raise OperatorFailure(f"the worker of operator {self.spec!r} sent back a malformed result", None)
        bad = ~np.isfinite(q).all(axis=-1)
        if bad.any():
            n = int(np.argmax(bad))
            raise OperatorUndefined(
                f"operator {self.spec!r} returned a non-finite value (NaN or inf) "
                f"{np.array2string(q[n], precision=6)} at {describe_input(P[n], T[n], w[n])}"
                + (f". {self.undefined_note}" if self.undefined_note else ""),
                (P[n], T[n], w[n]),
            )
        return q

    def precise_limit(self, K: int, V: int) -> float:
        """Seconds one precise evaluation on ``K x V`` teachers may take (grows with the input; 0: none)."""
        return 0.0 if self.trusted else self.time_limit + PRECISE_SECONDS_PER_ENTRY * K * V

    def batch_limit(self, N: int, K: int, V: int) -> float:
        """Seconds one batched call on ``N`` inputs of ``K x V`` teachers may take (0: no limit)."""
        if self.trusted:
            return 0.0
        return self.time_limit + BATCH_SECONDS_PER_INPUT * N + BATCH_SECONDS_PER_ELEMENT * N * K * V

    def _guarded(self, fn: Callable[..., Any], args: tuple[np.ndarray, ...], limit: float, shape: tuple[int, ...],
                 P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        batch = len(shape) > 1

        def where_text() -> str:  # formatted only on failure: array2string costs more than most calls
            return f"a batch whose first input is {describe_input(P, T, w)}" if batch else describe_input(P, T, w)

        within = (f"{limit:.1f} s (the limit covers the whole batch of {shape[0]} inputs: --call-timeout "
                  f"plus {BATCH_SECONDS_PER_INPUT:g} s per input and {BATCH_SECONDS_PER_ELEMENT:g} s per "
                  "teacher entry)" if batch else f"{limit:.1f} s")
        try:
            if isinstance(fn, RemoteForm):
                returned = fn.run(args, budget.clamp(limit))
                if not isinstance(returned, Returned) or returned.values.dtype != np.float64:
                    raise OutputNotNumbers(f"sent back {type(returned).__name__}, not a float64 array,")
            elif self.trusted:
                returned = float_output(fn(*args))
            else:
                returned = float_output(_in_process(fn, args, limit))
        except _TIMEOUTS:
            if budget.expired():
                raise budget.BudgetExhausted() from None  # the run's wall, not the operator's limit
            raise OperatorFailure(
                f"operator {self.spec!r} did not return within {within} at {where_text()}; "
                "make it faster or raise the per-call limit with --call-timeout", (P, T, w)) from None
        except _UserFailure as exc:
            message = f"operator {self.spec!r} {_failure_text(exc)} at {where_text()}{_printed(exc)}"
            if isinstance(exc, (UserRaised, InProcessFailure)) and not exc.modified_input:
                # Raising is local to the input (like NaN): a search records it and goes on elsewhere.
                raise OperatorUndefined(message, (P, T, w)) from None
            raise OperatorFailure(message, (P, T, w)) from None
        self.record(returned)
        arr = returned.values
        if arr.shape != shape:
            raise OperatorFailure(
                f"operator {self.spec!r} returned shape {arr.shape}, expected {shape}, at {where_text()}", (P, T, w))
        return arr

    # -- arbitrary precision -------------------------------------------------------------------
    def evaluate_precise(self, P: Sequence[Sequence[Fraction]], T: Sequence[Fraction],
                         w: Sequence[Any], ctx: Arithmetic) -> list[Any]:
        """``q`` in ``ctx`` arithmetic at exact rational inputs (``w`` may be pre-seeded ctx numbers).

        An ordinary exception of the precise form propagates (callers fall back to float64); a
        hang, exit or crash is an :class:`~mtkd.errors.OperatorFailure`.
        """
        if self.precise_func is None:
            raise OperatorFailure(f"operator {self.spec!r} has no precise form")
        if getattr(ctx, "vectorised", False):
            return self._evaluate_lanes(P, T, w, ctx)
        Pc = [row_numbers(ctx, row) for row in P]
        Tc = [ctx.num(t) for t in T]
        wc = [x if not isinstance(x, (Fraction, int, str)) else ctx.num(x) for x in w]
        fn = self.precise_func
        limit = self.precise_limit(len(P), len(P[0]))
        try:
            if isinstance(fn, RemoteForm):
                out = fn.run((Pc, Tc, wc), budget.clamp(limit), ctx=ctx)
            elif self.trusted:
                # The tool's own formulas: no call limit (at V = 50,000 they take longer than a user
                # call may); the run's time wall still applies.
                out = list(fn(Pc, Tc, wc, ctx))
            else:
                out = list(_in_process(fn, (Pc, Tc, wc, ctx), limit, pass_exceptions=True))
        except _TIMEOUTS:
            if budget.expired():
                raise budget.BudgetExhausted() from None
            where = describe_input(np.array([[float(x) for x in row] for row in P]), np.array([float(t) for t in T]),
                                   np.array([float(getattr(x, "v", x)) for x in w]))
            raise OperatorFailure(
                f"precise form of {self.spec!r} did not return within {limit:.1f} s ({ctx.name}; --call-timeout plus "
                f"{PRECISE_SECONDS_PER_ENTRY:g} s per teacher entry) at "
                f"{where}; make it faster or raise the per-call limit with --call-timeout", None) from None
        except UserRaised as exc:
            if exc.ordinary and not exc.modified_input:
                raise _precise_raised(exc.type_name)(str(exc).partition(": ")[2] or str(exc)) from None
            raise OperatorFailure(f"precise form of {self.spec!r} {_failure_text(exc)} ({ctx.name})"
                                  f"{_printed(exc)}", None) from None
        except (WorkerDied, BadOutput, InProcessFailure) as exc:
            raise OperatorFailure(f"precise form of {self.spec!r} {_failure_text(exc)} ({ctx.name})"
                                  f"{_printed(exc)}", None) from None
        if not isinstance(out, list):
            raise OperatorFailure(f"precise form of {self.spec!r} returned {type(out).__name__}, not a list")
        if len(out) != len(P[0]):
            raise OperatorFailure(
                f"precise form of {self.spec!r} returned {len(out)} values, expected {len(P[0])}")
        return out


    @property
    def vectorised_precise(self) -> bool:
        """Does the precise form run on whole rows (:mod:`.precision_float`)? Token-local built-ins only."""
        return self.trusted and bool(getattr(self.func, "token_local", False))

    def _evaluate_lanes(self, P: Sequence[Sequence[Fraction]], T: Sequence[Fraction], w: Sequence[Any],
                        ctx: Any) -> Any:
        """``q`` as one vectorised number over the tokens, from rows passed as single numbers.

        Only for the tool's own token-local forms (``BuiltinOperator.token_local``): any other form
        would be handed a one-element row it takes for a one-token distribution.
        """
        if not self.vectorised_precise or self.precise_func is None:
            raise NotVectorised(f"the precise form of {self.spec!r} works token by token")
        rows = [[ctx.row(row)] for row in P]
        wc = [x if not isinstance(x, (Fraction, int, str)) else ctx.num(x) for x in w]
        (q,) = self.precise_func(rows, [ctx.num(t) for t in T], wc, ctx)
        return LaneSeq(q)


class PreciseFormRaised(Exception):
    """The precise form raised an ordinary exception in its worker.

    Raised as a subclass named like the original (``RuntimeError``), so that messages read the
    same whether the form ran here or in a worker.
    """


@functools.lru_cache(maxsize=64)
def _precise_raised(type_name: str) -> type[PreciseFormRaised]:
    name = type_name if type_name.isidentifier() else "PreciseFormRaised"
    return type(name, (PreciseFormRaised,), {"__module__": __name__})


class InProcessFailure(Exception):
    """User code called in this process failed with a ``BaseException`` that is not an ``Exception``."""

    def __init__(self, message: str, modified_input: bool = False) -> None:
        super().__init__(message)
        self.modified_input = modified_input
        self.output = ""


_TIMEOUTS = (CallTimedOut, DeadlineExceeded)
_UserFailure = (UserRaised, WorkerDied, BadOutput, OutputNotNumbers, InProcessFailure)


def _failure_text(exc: BaseException) -> str:
    """The middle of an ``operator 'x' ... at <input>`` message, per kind of failure."""
    if getattr(exc, "modified_input", False):
        return (f"tried to modify its input ({exc}); inputs are read-only: work on a copy "
                "(e.g. P = P.copy())")
    if isinstance(exc, (UserRaised, InProcessFailure)):
        return f"raised {exc}"
    if isinstance(exc, WorkerDied):
        return f"ended its worker process ({exc}: an operator must return or raise, not exit or crash)"
    return str(exc).rstrip(",")


def _printed(exc: BaseException) -> str:
    output = getattr(exc, "output", "")
    return f" (its output ended with: {output!r})" if output else ""


def _in_process(fn: Callable[..., Any], args: tuple[Any, ...], limit: float, pass_exceptions: bool = False) -> Any:
    """Call user code in this process (an unpicklable in-memory callable): signals only.

    Inputs are read-only copies compared afterwards; numpy's error state is restored; every
    ``BaseException`` except Ctrl-C becomes :class:`InProcessFailure` (ordinary exceptions
    propagate unchanged when ``pass_exceptions``, for the precise form's fallback).
    """
    arrays = [np.array(a, dtype=float) if isinstance(a, np.ndarray) else a for a in args]
    before = [a.tobytes() for a in arrays if isinstance(a, np.ndarray)]
    views = tuple(read_only(a) if isinstance(a, np.ndarray) else a for a in arrays)
    state = np.geterr()
    try:
        with deadline(limit):
            out = fn(*views)
    except (KeyboardInterrupt, DeadlineExceeded):
        raise
    except BaseException as exc:  # noqa: BLE001 - any failure of user code is reported, not raised
        if pass_exceptions and isinstance(exc, Exception):
            raise
        modified = _modified_input(exc)
        raise InProcessFailure(_describe(exc), modified) from None
    finally:
        np.seterr(**state)
    if [a.tobytes() for a in arrays if isinstance(a, np.ndarray)] != before:
        raise InProcessFailure("changed its input arrays in place", True)
    return out


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r}) (an operator must return or raise, not exit)"
    text = safe_str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
