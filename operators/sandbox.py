"""Run user operator code in a worker process the tool can kill.

User code is untrusted: it may hang inside C code (where no signal reaches it), catch or disarm
alarms, exit the process, leave threads running, change numpy's error state, monkeypatch numpy,
print to stdout, or mutate its inputs. So the tool never runs it in its own process. A
:class:`Sandbox` starts a fresh interpreter (``python -c``: no fork, so nothing the parent did,
such as OpenMP threads, is inherited), which imports the operator **by spec** (or unpickles it
by reference) and then answers requests ``(form, args)`` over a socket:

* ``form`` is ``"func"``, ``"batched"`` or ``"precise"``, or a tool-side **adapter** named by
  import path (``"mtkd.operators.derive:derived_precise"``), called in the worker as
  ``adapter(user_object, *args)``, so forms the tool builds from the user's code run there too;
* float results are converted to float64 arrays **in the worker** (framework tensors never cross
  the process boundary); precise results travel as ctx numbers (see ``wire_encode`` in
  :mod:`mtkd.operators.precision`);
* the parent waits with a timeout; on timeout it kills the worker's whole process group
  (SIGTERM, then SIGKILL after a short grace) and restarts it lazily on the next call;
* the worker's file descriptors 1 and 2 go to a capture file, so nothing the operator prints
  reaches the report; its tail is quoted in error messages;
* inputs arrive as copies and are handed to the operator read-only; a change to them (possible
  after ``setflags(write=True)``) is detected by comparing bytes and reported as an error;
* replies are unpickled by the parent with an allow-list (numbers, arrays, ctx numbers), and the
  parent checks shapes and finiteness with its own numpy.

Every failure of user code comes back as one of :class:`CallTimedOut`, :class:`WorkerDied`,
:class:`UserRaised` or :class:`BadOutput`; :mod:`mtkd.operators.protocol` turns them into
``error`` verdicts with the input. Loading failures (an exception, ``sys.exit``, ``os._exit`` or
a hang at import) are :class:`~mtkd.errors.OperatorLoadError` (usage errors, exit code 2).

>>> box = Sandbox(Target.by_reference(_example_operator, "example"), import_timeout=60)
>>> info = box.load()
>>> info.has_batched, info.has_precise
(False, False)
>>> import numpy as np
>>> box.call("func", (np.full((2, 3), 1 / 3), np.ones(2), np.full(2, 0.5)), limit=30).values
array([0.33333333, 0.33333333, 0.33333333])
>>> box.stop()
"""

from __future__ import annotations

import atexit
import importlib
import io
import os
import pickle
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any, Callable

import numpy as np

from mtkd.errors import OperatorLoadError

from .frameworks import EPSILON, Framework, OutputNotNumbers, Returned, float_output

START_SECONDS = 120.0
"""Limit on the worker's own start-up (before the operator's import, which --import-timeout limits)."""
KILL_GRACE = 0.2
"""Seconds between SIGTERM and SIGKILL when a worker is stopped."""
MAX_LIVE_WORKERS = 4
"""Idle workers beyond this many are stopped (least recently used first); they restart lazily."""
OUTPUT_QUOTE = 400
"""Characters of captured operator output quoted in a message."""
OUTPUT_CAP = 64 * 2**20
"""Captured output beyond this many bytes is discarded between calls (the file is emptied)."""
TICK_SECONDS = 0.02
"""In a loop over single inputs, the worker reports progress at most this often."""
WORKER_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
"""Thread-count variables the worker gets as ``1`` unless already set (torch, numpy's BLAS, JAX's CPU ops)."""
WATCHDOG_SECONDS = 0.5
"""How often a worker checks that the tool is still alive (it exits when orphaned)."""


# ---- failures -----------------------------------------------------------------------------------

