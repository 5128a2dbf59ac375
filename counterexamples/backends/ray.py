"""Ray backend (extra ``[ray]``): a cluster address, or a local ``ray.init`` for the run.

``--scheduler ray://HOST:10001`` (Ray Client) or ``auto`` connects to a running cluster; without
it, ``ray.init(num_cpus=workers)`` starts a private local instance, shut down after the run.
Tasks are remote functions with ``max_retries=RETRIES`` (a task whose worker process died runs
again); results are fetched in submission order after ``ray.wait`` reports them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from . import RETRIES, Backend, BackendChoice, BackendKind, BackendUnavailable, DoneFn, WorkerLost, in_order

T = TypeVar("T")
R = TypeVar("R")


class RayBackend(Backend):
    kind = BackendKind.RAY

    def __init__(self, choice: BackendChoice) -> None:
        try:
            import ray
        except ImportError as exc:
            raise BackendUnavailable(
                f"--backend ray needs ray, which is not installed ({exc}). Install the extra: "
                "pip install 'mtkd-verify[ray]' (or use --backend local).") from None
        self._ray = ray
        self.scheduler = choice.scheduler
        self._owned = not ray.is_initialized()
        try:
            if not self._owned:
                pass  # an embedding program (or a test) initialised Ray itself: use it, leave it running
            elif choice.scheduler:
                ray.init(address=choice.scheduler, logging_level=logging.ERROR, log_to_driver=False)
            else:
                ray.init(num_cpus=choice.workers, include_dashboard=False, logging_level=logging.ERROR,
                         log_to_driver=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise BackendUnavailable(
                f"Could not start or reach Ray at {choice.scheduler or 'a local instance'!r}: "
                f"{type(exc).__name__}: {exc}. Check the address (ray://HOST:10001 or auto).") from None
        self._remote: dict[Callable[..., Any], Any] = {}

    @property
    def workers(self) -> int:
        return int(self._ray.cluster_resources().get("CPU", 1))

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["scheduler"] = self.scheduler or "local ray.init"
        return out

    def map(self, fn: Callable[[T], R], tasks: Sequence[T], done: DoneFn | None = None) -> Iterator[R]:
        ray = self._ray
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = ray.remote(max_retries=RETRIES)(fn)
        refs = [remote.remote(task) for task in tasks]
        index = {ref: i for i, ref in enumerate(refs)}
        finished: set[int] = set()

        def completed() -> Iterator[tuple[int, R]]:
            pending = list(refs)
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    try:
                        result = ray.get(ref)
                    except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as exc:
                        raise WorkerLost(
                            f"Ray lost the worker running task {index[ref]} on each of {RETRIES} retries "
                            f"({type(exc).__name__}); the task itself may kill its worker process") from None
                    except ray.exceptions.RayTaskError as exc:
                        raise exc.as_instanceof_cause() from None
                    finished.add(index[ref])
                    yield index[ref], result

        try:
            yield from in_order(completed(), len(tasks), done)
        finally:
            for ref in (r for i, r in enumerate(refs) if i not in finished):
                with contextlib.suppress(Exception):  # already finished or gone: nothing to cancel
                    ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()
        self._owned = False


def create(choice: BackendChoice) -> RayBackend:
    return RayBackend(choice)
