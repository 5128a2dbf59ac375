"""Where tasks run: one small interface, one module per engine (``local``, ``dask``, ``ray``).

A :class:`Backend` runs a list of *shippable* tasks (a module-level function and plain, picklable
arguments) and yields their results **in submission order**, whatever order the workers finish
in; a ``done`` callback sees each result as it completes (progress bars). Callers that gather
results in submission order and decide from them alone get the same answer on every backend and
for any number of workers: this is how the search and the report stay reproducible.

* ``local`` (default): in this process for one worker, else a ``forkserver`` (``spawn`` where
  there is none) process pool; never ``fork``, so no worker inherits a parent that ran user code.
* ``dask``: a ``dask.distributed`` scheduler at ``--scheduler ADDRESS``, or a ``LocalCluster``
  of ``--workers`` single-threaded processes (extra ``[dask]``).
* ``ray``: a Ray cluster at ``--scheduler ray://HOST:PORT`` (or ``auto``), or a local
  ``ray.init(num_cpus=workers)`` (extra ``[ray]``).

A worker lost mid-run is replaced and its tasks run again (``RETRIES`` times: the engine's own
retry for dask and ray, a fresh pool for local); after that the run fails with :class:`WorkerLost`.
On ``KeyboardInterrupt`` outstanding tasks are cancelled and the backend shuts down cleanly.

>>> with open_backend(BackendChoice()) as backend:
...     list(backend.map(abs, [-2, 3, -5]))
[2, 3, 5]
"""

from __future__ import annotations

import importlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from types import TracebackType
from typing import Any, Self, TypeVar

from mtkd.errors import MtkdError

T = TypeVar("T")
R = TypeVar("R")

DoneFn = Callable[[int, Any], None]
"""``done(index, result)``: called in completion order, in the caller's process."""

RETRIES = 2
"""How many times a task whose worker died is run again before the run fails."""


class BackendKind(str, Enum):
    """Which engine runs the tasks (``--backend``)."""

    LOCAL = "local"
    """This machine: in-process for one worker, a forkserver/spawn process pool for more."""

    DASK = "dask"
    """dask.distributed: a scheduler address, or a LocalCluster of ``workers`` processes."""

    RAY = "ray"
    """Ray: a cluster address (``ray://host:port`` or ``auto``), or a local ``ray.init``."""


class BackendUnavailable(MtkdError):
    """The chosen engine is not installed or its scheduler cannot be reached."""


class WorkerLost(MtkdError):
    """A worker died running a task, and kept dying after the retries."""

    exit_code = 1


@dataclass(frozen=True)
class BackendChoice:
    """What the user asked for; it never changes results, only where and how fast they are computed."""

    kind: BackendKind = BackendKind.LOCAL
    workers: int = 1
    """Processes (local, and a dask LocalCluster / local Ray); ignored when a scheduler is given."""
    scheduler: str | None = None
    """Address of a running dask scheduler or Ray cluster; None: start one on this machine."""

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")


class Backend(ABC):
    """Runs tasks; use as a context manager so workers are shut down on every exit path."""

    kind: BackendKind

    @property
    @abstractmethod
    def workers(self) -> int:
        """How many tasks can run at once."""

    @abstractmethod
    def map(self, fn: Callable[[T], R], tasks: Sequence[T], done: DoneFn | None = None) -> Iterator[R]:
        """``fn(task)`` for every task, yielded in submission order; stopping early cancels the rest."""

    def start(self) -> None:
        """Start every worker and load the tool's task modules in it (:func:`ready`).

        :func:`open_backend` calls this, so start-up (processes, a cluster, imports of sympy and z3)
        is over before the run's ``--budget`` starts counting; measured in ``bench/distributed.md``.
        """
        if not self.in_process:
            list(self.map(ready, [()] * self.workers))

    def close(self) -> None:
        """Release the workers (idempotent)."""

    @property
    def in_process(self) -> bool:
        """True when tasks run in this process (so they need not be picklable)."""
        return False

    def describe(self) -> dict[str, Any]:
        """The ``run`` block of the JSON output: which backend ran and with how many workers."""
        return {"backend": self.kind.value, "workers": self.workers}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def in_order(completed: Iterable[tuple[int, R]], n: int, done: DoneFn | None) -> Iterator[R]:
    """Results arriving as ``(index, result)`` in any order, yielded by index (``done`` sees arrival order).

    >>> list(in_order([(1, "b"), (0, "a"), (2, "c")], 3, None))
    ['a', 'b', 'c']
    """
    waiting: dict[int, R] = {}
    nxt = 0
    for i, result in completed:
        if done is not None:
            done(i, result)
        waiting[i] = result
        while nxt in waiting:
            yield waiting.pop(nxt)
            nxt += 1
    if nxt != n:
        raise WorkerLost(f"the backend returned {nxt} of {n} task results; the others were lost")


TASK_MODULES = ("mtkd.verify", "mtkd.counterexamples.search")
"""What the tasks (property jobs, search segments) import: loaded by :meth:`Backend.start`."""


def ready(_: object = ()) -> int:
    """Worker side of :meth:`Backend.start`: import the task modules; returns the process id."""
    for name in TASK_MODULES:
        importlib.import_module(name)
    return os.getpid()


_MODULES = {BackendKind.LOCAL: "local", BackendKind.DASK: "dask", BackendKind.RAY: "ray"}


def open_backend(choice: BackendChoice) -> Backend:
    """Start (or connect to) the chosen engine and its workers; :class:`BackendUnavailable` when it is
    not installed."""
    module = importlib.import_module(f"{__name__}.{_MODULES[choice.kind]}")
    backend: Backend = module.create(choice)
    try:
        backend.start()
    except BaseException:
        backend.close()
        raise
    return backend


__all__ = [
    "RETRIES",
    "Backend",
    "BackendChoice",
    "BackendKind",
    "BackendUnavailable",
    "WorkerLost",
    "in_order",
    "open_backend",
    "ready",
]