class SandboxFailure(Exception):
    """User code in the worker misbehaved; ``output`` is the tail of what it printed meanwhile."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class CallTimedOut(SandboxFailure):
    """The worker did not answer within the limit; it was killed.

    In a loop over single inputs (:meth:`Sandbox.call_each`), ``index`` is the input it was
    working on or a little before it (progress is reported every :data:`TICK_SECONDS`).
    """

    index = 0


class WorkerDied(SandboxFailure):
    """The worker process ended during a call (``os._exit``, a crash, a signal)."""


class UserRaised(SandboxFailure):
    """User code raised (any ``BaseException``: exceptions, ``SystemExit``, ``KeyboardInterrupt``...)."""

    def __init__(self, message: str, output: str = "", type_name: str = "", modified_input: bool = False,
                 ordinary: bool = False) -> None:
        super().__init__(message, output)
        self.type_name = type_name
        self.modified_input = modified_input
        self.ordinary = ordinary
        """An ``Exception`` (not ``SystemExit``, ``KeyboardInterrupt`` or another bare ``BaseException``)."""


class BadOutput(SandboxFailure):
    """User code returned something that is not an array of real numbers (message: what it was)."""


class TransportError(Exception):
    """A request or reply could not be encoded (e.g. a ctx whose numbers cannot be pickled).

    Not the operator's fault: callers treat it like a precise form that cannot run.
    """


# ---- what the worker loads ---------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """An operator the worker can load: by spec (``file.py:attr``, ``pkg.mod:attr``) or by pickle."""

    label: str
    spec: str | None = None
    pickled: bytes | None = None
    derive: bool = True
    """Derive a precise form from the code when the object has no ``precise`` attribute."""

    @classmethod
    def by_reference(cls, obj: Any, label: str, derive: bool = True) -> "Target":
        """``obj`` pickled by reference (module and name), or raise ``TransportError``."""
        module = getattr(obj, "__module__", None) or getattr(type(obj), "__module__", None)
        if module in (None, "__main__", "__mp_main__") or type(obj).__module__ in ("__main__", "__mp_main__"):
            raise TransportError(f"{label!r} is defined in __main__, which a worker cannot import")
        try:
            data = pickle.dumps(obj, protocol=5)
        except Exception as exc:  # noqa: BLE001 - lambdas, closures, local classes
            raise TransportError(f"{label!r} cannot be pickled ({type(exc).__name__}: {exc})") from None
        return cls(label, pickled=data, derive=derive)


@dataclass(frozen=True)
class Loaded:
    """What the worker found on the loaded object (the parent builds the Operator from it)."""

    has_batched: bool
    has_precise: bool
    undefined_note: str
    derived_note: str = ""
    """Non-empty when a precise form was derived from the code (and agreed with the float form)."""
    derive_failure: str = ""
    """Why deriving a precise form failed, if it was tried."""


# ---- wire format --------------------------------------------------------------------------------

def encode(obj: Any, ctx: Any = None) -> bytes:
    """Pickle ``obj``; numbers of ``ctx`` go through ``ctx.wire_encode`` (they may not pickle)."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=5)
    encoder = getattr(ctx, "wire_encode", None)
    if encoder is not None:
        pickler.persistent_id = encoder  # type: ignore[method-assign]
    try:
        pickler.dump(obj)
    except Exception as exc:  # noqa: BLE001 - anything unpicklable in a request or reply
        raise TransportError(f"cannot send {type(obj).__name__} to or from the worker: {type(exc).__name__}: {exc}") \
            from None
    return buf.getvalue()


_SAFE_BUILTINS = frozenset({"complex", "float", "int", "list", "tuple", "dict", "set", "frozenset", "bytearray",
                            "bytes", "slice", "range", "bool", "str", "object"})
_SAFE_MODULES = ("numpy", "sympy", "mpmath", "flint", "fractions", "decimal", "copyreg", "collections",
                 "mtkd.operators.precision", "mtkd.operators.precision_arb", "mtkd.operators.exact",
                 "mtkd.operators.symbolic", "_codecs")


class _Unpickler(pickle.Unpickler):
    """Unpickles worker replies: only numbers, containers, arrays and ctx numbers (an allow-list)."""

    def __init__(self, data: bytes, ctx: Any, restricted: bool) -> None:
        super().__init__(io.BytesIO(data))
        self.ctx = ctx
        self.restricted = restricted

    def persistent_load(self, pid: Any) -> Any:
        decoder = getattr(self.ctx, "wire_decode", None)
        if decoder is None:
            raise pickle.UnpicklingError("a ctx number arrived for a context without wire_decode")
        return decoder(pid)

    def find_class(self, module: str, name: str) -> Any:
        if self.restricted:
            allowed = (name in _SAFE_BUILTINS) if module == "builtins" else (
                any(module == m or module.startswith(m + ".") for m in _SAFE_MODULES))
            if not allowed:
                raise pickle.UnpicklingError(f"the worker sent a {module}.{name}, which is not a number type")
        return super().find_class(module, name)


