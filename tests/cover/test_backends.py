"""Backends: the same seed gives the same JSON on local (in-process or a pool), dask and ray.

Dask runs on a ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` and Ray on a
local ``ray.init(num_cpus=2)``; each is skipped with a reason when not installed. Quotas are
small: each comparison is a few hundred inputs.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mtkd.cli import main
from mtkd.counterexamples import SearchConfig, search_property
from mtkd.counterexamples.backends import BackendChoice, BackendKind, WorkerLost, in_order, open_backend
from mtkd.counterexamples.backends.local import LocalBackend
from mtkd.counterexamples.search import batch_for_memory
from mtkd.engines import Engine
from mtkd.operators import load_operator, wrap_callable
from mtkd.reports.conformance import build
from mtkd.results import Verdict
from mtkd.theorems import get_property
from mtkd.verify import VerifyOptions, verify, verify_all

SEARCH = ["search", "geometric", "thm-IV.7", "--max-inputs", "600", "--seed", "3", "--format", "json"]
TIMING = ("seconds", "time_to_first", "time_to_first_certified")
RAY_MISSING = "ray is not installed (optional extra [ray]; not in CI: too large)"


def comparable(data: Any) -> Any:
    """The JSON without the ``run`` and ``provenance`` blocks (where and how it was invoked) and timing
    fields: what must not depend on the backend."""
    if isinstance(data, dict):
        return {k: comparable(v) for k, v in data.items() if k not in ("run", "provenance") and k not in TIMING}
    if isinstance(data, list):
        return [comparable(v) for v in data]
    return data


def cli_json(*args: str) -> dict[str, Any]:
    res = CliRunner().invoke(main, list(args))
    assert res.exit_code in (0, 1), res.output
    return json.loads(res.stdout)


@pytest.fixture(scope="module")
def local_json() -> dict[str, Any]:
    return cli_json(*SEARCH, "--workers", "1")


def _die_once(marker: str) -> int:
    """Kills its own worker process the first time (no marker yet), returns 7 when run again."""
    path = Path(marker)
    if not path.exists():
        path.write_text("died once")
        os._exit(3)
    return 7


# ---------------------------------------------------------------------------------------- local


def test_in_order_yields_by_index_and_reports_arrival() -> None:
    seen: list[int] = []
    assert list(in_order([(2, "c"), (0, "a"), (1, "b")], 3, lambda i, r: seen.append(i))) == ["a", "b", "c"]
    assert seen == [2, 0, 1]
    with pytest.raises(WorkerLost):
        list(in_order([(1, "b")], 2, None))


def test_local_pool_gives_the_json_of_one_process(local_json: dict[str, Any]) -> None:
    pooled = cli_json(*SEARCH, "--workers", "2")
    assert local_json["results"][0]["verdict"] == "refuted"
    assert comparable(pooled) == comparable(local_json)
    assert pooled["run"] == {"backend": "local", "workers": 2} and local_json["run"]["workers"] == 1


def test_open_backend_starts_every_worker_before_the_run() -> None:
    # Start-up (processes, imports) happens here, outside the run's --budget wall.
    with open_backend(BackendChoice(BackendKind.LOCAL, 2)) as backend:
        assert isinstance(backend, LocalBackend) and backend._pool is not None
        assert len(backend._pool._processes) == 2  # type: ignore[attr-defined]


def test_local_pool_reruns_the_task_of_a_lost_worker(tmp_path: Path) -> None:
    with LocalBackend(2) as backend:
        assert list(backend.map(_die_once, [str(tmp_path / "a"), str(tmp_path / "b")])) == [7, 7]


def test_in_memory_operator_falls_back_to_this_process() -> None:
    geometric = load_operator("geometric")
    op = wrap_callable(geometric.func, "in-memory geometric")  # a spec no worker can load
    config = SearchConfig(seed=1, max_inputs=400, shrink_seconds=0)
    prop = get_property("thm-IV.7")
    with LocalBackend(2) as pool:
        pooled = search_property(op, prop, config, backend=pool)
    assert pooled.verdict is Verdict.REFUTED
    assert comparable(pooled.to_json()) == comparable(search_property(op, prop, config).to_json())
    with LocalBackend(2) as pool:
        report = verify_all([(op, VerifyOptions(properties=("axiom1",), max_inputs=100, corpus=None,
                                                engine=Engine.SEARCH))], pool)[0]
    assert report.run["backend"] == "local" and "in-memory geometric" in report.run["note"]


def test_verify_jobs_on_a_pool_match_one_process() -> None:
    options = VerifyOptions(properties=("axiom3", "prop-IV.11"), max_inputs=300, corpus=None, seed=2,
                            engine=Engine.SEARCH)
    op = load_operator("power:alpha=2")
    with LocalBackend(2) as pool:
        pooled = verify(op, options, backend=pool)
    assert comparable(pooled.to_json()) == comparable(verify(op, options).to_json())
    assert pooled.run == {"backend": "local", "workers": 2}


def test_forms_check_guards_jobs_on_a_pool_as_in_one_process() -> None:
    # A precise form that computes another pool: every property that rests on the operator is an
    # error on a pool of workers too (the check runs on the client before any job is shipped).
    zoo = Path(__file__).parents[1] / "zoo_operators.py"
    op = load_operator(f"{zoo}:lying_precise")
    options = VerifyOptions(properties=("axiom2", "thm-IV.2"), max_inputs=100, corpus=None, engine=Engine.SEARCH)
    with LocalBackend(2) as pool:
        pooled = verify(op, options, backend=pool)
    axiom2, operator_free = pooled.results
    assert axiom2.verdict is Verdict.ERROR and axiom2.method == "forms check"
    assert "disagrees with op(P, T, w)" in axiom2.message
    assert operator_free.verdict is not Verdict.ERROR  # thm-IV.2 does not call the operator
    assert comparable(pooled.to_json()) == comparable(verify(op, options).to_json())


def test_scheduler_without_an_engine_is_a_usage_error() -> None:
    res = CliRunner().invoke(main, ["search", "linear", "axiom1", "--scheduler", "tcp://127.0.0.1:1"])
    assert res.exit_code == 2 and "--backend dask or ray" in res.output


def test_memory_bound_cuts_the_batch_only_at_large_sizes() -> None:
    assert batch_for_memory(64, ((5, 64), (3, 2)), 1024) == 64
    assert batch_for_memory(64, ((8, 4096),), 1024) == 64
    assert batch_for_memory(64, ((8, 32768),), 1024) == 51
    assert batch_for_memory(64, ((8, 131072),), 1024) == 12
    assert batch_for_memory(64, ((8, 131072),), 256) == 4


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_ctrl_c_cancels_and_exits_130(tmp_path: Path, backend: str) -> None:
    if backend == "ray":
        pytest.importorskip("ray", reason=RAY_MISSING)
    proc = subprocess.Popen([str(Path(sys.executable).parent / "mtkd"), "search", "linear", "axiom1", "--workers", "2",
                             "--budget", "60", "--max-inputs", "10000000", "--backend", backend],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    assert proc.stderr is not None
    line = proc.stderr.readline()  # printed once the backend is up, before the hunt starts
    assert "mtkd search linear axiom1" in line, line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err and out == ""


# ----------------------------------------------------------------------------------------- dask


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed (extra [dask])")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=50) as cluster:
        yield cluster.scheduler_address


def test_dask_gives_the_json_of_one_process(dask_scheduler: str, local_json: dict[str, Any]) -> None:
    on_dask = cli_json(*SEARCH, "--backend", "dask", "--scheduler", dask_scheduler)
    assert comparable(on_dask) == comparable(local_json)
    assert on_dask["run"] == {"backend": "dask", "workers": 2, "scheduler": dask_scheduler}


def test_dask_verify_jobs_match_one_process(dask_scheduler: str) -> None:
    # geometric's axiom3 find has a transcendental margin (logs): exact arithmetic on it used to run for
    # minutes in a dask worker thread, where no alarm stops it, and the jobs ended unknown/budget.
    args = ["verify", "geometric", "-p", "axiom3", "-p", "def-IV.1", "--engine", "search", "--no-corpus",
            "--max-inputs", "300", "--format", "json"]
    on_dask = cli_json(*args, "--backend", "dask", "--scheduler", dask_scheduler)
    assert [r["verdict"] for r in on_dask["results"]] == ["refuted", "refuted"]
    assert comparable(on_dask) == comparable(cli_json(*args))


def test_dask_report_runs_the_derivations_as_tasks(dask_scheduler: str) -> None:
    # Each operator's sympy derivations are a task too (they were the report's serial client-side
    # part); the data is the in-process build's, and the one bar counts them as jobs.
    specs = ("power:alpha=2.8", "max")
    options = VerifyOptions(properties=("axiom1",), max_inputs=20, corpus=None, engine=Engine.SEARCH)
    ticks: list[tuple[int, int]] = []
    with open_backend(BackendChoice(BackendKind.DASK, 2, dask_scheduler)) as backend:
        on_dask = build(specs, options, backend=backend, done=lambda n, total: ticks.append((n, total)))
    here = build(specs, options)
    assert [spec for spec, _ in on_dask["derivations"]] == list(specs)
    assert on_dask["derivations"] == here["derivations"]
    assert comparable([r.to_json() for r in on_dask["reports"] + on_dask["closed"]]) == \
        comparable([r.to_json() for r in here["reports"] + here["closed"]])
    assert ticks[-1] == (6, 6) and sorted(n for n, _ in ticks) == list(range(1, 7))  # 4 jobs + 2 derivations


def test_dask_worker_that_cannot_load_the_operator_gives_an_error_verdict(dask_scheduler: str, tmp_path: Path) -> None:
    source = tmp_path / "vanishing.py"
    source.write_text("def pool(P, T, w):\n    return w @ P\n")
    op = load_operator(f"{source}:pool")
    source.unlink()  # loaded here, gone for the workers
    with open_backend(BackendChoice(BackendKind.DASK, 2, dask_scheduler)) as backend:
        r = search_property(op, get_property("axiom1"), SearchConfig(max_inputs=200), backend=backend)
    assert r.verdict is Verdict.ERROR
    assert "could not load operator" in r.message and "does not exist" in r.message


def test_dask_reruns_the_task_of_a_lost_worker(dask_scheduler: str, tmp_path: Path) -> None:
    with open_backend(BackendChoice(BackendKind.DASK, 2, dask_scheduler)) as backend:
        assert list(backend.map(_die_once, [str(tmp_path / "a")])) == [7]


# ------------------------------------------------------------------------------------------ ray


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    ray = pytest.importorskip("ray", reason=RAY_MISSING)
    # Ray workers cannot import this test module (pytest put its folder on the path here only): the
    # helper tasks below travel by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    yield  # the backend finds Ray initialised and uses it
    ray.shutdown()
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_ray_gives_the_json_of_one_process(ray_local: None, local_json: dict[str, Any]) -> None:
    on_ray = cli_json(*SEARCH, "--backend", "ray")
    assert comparable(on_ray) == comparable(local_json)
    assert on_ray["run"]["backend"] == "ray" and on_ray["run"]["workers"] == 2


def test_ray_verify_jobs_match_one_process(ray_local: None, tmp_path: Path) -> None:
    # A file-spec operator travels by its path (the workers load it) and a built-in by its name.
    source = tmp_path / "pools.py"
    source.write_text("def pool(P, T, w):\n    return w @ P\n")
    args = ["-p", "axiom3", "-p", "def-IV.1", "--engine", "search", "--no-corpus", "--max-inputs", "300",
            "--format", "json"]
    verdicts = []
    for spec in ("geometric", f"{source}:pool"):
        on_ray = cli_json("verify", spec, *args, "--backend", "ray")
        assert on_ray["run"]["backend"] == "ray" and "note" not in on_ray["run"]
        assert comparable(on_ray) == comparable(cli_json("verify", spec, *args))
        verdicts += [r["verdict"] for r in on_ray["results"]]
    assert verdicts == ["refuted"] * 4


def test_ray_worker_that_cannot_load_the_operator_gives_an_error_verdict(ray_local: None, tmp_path: Path) -> None:
    source = tmp_path / "vanishing.py"
    source.write_text("def pool(P, T, w):\n    return w @ P\n")
    op = load_operator(f"{source}:pool")
    source.unlink()  # loaded here, gone for the workers
    with open_backend(BackendChoice(BackendKind.RAY, 2)) as backend:
        r = search_property(op, get_property("axiom1"), SearchConfig(max_inputs=200), backend=backend)
    assert r.verdict is Verdict.ERROR
    assert "could not load operator" in r.message and "does not exist" in r.message


def test_ray_reruns_the_task_of_a_lost_worker_and_reports_progress(ray_local: None, tmp_path: Path) -> None:
    seen: list[int] = []
    with open_backend(BackendChoice(BackendKind.RAY, 2)) as backend:
        results = list(backend.map(_die_once, [str(tmp_path / "a"), str(tmp_path / "b")],
                                   lambda i, _: seen.append(i)))
    assert results == [7, 7] and sorted(seen) == [0, 1]


def _pid_then_block(marker: str) -> int:
    """Writes its process id to ``marker`` (when given) and blocks; returns 0 at once without one."""
    if not marker:
        return 0
    Path(marker).write_text(str(os.getpid()))
    threading.Event().wait()
    return 1


def test_ray_stopping_early_kills_the_running_tasks(ray_local: None, tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    with open_backend(BackendChoice(BackendKind.RAY, 2)) as backend:
        results = backend.map(_pid_then_block, ["", str(marker)])
        assert next(results) == 0
        for _ in range(600):  # hang guard: the blocking task starts within seconds
            if marker.exists() and marker.read_text():
                break
            threading.Event().wait(0.2)
        pid = int(marker.read_text())
        results.close()  # what Ctrl-C does to the gathering generator
        for _ in range(600):  # hang guard: force-cancelling kills the worker process
            if not Path(f"/proc/{pid}").exists():
                break
            threading.Event().wait(0.2)
        assert not Path(f"/proc/{pid}").exists()
