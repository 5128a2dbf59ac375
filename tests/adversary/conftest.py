"""Helpers of the adversary suite: run the real ``mtkd`` command and check what a CI job relies on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

MTKD = str(Path(sys.executable).with_name("mtkd"))
HOSTILE = Path(__file__).with_name("hostile_ops.py")

HANG_GUARD = 180.0
"""Seconds after which a run counts as hung (a safety net far above what any run here needs)."""

SMALL = ("--engine", "search", "--max-inputs", "40", "--budget", "60", "--call-timeout", "1", "--format", "json",
         "--no-corpus")
"""Options of a short verify run: a small input quota and a small per-call limit."""


def mtkd(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run([MTKD, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=HANG_GUARD)


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stdout and "Traceback" not in proc.stderr, proc.stderr[-2000:]


def report(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON report: stdout must be exactly one JSON object, whatever the operator printed."""
    no_traceback(proc)
    data = json.loads(proc.stdout)
    assert isinstance(data, dict) and "results" in data, proc.stdout[:500]
    return data


def assert_usage_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit 2, nothing on stdout, one paragraph on stderr containing every fragment."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-500:], proc.stderr[-2000:])
    no_traceback(proc)
    assert proc.stdout == ""
    text = " ".join(proc.stderr.split())
    for fragment in fragments:
        assert fragment in text, (fragment, text)
    return text