def decode(data: bytes, ctx: Any = None, restricted: bool = True) -> Any:
    try:
        return _Unpickler(data, ctx, restricted).load()
    except Exception as exc:  # noqa: BLE001 - a malformed reply (hostile or broken worker)
        raise TransportError(f"unreadable reply from the worker: {type(exc).__name__}: {exc}") from None


# ---- the parent side ----------------------------------------------------------------------------

_LIVE: list["weakref.ref[Sandbox]"] = []
_LIVE_LOCK = threading.Lock()


class Sandbox:
    """One worker process holding one user operator; started lazily, restarted after a kill.

    Picklable: the copy (e.g. in a search process) starts its own worker when first used.
    """

    def __init__(self, target: Target, import_timeout: float = 60.0) -> None:
        self.target = target
        self.import_timeout = import_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._capture: Any = None
        self._owner = os.getpid()
        self._lock = threading.RLock()
        self.loaded: Loaded | None = None
        self.restarts = 0
        self._replicas: dict[int, Sandbox] = {}

    def __reduce__(self) -> tuple[Any, ...]:
        return (Sandbox, (self.target, self.import_timeout))

    def replica(self, index: int) -> "Sandbox":
        """Another worker for the same operator (0: this one), kept for reuse: one per parallel stream."""
        if index == 0:
            return self
        with self._lock:
            if index not in self._replicas:
                twin = Sandbox(self.target, self.import_timeout)
                twin.loaded = self.loaded
                self._replicas[index] = twin
            return self._replicas[index]

    # -- lifecycle ---------------------------------------------------------------------------------
    def load(self) -> Loaded:
        """Start the worker and import the operator; raise :class:`OperatorLoadError` on any failure."""
        with self._lock:
            self._ensure_started()
            assert self.loaded is not None
            return self.loaded

    def _ensure_started(self) -> None:
        if self._owner != os.getpid():  # a forked copy: the process belongs to the parent
            self._forget()
        if self._proc is not None and self._proc.poll() is None and self._conn is not None:
            return
        self._stop_process()
        self._start()

    def _start(self) -> None:
        parent_sock, child_sock = socket.socketpair()
        capture = tempfile.TemporaryFile(prefix="mtkd-worker-", buffering=0)
        import fcntl

        fcntl.fcntl(capture.fileno(), fcntl.F_SETFL, fcntl.fcntl(capture.fileno(), fcntl.F_GETFL) | os.O_APPEND)
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"  # what the operator printed before dying is in the capture file
        for name in WORKER_THREAD_VARIABLES:
            # One compute thread unless the user chose otherwise: the worker evaluates one small input
            # at a time, and a torch pool's intra-op threads spin on a shared 2-core machine (a float32
            # torch pool took 2 ms of CPU per call with 2 threads, 39 us with 1).
            env.setdefault(name, "1")
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", "from mtkd.operators.sandbox import worker_main; worker_main()",
                 str(child_sock.fileno())],
                stdin=subprocess.DEVNULL, stdout=capture, stderr=capture, pass_fds=(child_sock.fileno(),),
                start_new_session=True, env=env, close_fds=True)
        finally:
            child_sock.close()
        self._proc, self._capture, self._owner = proc, capture, os.getpid()
        self._conn = Connection(parent_sock.detach())
        _register(self)
        started = self._output_size()
        try:
            # The worker's own start (interpreter, numpy, mtkd) is not the operator's import: on a
            # loaded machine it can take seconds, so it has its own generous limit.
            try:
                ready = self._conn.poll(START_SECONDS) and self._conn.recv_bytes() == _READY
            except (EOFError, OSError):
                ready = False
            if not ready:
                self._stop_process()
                raise OperatorLoadError(
                    f"The worker process for operator {self.target.label!r} did not start within {START_SECONDS:g} s "
                    f"({sys.executable} -c 'import mtkd.operators.sandbox' failed or hung)." + self._quote(started))
            reply = self._request(("load", self.target, list(sys.path), os.getcwd()), self.import_timeout, None)
        except CallTimedOut:
            raise OperatorLoadError(
                f"Loading operator {self.target.label!r} did not finish within {self.import_timeout:g} s (a loop or a "
                "hang at import?). Make the module import quickly; do expensive set-up lazily, on first call."
                + self._quote(started)) from None
        except WorkerDied as exc:
            raise OperatorLoadError(
                f"Loading operator {self.target.label!r} ended the process ({exc}) while importing it: "
                "a module must not call os._exit or crash the interpreter at import." + self._quote(started)) from None
        except TransportError as exc:
            self._stop_process()
            raise OperatorLoadError(f"Loading operator {self.target.label!r} failed: {exc}.") from None
        if reply[0] == "load-failed":
            self._stop_process()
            raise OperatorLoadError(reply[1] + self._quote(started))
        self.loaded = Loaded(*(reply[1]))

    def derive(self, limit: float) -> Loaded:
        """Try to derive a precise form from the code in the worker (within ``limit`` seconds)."""
        with self._lock:
            self._ensure_started()
            assert self.loaded is not None
            try:
                reply = self._request(("derive", self.target.label), limit, None)
            except (SandboxFailure, TransportError) as exc:
                failure = f"deriving a precise form did not finish within {limit:g} s ({exc})"
                self.loaded = replace(self.loaded, derive_failure=failure)
                return self.loaded
            if reply[0] == "derived":
                note, failure = reply[1]
                self.loaded = replace(self.loaded, derived_note=str(note), derive_failure=str(failure))
            else:
                self.loaded = replace(self.loaded, derive_failure=f"deriving a precise form failed: {reply[2]}")
            return self.loaded

    def stop(self) -> None:
        """Stop the worker (it restarts on the next call)."""
        with self._lock:
            self._stop_process()

    def _forget(self) -> None:
        # In a forked child: drop our copies of the parent's handles without touching its worker.
        for handle in (self._conn, self._capture):
            try:
                if handle is not None:
                    handle.close()
            except OSError:
                pass
        self._proc = self._conn = self._capture = None
        self._owner = os.getpid()

    def _stop_process(self) -> None:
        proc, conn, capture = self._proc, self._conn, self._capture
        self._proc = self._conn = None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass
        if proc is not None and self._owner == os.getpid():
            _kill_group(proc)
        if capture is not None:
            self._capture = None
            try:
                capture.close()
            except OSError:
                pass

    # -- calls -------------------------------------------------------------------------------------
    def call(self, form: str, args: tuple[Any, ...], limit: float, ctx: Any = None,
             adapter: str | None = None) -> Any:
        """Run ``form`` (or ``adapter``) on ``args`` in the worker within ``limit`` seconds.

        Float forms return a float64 array; precise forms a list of ``ctx`` numbers. Raises a
        :class:`SandboxFailure` for anything user code did wrong, ``TransportError`` otherwise.
        """
        with self._lock:
            restarted = self._proc is None or self._owner != os.getpid()
            try:
                self._ensure_started()
            except OperatorLoadError as exc:
                raise WorkerDied(f"the worker could not be restarted: {exc}") from None
            if restarted and self.loaded is not None:
                self.restarts += 1
            payload = encode(args, ctx)
            ctx_blob = pickle.dumps(ctx, protocol=5) if ctx is not None else None
            started = self._output_size()
            try:
                reply = self._request(("call", form, adapter, payload, ctx_blob), limit, ctx)
            except SandboxFailure as exc:
                exc.output = self._tail(started)
                raise
            if reply[0] == "ok":
                self._trim_output()
                return reply[1] if form == "precise" else _returned(reply)
            output = self._tail(started)
            if reply[0] == "raised":
                _, type_name, message, modified, ordinary = reply
                raise UserRaised(str(message), output, str(type_name), bool(modified), bool(ordinary))
            if reply[0] == "bad-output":
                raise BadOutput(reply[1], output)
            raise TransportError(f"unexpected reply {reply[0]!r} from the worker")

    def call_each(self, args: tuple[np.ndarray, ...], limit: float) -> Returned:
        """The single form on each input of a batch, ``(N, ...) -> (N, V)``, in one exchange (least precise dtype).

        One round trip per batch instead of per input (a round trip costs milliseconds on a
        loaded machine); ``limit`` applies to each input (the worker reports progress). A failure
        carries ``index``, the input at fault.
        """
        with self._lock:
            try:
                self._ensure_started()
            except OperatorLoadError as exc:
                raise WorkerDied(f"the worker could not be restarted: {exc}") from None
            started = self._output_size()
            try:
                reply = self._request(("loop", encode(args)), limit + TICK_SECONDS, None, progress=True)
            except SandboxFailure as exc:
                exc.output = self._tail(started)
                raise
            if reply[0] == "ok":
                self._trim_output()
                return _returned(reply)
            output = self._tail(started)
            _, index, inner = reply
            failure: SandboxFailure
            if inner[0] == "raised":
                _, type_name, message, modified, ordinary = inner
                failure = UserRaised(str(message), output, str(type_name), bool(modified), bool(ordinary))
            else:
                failure = BadOutput(str(inner[1]), output)
            failure.index = int(index)  # type: ignore[union-attr]
            raise failure

    def _request(self, message: tuple[Any, ...], limit: float, ctx: Any, progress: bool = False) -> Any:
        conn, proc = self._conn, self._proc
        assert conn is not None and proc is not None
        at = 0
        try:
            conn.send_bytes(encode(message))
            while True:
                ready = conn.poll(limit)
                data = conn.recv_bytes() if ready else None
                if not (progress and data is not None and data.startswith(_TICK)):
                    break
                at = int(data[len(_TICK):])
        except (EOFError, OSError):
            self._stop_process()
            raise WorkerDied(_exit_description(proc)) from None
        except BaseException:
            # Interrupted while the worker still works on the request (Ctrl-C, the run's time wall):
            # the channel is out of step, so the worker must go.
            self._stop_process()
            raise
        if data is None:
            self._stop_process()
            timed_out = CallTimedOut(f"no answer within {limit:.3g} s")
            timed_out.index = at
            raise timed_out
        try:
            return decode(data, ctx)
        except TransportError:
            self._stop_process()
            raise

    # -- captured output ---------------------------------------------------------------------------
    def _output_size(self) -> int:
        try:
            return os.fstat(self._capture.fileno()).st_size if self._capture is not None else 0
        except OSError:
            return 0

    def _tail(self, since: int) -> str:
        capture = self._capture
        if capture is None:
            return ""
        try:
            end = os.fstat(capture.fileno()).st_size
            start = max(since, end - 4 * OUTPUT_QUOTE)
            text = os.pread(capture.fileno(), end - start, start).decode("utf-8", "replace")
        except (OSError, ValueError):
            return ""
        text = " ".join(text.split())
        return ("..." + text[-OUTPUT_QUOTE:]) if len(text) > OUTPUT_QUOTE else text

    def _quote(self, since: int) -> str:
        tail = self._tail(since)
        return f" Its output ended with: {tail!r}" if tail else ""

    def _trim_output(self) -> None:
        if self._output_size() > OUTPUT_CAP and self._capture is not None:
            os.ftruncate(self._capture.fileno(), 0)


