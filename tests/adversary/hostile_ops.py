"""Hostile operators: each is the linear pool (or close to it) plus one kind of misbehaviour.

Loaded by spec (``path/to/hostile_ops.py:name``) in the tests, so they run in the tool's worker
process as any user operator would. Operators that misbehave at import live in files the tests
write themselves (``test_operators.py``).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

import numpy as np


def _linear(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The linear pool, temperature scaling in log space (finite from T = 1e-6 to 1e6)."""
    z = np.log(np.asarray(P, float)) / np.asarray(T, float)[:, None]
    Q = np.exp(z - z.max(axis=1, keepdims=True))
    return np.asarray(w, float) @ (Q / Q.sum(axis=1, keepdims=True))


def exits_zero(P, T, w):
    """Ends the process with status 0: a CI job would pass if the tool died with it."""
    os._exit(0)


def sys_exit_zero(P, T, w):
    raise SystemExit(0)


class _ArrayRaises:
    """What torch returns for a grad-tracking or CUDA tensor: converting it raises."""

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("Can't call numpy() on Tensor that requires grad")

    def __len__(self) -> int:
        raise RuntimeError("no length either")


def array_raises(P, T, w):
    return _ArrayRaises()


class Custom(BaseException):
    """A BaseException subclass that `except Exception` does not catch."""


def raises_base_exception(P, T, w):
    raise Custom("custom BaseException from the operator")


def raises_generator_exit(P, T, w):
    raise GeneratorExit("generator exit from the operator")


def raises_keyboard_interrupt(P, T, w):
    raise KeyboardInterrupt


class _BatchedPropertyRaises:
    def __call__(self, P, T, w):
        return _linear(P, T, w)

    @property
    def batched(self):
        raise RuntimeError("batched is computed lazily and fails")


batched_property_raises = _BatchedPropertyRaises()


def leaves_seterr_raise(P, T, w):
    """A correct linear pool that leaves numpy raising on every floating-point event."""
    q = _linear(P, T, w)
    np.seterr(all="raise")
    return q


def hangs_in_c(P, T, w):
    """sleep(3) of the C library: no Python signal handler runs until it returns."""
    ctypes.CDLL(None).sleep(100)
    return _linear(P, T, w)


def disarms_alarm(P, T, w):
    """Ignores SIGALRM and cancels any interval timer, then loops."""
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    signal.setitimer(signal.ITIMER_REAL, 0)
    while True:
        time.sleep(0.01)


def catches_alarm(P, T, w):
    """Catches whatever the alarm raises and keeps going."""
    while True:
        try:
            time.sleep(0.01)
        except BaseException:  # noqa: BLE001 - hostile on purpose
            pass


def leaves_thread(P, T, w):
    """A correct linear pool that leaves a non-daemon thread running forever."""
    threading.Thread(target=time.sleep, args=(10**6,), daemon=False).start()
    return _linear(P, T, w)


def prints(P, T, w):
    """A correct linear pool that chats on stdout and stderr (and at the C level)."""
    print("{not json", flush=True)
    print("noise on stderr", file=sys.stderr, flush=True)
    os.write(1, b"raw bytes on fd 1\n")
    return _linear(P, T, w)


def patched_isfinite(P, T, w):
    """All-NaN output, after making numpy's isfinite say everything is finite."""
    np.isfinite = lambda x, *a, **k: np.ones(np.shape(x), dtype=bool)
    return np.full(np.shape(P)[-1], np.nan)


def mutates_after_setflags(P, T, w):
    """Makes its read-only input writable again and scribbles on it (then pools the scribble)."""
    P.setflags(write=True)
    P[...] = 1.0 / np.shape(P)[-1]
    return _linear(P, T, w)
