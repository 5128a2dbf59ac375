"""Local vs dask on one machine: a large-V hunt and a power-mean sweep, time and peak memory per worker.

Reproduce (writes bench/distributed.json; the numbers in bench/distributed.md come from it):

    .venv/bin/pip install -e ".[bench]"        # dask[distributed] is in the bench extra
    nice -n 10 .venv/bin/python bench/distributed.py --sweep-inputs 100   # what distributed.md reports
    nice -n 10 .venv/bin/python bench/distributed.py --runs startup,hunt-131k   # a subset

Every measurement runs in a fresh Python process (``--one``), so peak resident memory is that
run's: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` for the client (which is the only worker on
the in-process local backend), and ``ru_maxrss`` of each dask worker process, read by
``Client.run`` on a fresh ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``.
The local pool's forkserver workers are not children of the client, so only their time is shown.

Runs:

* ``hunt-32k``: ``mtkd search geometric thm-IV.7 --v 32768 --k 8`` (``--call-timeout 600``: the
  one certification at K * V = 262144 entries takes longer than the default 5 s per precise call);
* ``sweep``: ``mtkd report`` on 20 power means, alpha on a grid in [-4, 4] (no 0), engine search;
  its JSON and its documents up to the provenance block are compared across backends;
* ``hunt-131k``: the same hunt at V = 131072 with ``--memory-mb 1024``: the batch is cut to 12
  inputs so that one search step stays within the bound;
* ``sweep-jobs``: the sweep's 800 operator x property x domain jobs alone (``verify_all``), without
  the report's derivations (one backend task per operator) and its client-side family theorems
  and rendering;
* ``startup``: seconds from ``open_backend`` to workers that have imported the task modules (not
  counted in any ``--budget``).

Each row records the 1-minute load average when the run started: the team machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ALPHAS = [round(float(a), 2) for a in np.linspace(-4, 4, 21) if abs(a) > 1e-9]
"""20 values of alpha, -4 .. 4 in steps of 0.4, without 0 (the geometric limit, not a power mean)."""
SWEEP = [f"power:alpha={a:g}" for a in ALPHAS]
HERE = Path(__file__).resolve().parent
# Run as a script, this file's folder leads sys.path and this module would shadow the `distributed`
# package (dask) it benchmarks.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _usage() -> tuple[float, float]:
    """This process's peak resident MB and CPU seconds (run in a dask worker by ``Client.run``)."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_maxrss / 1024, ru.ru_utime + ru.ru_stime


def _proc_usage(pid: int) -> tuple[float, float]:
    """Peak resident MB (VmHWM) and CPU seconds of a live process that is not our child."""
    status = Path(f"/proc/{pid}/status").read_text()
    peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return peak_kb / 1024, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _record_pool_workers(into: list[tuple[float, float]]) -> None:
    """Read the local pool's workers' peak memory and CPU just before the pool shuts down (its forkserver
    workers are not our children, so ``getrusage`` cannot see them)."""
    from mtkd.counterexamples.backends.local import LocalBackend

    close = LocalBackend.close

    def recording_close(self: LocalBackend) -> None:
        if self._pool is not None:
            into.extend(_proc_usage(p.pid) for p in self._pool._processes.values())  # type: ignore[attr-defined]
        close(self)

    LocalBackend.close = recording_close  # type: ignore[method-assign]


def _hunt_args(v: int, memory_mb: int) -> list[str]:
    return ["search", "geometric", "thm-IV.7", "--v", str(v), "--k", "8", "--call-timeout", "600",
            "--budget", "600", "--memory-mb", str(memory_mb), "--format", "json"]


def startup(backend: str, workers: int) -> dict[str, Any]:
    """Seconds to start the backend's workers (processes, imports); ``--budget`` counts only after this."""
    from mtkd.counterexamples.backends import BackendChoice, BackendKind, open_backend

    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    with open_backend(BackendChoice(BackendKind(backend), workers)):
        seconds = time.perf_counter() - t0
    return {"run": "startup", "backend": backend, "workers": workers, "seconds": round(seconds, 2),
            "load_avg": round(load, 1), "comparable": None}


def sweep_jobs(backend: str, workers: int, max_inputs: int, load: float) -> dict[str, Any]:
    """The sweep's operator x property x domain jobs on the backend (what ``mtkd report`` distributes)."""
    from dataclasses import replace

    from mtkd.counterexamples.backends import BackendChoice, BackendKind, open_backend
    from mtkd.engines import Engine
    from mtkd.operators import load_operator
    from mtkd.theorems import Domain
    from mtkd.verify import VerifyOptions, verify_all

    options = VerifyOptions(max_inputs=max_inputs, engine=Engine.SEARCH, budget=600)
    ops = [load_operator(spec) for spec in SWEEP]
    runs = [(op, options) for op in ops] + [(op, replace(options, domain=Domain.CLOSED, corpus=None)) for op in ops]
    workers_rss: list[float] = []
    with open_backend(BackendChoice(BackendKind(backend), workers)) as runner:
        t0 = time.perf_counter()
        reports = verify_all(runs, runner)
        seconds = time.perf_counter() - t0
        if backend == "dask":
            rss = runner._client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # type: ignore[attr-defined]
            workers_rss = sorted(rss.values())
    verdicts = [r.verdict.value for rep in reports for r in rep.results]
    return {"run": "sweep-jobs", "backend": backend, "workers": workers, "seconds": round(seconds, 1),
            "load_avg": round(load, 1), "jobs": len(verdicts), "client_peak_mb": round(_maxrss_mb()),
            "worker_peak_mb": [round(x) for x in workers_rss],
            "verdicts": {v: verdicts.count(v) for v in sorted(set(verdicts))},
            "comparable": _comparable([rep.to_json() for rep in reports])}