def _exit_description(proc: subprocess.Popen[bytes]) -> str:
    try:
        code = proc.wait(timeout=2.0)
    except subprocess.TimeoutExpired:
        return "the worker stopped answering"
    if code < 0:
        try:
            return f"the worker process was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"the worker process was killed by signal {-code}"
    return f"the worker process exited with code {code}"


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop the worker and whatever it started (its own process group)."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, KILL_GRACE), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _register(box: Sandbox) -> None:
    """Track live workers; stop the least recently started beyond :data:`MAX_LIVE_WORKERS`."""
    with _LIVE_LOCK:
        _LIVE[:] = [r for r in _LIVE if (b := r()) is not None and b is not box and b._proc is not None]
        _LIVE.append(weakref.ref(box))
        excess = [r() for r in _LIVE[:-MAX_LIVE_WORKERS]]
        del _LIVE[:-MAX_LIVE_WORKERS]
    for old in excess:
        if old is not None and old._lock.acquire(blocking=False):
            try:
                old._stop_process()
            finally:
                old._lock.release()
    weakref.finalize(box, _kill_quietly, box._proc, os.getpid())


def _kill_quietly(proc: subprocess.Popen[bytes] | None, owner: int) -> None:
    if proc is not None and owner == os.getpid() and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass


@atexit.register
def stop_all() -> None:
    """Stop every live worker of this process (at exit, and on demand)."""
    with _LIVE_LOCK:
        boxes = [r() for r in _LIVE]
        _LIVE.clear()
    for box in boxes:
        if box is not None and box._owner == os.getpid():
            box._stop_process()


