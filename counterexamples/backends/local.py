"""The default backend: this machine, no engine needed.

One worker runs the tasks in this process, one after the other (nothing is pickled, so
in-memory operators work). More workers run them in a process pool started with ``forkserver``
(``spawn`` where there is none): a worker never inherits a parent that has run user code, and
the fork server preloads the tool's own modules so that workers start fast. Workers ignore
``SIGINT``: Ctrl-C reaches the parent, which cancels the pending tasks and stops the pool.

A pool whose worker died (``BrokenProcessPool``) is replaced and the tasks not yet finished run
again, :data:`~mtkd.counterexamples.backends.RETRIES` times, like the engines' own retries.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any, TypeVar

from . import RETRIES, Backend, BackendChoice, BackendKind, DoneFn, WorkerLost, in_order

T = TypeVar("T")
R = TypeVar("R")

PRELOAD = ["mtkd.verify", "mtkd.theorems.smt", "mtkd.theorems.symbolic_verdicts"]
"""Imported once by the fork server (never user code), inherited by every worker it forks."""


def _quiet_worker() -> None:
    # The parent owns Ctrl-C: it cancels and shuts the pool down; workers must not print tracebacks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


class LocalBackend(Backend):
    """In-process for ``workers == 1``, else a forkserver/spawn process pool of ``workers``."""

    kind = BackendKind.LOCAL

    def __init__(self, workers: int = 1) -> None:
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def in_process(self) -> bool:
        return self._workers == 1

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], done: DoneFn | None = None) -> Iterator[R]:
        if self.in_process:
            for i, task in enumerate(tasks):
                result = fn(task)
                if done is not None:
                    done(i, result)
                yield result
            return
        yield from in_order(self._completed(fn, tasks), len(tasks), done)

    def _completed(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[tuple[int, R]]:
        left = dict(enumerate(tasks))
        for attempt in range(RETRIES + 1):
            pool = self._open()
            futures: dict[Future[R], int] = {pool.submit(fn, task): i for i, task in left.items()}
            try:
                while futures:
                    finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for f in finished:
                        i = futures.pop(f)
                        result = f.result()
                        del left[i]
                        yield i, result
                return
            except BrokenProcessPool as exc:
                self._discard()
                if attempt == RETRIES:
                    raise WorkerLost(
                        f"a local worker process died running task(s) {sorted(left)} and again on each of "
                        f"{RETRIES} retries ({exc}); the task itself kills its process (e.g. os._exit or a crash "
                        "in C code), so run with --workers 1 to see its error") from None
            finally:
                for f in futures:
                    f.cancel()

    def _open(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self._workers, mp_context=_context(),
                                             initializer=_quiet_worker)
        return self._pool

    def _discard(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is not None and self._pool is not None:
            # Interrupted (Ctrl-C) or failed: the running tasks' results are not wanted, and
            # shutdown() alone would wait for them. The executor offers no terminate(), hence
            # its private process table.
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.terminate()
            # Joining could wait on a pool interrupted mid-start; the terminated workers need no join.
            self._discard()
        self.close()


def create(choice: BackendChoice) -> LocalBackend:
    return LocalBackend(choice.workers)
