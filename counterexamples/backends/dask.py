"""dask.distributed backend (extra ``[dask]``): a scheduler address, or a LocalCluster here.

Without ``--scheduler`` a ``LocalCluster(n_workers=workers, threads_per_worker=1,
processes=True)`` is started for the run and closed after it. Tasks are submitted with
``retries=RETRIES``, so a task whose worker died runs again on another worker; ``pure=False``
because every task is a distinct piece of work even when two look alike.

Dask runs a task in a worker *thread*, where the tool's per-call time limits (``SIGALRM``)
cannot fire: an operator that hangs hangs its task. Keep ``--call-timeout`` honest on the local
backend first (the result is the same there).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from . import RETRIES, Backend, BackendChoice, BackendKind, BackendUnavailable, DoneFn, WorkerLost, in_order, ready

T = TypeVar("T")
R = TypeVar("R")


class DaskBackend(Backend):
    kind = BackendKind.DASK

    def __init__(self, choice: BackendChoice) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise BackendUnavailable(
                f"--backend dask needs dask.distributed, which is not installed ({exc}). Install the extra: "
                "pip install 'mtkd-verify[dask]' (or use --backend local).") from None
        self._cluster: Any = None
        self._client: Any = None
        self.scheduler = choice.scheduler
        try:
            if choice.scheduler:
                self._client = Client(choice.scheduler, timeout="20s")
            else:
                self._cluster = LocalCluster(n_workers=choice.workers, threads_per_worker=1, processes=True,
                                             dashboard_address=None, silence_logs=logging.ERROR)
                self._client = Client(self._cluster)
        except (OSError, TimeoutError) as exc:
            if self._cluster is not None:
                self._cluster.close()
            raise BackendUnavailable(
                f"Could not reach the dask scheduler at {choice.scheduler!r}: {type(exc).__name__}: {exc}. "
                "Check the address (tcp://HOST:8786) and that the scheduler is running.") from None
        self._requested = choice.workers

    @property
    def workers(self) -> int:
        info = self._client.scheduler_info()
        threads = sum(w.get("nthreads", 1) for w in info.get("workers", {}).values())
        return threads or self._requested

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["scheduler"] = self.scheduler or "LocalCluster"
        return out

    def start(self) -> None:
        # On every worker (a map could put all the tasks on one): import what the tasks need.
        self._client.run(ready)

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], done: DoneFn | None = None) -> Iterator[R]:
        from distributed import CancelledError, KilledWorker, as_completed

        futures = [self._client.submit(fn, task, retries=RETRIES, pure=False) for task in tasks]
        index = {f.key: i for i, f in enumerate(futures)}

        def completed() -> Iterator[tuple[int, R]]:
            for f in as_completed(futures):
                try:
                    result = f.result()
                except (CancelledError, KilledWorker) as exc:
                    raise WorkerLost(
                        f"dask lost the worker running task {index[f.key]} on each of {RETRIES} retries "
                        f"({type(exc).__name__}: {exc}); the task itself may kill its worker process") from None
                yield index[f.key], result

        try:
            yield from in_order(completed(), len(tasks), done)
        finally:
            self._client.cancel([f for f in futures if not f.done()])

    def close(self) -> None:
        if getattr(self, "_client", None) is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def create(choice: BackendChoice) -> DaskBackend:
    return DaskBackend(choice)