# ---- the worker side ----------------------------------------------------------------------------

_GETERR, _SETERR = np.geterr, np.seterr
"""numpy's own functions, kept before user code can monkeypatch them."""

_TICK = b"tick:"
_READY = b"ready"
"""The worker's first message: it is up, and the operator's import (timed on its own) can start."""
"""Progress messages in a loop (not pickles: the parent reads them without unpickling)."""

def worker_main() -> None:
    """Entry point of the worker process (``python -c``; the socket's fd is ``sys.argv[1]``)."""
    conn = Connection(int(sys.argv[1]))
    parent = os.getppid()
    threading.Thread(target=_watchdog, args=(parent,), daemon=True, name="mtkd-watchdog").start()
    conn.send_bytes(_READY)
    state: dict[str, Any] = {}
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):
            break
        try:
            reply = _serve(decode(data, restricted=False), state, conn)
        except BaseException as exc:  # noqa: BLE001 - the worker answers whatever user code does
            reply = ("raised", type(exc).__name__, _describe_exception(exc), False, False)
        ctx = state.get("ctx")
        try:
            blob = encode(reply, ctx)
        except TransportError as exc:
            blob = encode(("bad-output", f"returned values that cannot be sent back ({exc})"))
        state.pop("ctx", None)
        try:
            conn.send_bytes(blob)
        except OSError:
            break
    sys.stdout.flush()
    os._exit(0)  # non-daemon threads the operator started must not keep the worker alive


