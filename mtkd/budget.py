"""The run's hard time wall: ``--budget`` seconds for everything (provers, SMT, search, certification).

The search itself stops on its own when its share of the budget is spent (cooperatively, at a
step boundary). The wall is the net behind it: whatever is still running when the run's time is
up is interrupted (SIGALRM in the main thread; calls to a worker and z3 queries get at most the
time that is left), and the property it was deciding becomes ``unknown`` with the reason
"budget". Properties not yet started are not started.

>>> with wall(60):
...     0 < remaining() <= 60
True
>>> remaining()
inf
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from typing import Any, Iterator

_local = threading.local()
"""``_local.deadline``: ``time.monotonic()`` at which this thread's wall stands (absent: no wall).
Per thread, because a dask worker runs several tasks in threads of one process, each with its own wall."""


def _deadline() -> float | None:
    return getattr(_local, "deadline", None)


class BudgetExhausted(BaseException):
    """The run's ``--budget`` ran out. BaseException, so that no ``except Exception`` in the tool swallows it."""


def remaining() -> float:
    """Seconds left before the wall (``inf`` without one; never negative)."""
    deadline = _deadline()
    if deadline is None:
        return math.inf
    return max(0.0, deadline - time.monotonic())


def expired() -> bool:
    deadline = _deadline()
    return deadline is not None and time.monotonic() >= deadline


def clamp(seconds: float) -> float:
    """``seconds``, or less if the wall comes first."""
    return min(seconds, remaining())


@contextlib.contextmanager
def wall(seconds: float) -> Iterator[None]:
    """Run the enclosed block with a hard wall ``seconds`` from now (nested walls keep the earlier one).

    In the main thread the wall is also an alarm: code that does not check :func:`remaining` is
    interrupted with :class:`BudgetExhausted`. Other threads only see :func:`remaining`.
    """
    outer = _deadline()
    _local.deadline = min(outer if outer is not None else math.inf, time.monotonic() + seconds)
    armed = threading.current_thread() is threading.main_thread()
    previous: Any = None
    if armed:
        def _alarm(signum: int, frame: Any) -> None:
            if expired():
                raise BudgetExhausted()
            signal.setitimer(signal.ITIMER_REAL, max(remaining(), 1e-3))  # woken early: wait on

        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, max(remaining(), 1e-3))
    try:
        yield
    finally:
        if armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
        _local.deadline = outer
        if armed and outer is not None:
            signal.setitimer(signal.ITIMER_REAL, max(remaining(), 1e-3))