def one(run: str, backend: str, workers: int, sweep_inputs: int) -> dict[str, Any]:
    """One measurement, in this (fresh) process."""
    from click.testing import CliRunner

    from mtkd.cli import main

    if run == "startup":
        return startup(backend, workers)
    load = os.getloadavg()[0]
    if run == "sweep-jobs":
        return sweep_jobs(backend, workers, sweep_inputs, load)
    if run == "sweep":
        out = Path(tempfile.mkdtemp(prefix="mtkd-sweep-"))
        args = ["report", "--out", str(out), "--engine", "search", "--max-inputs", str(sweep_inputs)]
        args += [a for spec in SWEEP for a in ("--operator", spec)]
    else:
        args = _hunt_args(32768 if run == "hunt-32k" else 131072, 1024)
    args += ["--backend", backend, "--workers", str(workers)]
    used: list[tuple[float, float]] = []  # per worker: peak MB, CPU s
    client_cpu = _usage()[1]
    if backend == "dask":
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                          silence_logs=50) as cluster, Client(cluster) as client:
            start_cpu = client.run(_usage)
            t0 = time.perf_counter()
            res = CliRunner().invoke(main, args + ["--scheduler", cluster.scheduler_address])
            seconds = time.perf_counter() - t0
            used = [(peak, cpu - start_cpu[w][1]) for w, (peak, cpu) in sorted(client.run(_usage).items())]
    else:
        _record_pool_workers(used)
        t0 = time.perf_counter()
        res = CliRunner().invoke(main, args)
        seconds = time.perf_counter() - t0
    summary: dict[str, Any] = {"run": run, "backend": backend, "workers": workers, "seconds": round(seconds, 1),
                               "load_avg": round(load, 1),
                               "exit_code": res.exit_code, "client_peak_mb": round(_maxrss_mb()),
                               "client_cpu_s": round(_usage()[1] - client_cpu, 1),
                               "worker_peak_mb": [round(peak) for peak, _ in used],
                               "worker_cpu_s": [round(cpu, 1) for _, cpu in used]}
    if run == "sweep":
        data = json.loads((out / "conformance.json").read_text())
        verdicts = [r["verdict"] for rep in data["operators"] + data["closed_domain"] for r in rep["results"]]
        summary["verdicts"] = {v: verdicts.count(v) for v in sorted(set(verdicts))}
        # The matrix, derivations and errata as written, up to the provenance block (run time, command).
        documents = [(out / name).read_text().split("## Provenance")[0] for name in ("conformance.md", "errata.md")]
        summary["comparable"] = [_comparable(data), documents]
    else:
        data = json.loads(res.stdout)
        r = data["results"][0]
        summary.update(verdict=r["verdict"], certified=r["certified"], scope=r["scope"],
                       inputs=r.get("extra", {}).get("inputs"),
                       time_to_first_certified=r.get("extra", {}).get("time_to_first_certified"))
        summary["comparable"] = _comparable(data)
    return summary


def _comparable(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _comparable(v) for k, v in data.items()
                if k not in ("run", "provenance", "seconds", "time_to_first", "time_to_first_certified")}
    if isinstance(data, list):
        return [_comparable(v) for v in data]
    return data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--one", nargs=3, metavar=("RUN", "BACKEND", "WORKERS"))
    parser.add_argument("--sweep-inputs", type=int, default=6000, help="--max-inputs per property of the sweep")
    parser.add_argument("--runs", default="startup,hunt-32k,sweep,hunt-131k")
    args = parser.parse_args()
    if args.one:
        run, backend, workers = args.one
        print(json.dumps(one(run, backend, int(workers), args.sweep_inputs)))
        return
    plan = {"startup": [("local", 2), ("dask", 2)],
            "hunt-32k": [("local", 1), ("local", 2), ("dask", 2)],
            "sweep": [("local", 2), ("dask", 2)],
            "sweep-jobs": [("local", 2), ("dask", 2)],
            "hunt-131k": [("local", 1), ("dask", 2)]}
    results = []
    for run in args.runs.split(","):
        for backend, workers in plan[run]:
            cmd = [sys.executable, __file__, "--one", run, backend, str(workers), "--sweep-inputs", str(args.sweep_inputs)]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                print(proc.stderr[-2000:], file=sys.stderr)
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(r)
            print({k: v for k, v in r.items() if k != "comparable"}, flush=True)
    for run in {r["run"] for r in results if r["run"] != "startup"}:
        same = {json.dumps(r["comparable"], sort_keys=True) for r in results if r["run"] == run}
        print(f"{run}: identical JSON across backends: {len(same) == 1}")
    # Merge with earlier runs (--runs measures a subset): a re-measured (run, backend, workers) replaces its row.
    path = HERE / "distributed.json"
    rows = {(r["run"], r["backend"], r["workers"]): r for r in (json.loads(path.read_text()) if path.exists() else [])}
    rows.update({(r["run"], r["backend"], r["workers"]): {k: v for k, v in r.items() if k != "comparable"}
                 for r in results})
    path.write_text(json.dumps(list(rows.values()), indent=2))


if __name__ == "__main__":
    main()