def _watchdog(parent: int) -> None:
    while True:
        time.sleep(WATCHDOG_SECONDS)
        if os.getppid() != parent:
            os._exit(3)


def _describe_exception(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r}) (an operator must return or raise, not exit)"
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001 - a hostile __str__
        text = "<unprintable>"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _serve(message: tuple[Any, ...], state: dict[str, Any], conn: Connection) -> tuple[Any, ...]:
    kind = message[0]
    if kind == "load":
        _, target, path, cwd = message
        sys.path[:] = path
        os.chdir(cwd)
        try:
            obj, loaded = _load(target)
        except OperatorLoadError as exc:
            return ("load-failed", str(exc))
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt at import...
            return ("load-failed", f"Importing operator {target.label!r} raised {_describe_exception(exc)}. "
                                   "Fix the module so that it imports cleanly (no exit, no exception at import).")
        state["obj"] = obj
        # The numpy error state after import is the operator's own baseline; what a call leaves
        # behind (np.seterr(all="raise")) does not leak into the next call.
        state["errstate"] = _GETERR()
        return ("loaded", (loaded.has_batched, loaded.has_precise, loaded.undefined_note,
                           loaded.derived_note, loaded.derive_failure))
    if "errstate" in state:
        _SETERR(**state["errstate"])
    if kind == "derive":
        from .loader import derivation, inspect_object

        # The derivation calls the user's code: here, in the worker, where a hang can be killed.
        info = derivation(state["obj"], message[1], inspect_object(state["obj"], message[1]), lambda thunk: thunk())
        return ("derived", (info.derived_note, info.derive_failure))
    if kind == "call":
        _, form, adapter, payload, ctx_blob = message
        ctx = pickle.loads(ctx_blob) if ctx_blob is not None else None
        state["ctx"] = ctx
        args = decode(payload, ctx, restricted=False)
        return _run(state["obj"], form, adapter, tuple(args) + ((ctx,) if ctx is not None else ()))
    if kind == "loop":
        P, T, w = decode(message[1], restricted=False)
        for a in (P, T, w):
            a.setflags(write=False)  # the rows handed to the operator are views: read-only already
        rows = []
        dtypes: set[str] = set()
        frameworks: set[str] = set()
        # The parent's clock started with the request: the first tick is due only after TICK_SECONDS
        # (a tick per request doubled the messages of short loops).
        last = time.monotonic()
        for n in range(len(P)):
            now = time.monotonic()
            if now - last >= TICK_SECONDS:
                conn.send_bytes(_TICK + str(n).encode())
                last = now
            reply = _run(state["obj"], "func", None, (P[n], T[n], w[n]), read_only=True)
            if reply[0] != "ok":
                return ("failed", n, reply)
            if reply[1].shape != P.shape[-1:]:
                return ("failed", n, ("bad-output", f"returned shape {reply[1].shape}, expected {P.shape[-1:]},"))
            rows.append(reply[1])
            dtypes.add(reply[2])
            frameworks.add(reply[3])
        # The least precise dtype any input came back in: round-off allowances follow it.
        least = max(dtypes, key=EPSILON.__getitem__, default="float64")
        return ("ok", np.array(rows, dtype=float).reshape(len(P), P.shape[-1]), least,
                min(frameworks, default=Framework.NUMPY.value))
    raise ValueError(f"unknown request {kind!r}")


