"""No ``error`` verdict for a built-in at V = 100,000 on a busy machine (issue 14).

Reproduce (the run recorded in bench/error_verdicts.md):

    nice .venv/bin/python bench/error_verdicts.py --out bench/error_verdicts.json

Every built-in operator (default parameters) against every property of the catalogue, as a user
types it: ``mtkd search OP PROP --v 100000 --k 3 --max-inputs 8 --budget 20 --workers 1 --format json``
(run in this process through click's test runner, so the 2 s import is paid once), while
``--busy`` processes spin in busy loops at the same niceness, so that every call limit and
deadline runs on a loaded machine. A pair passes when its verdict is anything but ``error`` and
the command raised nothing (an uncaught exception counts as a failure). The busy loops are this
script's own children and are stopped by their pids at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from mtkd.cli import main as cli
from mtkd.operators.registry import BUILTINS
from mtkd.theorems import PROPERTIES

ROOT = Path(__file__).resolve().parents[1]


def run_pair(op: str, pid: str, args: argparse.Namespace) -> dict[str, Any]:
    argv = ["search", op, pid, "--v", str(args.v), "--k", str(args.k), "--max-inputs", str(args.max_inputs),
            "--workers", "1", "--budget", str(args.budget), "--format", "json"]
    cpu, wall = time.process_time(), time.monotonic()
    result = CliRunner().invoke(cli, argv)
    row: dict[str, Any] = {"operator": op, "property": pid, "exit_code": result.exit_code,
                           "cpu_s": round(time.process_time() - cpu, 2), "wall_s": round(time.monotonic() - wall, 2)}
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        row["verdict"] = "exception"
        row["message"] = f"{type(result.exception).__name__}: {result.exception}"
        return row
    try:
        res = json.loads(result.stdout)["results"][0]
    except (ValueError, KeyError, IndexError):
        row["verdict"] = "no-json"
        row["message"] = result.output[-500:]
        return row
    row["verdict"] = res["verdict"]
    row["certified"] = res.get("certified", False)
    if res["verdict"] in ("error", "unknown"):
        row["message"] = res.get("message", "")[:300]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--v", type=int, default=100_000)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--max-inputs", type=int, default=8)
    ap.add_argument("--budget", type=float, default=20.0, help="mtkd search --budget (seconds, a cap)")
    ap.add_argument("--busy", type=int, default=2, help="busy-loop processes kept running meanwhile")
    ap.add_argument("--operators", nargs="+", default=sorted(BUILTINS))
    ap.add_argument("--properties", nargs="+", default=list(PROPERTIES))
    ap.add_argument("--out", default=str(ROOT / "bench" / "error_verdicts.json"))
    args = ap.parse_args()
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    out: dict[str, Any] = {"args": vars(args), "load_start": os.getloadavg(), "rows": []}
    try:
        for op in args.operators:
            for pid in args.properties:
                row = run_pair(op, pid, args)
                out["rows"].append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
                Path(args.out).write_text(json.dumps(out, indent=1) + "\n")  # partial results survive an interruption
    finally:
        for p in busy:
            p.kill()
            p.wait()
    out["load_end"] = os.getloadavg()
    verdicts: dict[str, int] = {}
    for row in out["rows"]:
        verdicts[row["verdict"]] = verdicts.get(row["verdict"], 0) + 1
    out["verdicts"] = verdicts
    out["failures"] = [r for r in out["rows"] if r["verdict"] in ("error", "exception", "no-json")]
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({"verdicts": verdicts, "failures": len(out["failures"])}), file=sys.stderr)


if __name__ == "__main__":
    main()