def _load(target: Target) -> tuple[Any, Loaded]:
    from .loader import inspect_object, resolve_spec

    obj = pickle.loads(target.pickled) if target.pickled is not None else resolve_spec(target.spec or "")
    return obj, inspect_object(obj, target.label)


def _run(obj: Any, form: str, adapter: str | None, args: tuple[Any, ...], read_only: bool = False) -> tuple[Any, ...]:
    """Call one form; ``read_only``: the arrays in ``args`` are read-only views already (a loop's rows)."""
    if adapter is not None:
        fn: Callable[..., Any] = _import_adapter(adapter)
        call_args: tuple[Any, ...] = (obj, *args)
    else:
        fn = obj if form == "func" else getattr(obj, form)
        call_args = args
    arrays = [a for a in args if isinstance(a, np.ndarray)]
    before = [a.tobytes() for a in arrays]
    views = call_args if read_only else tuple(_read_only(a) for a in call_args)
    try:
        out = fn(*views)
    except BaseException as exc:  # noqa: BLE001 - every way user code can fail is reported
        modified = any(a.tobytes() != b for a, b in zip(arrays, before)) or _says_read_only(exc)
        return ("raised", type(exc).__name__, _describe_exception(exc), modified, isinstance(exc, Exception))
    if any(a.tobytes() != b for a, b in zip(arrays, before)):
        return ("raised", "ModifiedInput", "changed its input arrays in place", True, False)
    if form == "precise":
        try:
            return ("ok", list(out))
        except BaseException as exc:  # noqa: BLE001 - a hostile iterable
            return ("bad-output", f"returned {type(out).__name__}, which cannot be listed ({_describe_exception(exc)})")
    try:
        returned = float_output(out)
    except OutputNotNumbers as exc:
        return ("bad-output", str(exc))
    # Only plain values cross back: float64 numbers plus the names of the dtype and framework.
    return ("ok", returned.values, returned.dtype, returned.framework.value)


def _returned(reply: tuple[Any, ...]) -> Returned:
    """A float form's ``("ok", values, dtype, framework)`` reply as a :class:`~.frameworks.Returned`."""
    _, values, dtype, framework = reply
    if dtype not in EPSILON:
        raise TransportError(f"the worker sent back an unknown dtype {dtype!r}")
    return Returned(values, dtype, Framework(framework))


def _read_only(a: Any) -> Any:
    if isinstance(a, np.ndarray):
        view = a.view()
        view.setflags(write=False)
        return view
    return a


def _says_read_only(exc: BaseException) -> bool:
    try:
        return isinstance(exc, ValueError) and "read-only" in str(exc)
    except BaseException:  # noqa: BLE001
        return False


def _import_adapter(name: str) -> Callable[..., Any]:
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)


def _example_operator(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The linear pool at T = 1 (for the doctest above)."""
    return w @ P
