"""The JSON report is a contract: exact keys, exact-decimal counterexamples, determinism, exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from mtkd.theorems import PROPERTIES

MTKD = str(Path(sys.executable).with_name("mtkd"))

TOP_KEYS = {"operator", "seed", "results"}
TOP_EXTRA_KEYS = {"capabilities", "limitations", "alarms", "options", "provenance", "run"}
RESULT_KEYS = {"property", "verdict", "certified", "method", "scope", "counterexample", "message"}
RESULT_EXTRA_KEYS = {"seconds", "extra"}
CX_KEYS = {"P", "T", "w", "witness", "margin", "precision"}
CX_EXTRA_KEYS = {"certified", "certificate", "explanation"}
VERDICTS = {"proved", "refuted", "not-refuted", "unknown", "error"}
TIMING = {"seconds", "time_to_first", "time_to_first_certified"}
PROVENANCE = "provenance"
"""Date, commit and command line: kept apart from the results and excluded from determinism checks."""

# Few inputs per property (most refutations of geometric come early); no corpus replay, so that
# the search itself, and its seed, produce every counterexample.
ARGS = ("--engine", "search", "--format", "json", "--max-inputs", "800", "--budget", "300", "--no-corpus")


def verify_json(spec: str, *extra: str, hash_seed: str = "0") -> tuple[int, dict[str, Any]]:
    # PYTHONHASHSEED fixed per run, so that a test can change it: set and dict-key orders of str
    # differ between processes, and none of that may reach the report.
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    proc = subprocess.run([MTKD, "verify", spec, *ARGS, *extra], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def geometric_seed0() -> tuple[int, dict[str, Any]]:
    return verify_json("geometric", "--seed", "0")


WALL_CLOCK = re.compile(r"in \d+\.\d+ s\b")


def _strip_timing(obj: Any) -> Any:
    """Drop the timing fields; wall-clock figures inside messages become ``in <t> s`` (see below)."""
    if isinstance(obj, dict):
        return {k: _strip_timing(v) for k, v in obj.items() if k not in TIMING and k != PROVENANCE}
    if isinstance(obj, list):
        return [_strip_timing(v) for v in obj]
    if isinstance(obj, str):
        return WALL_CLOCK.sub("in <t> s", obj)
    return obj


def test_top_level_and_result_keys(geometric_seed0: tuple[int, dict[str, Any]]) -> None:
    _, report = geometric_seed0
    assert set(report) == TOP_KEYS | TOP_EXTRA_KEYS
    assert report["operator"] == "geometric" and report["seed"] == 0
    assert {"tool_version", "git_commit", "python", "numpy", "sympy", "mpmath", "z3", "date",
            "command"} == set(report["provenance"]) and "verify geometric" in report["provenance"]["command"]
    assert report["options"]["engine"] == "search" and report["options"]["max_inputs"] == 800
    assert [r["property"] for r in report["results"]] == list(PROPERTIES)
    for r in report["results"]:
        assert RESULT_KEYS <= set(r) <= RESULT_KEYS | RESULT_EXTRA_KEYS, set(r) ^ RESULT_KEYS
        assert r["verdict"] in VERDICTS
        assert isinstance(r["certified"], bool)
        assert all(isinstance(r[k], str) for k in ("method", "scope", "message"))
        assert r["certified"] is (r["verdict"] == "refuted" and r["counterexample"]["certified"])
        assert (r["counterexample"] is not None) == (r["verdict"] == "refuted")


def test_counterexamples_are_exact_decimal_strings(geometric_seed0: tuple[int, dict[str, Any]]) -> None:
    _, report = geometric_seed0
    cxs = [r["counterexample"] for r in report["results"] if r["counterexample"] is not None]
    assert len(cxs) >= 5
    for cx in cxs:
        assert CX_KEYS <= set(cx) <= CX_KEYS | CX_EXTRA_KEYS
        P = [[Fraction(x) for x in row] for row in cx["P"]]
        T = [Fraction(t) for t in cx["T"]]
        w = [Fraction(x) for x in cx["w"]]
        assert all(isinstance(x, str) for row in cx["P"] for x in row)
        assert all(isinstance(x, str) for x in cx["T"] + cx["w"] + [cx["margin"], cx["precision"]])
        # Exactly on the simplex, not merely to float precision.
        assert all(sum(row) == 1 for row in P) and sum(w) == 1
        assert all(x >= 0 for row in P for x in row) and all(x >= 0 for x in w) and all(t > 0 for t in T)
        assert len(T) == len(w) == len(P) and len({len(row) for row in P}) == 1
        margin = Fraction(cx["margin"])
        assert margin <= 0
        assert isinstance(cx["witness"], dict) and cx["witness"]


def test_same_seed_same_json_different_seed_differs(geometric_seed0: tuple[int, dict[str, Any]]) -> None:
    _, first = geometric_seed0
    _, again = verify_json("geometric", "--seed", "0", hash_seed="1")
    # Compared as text, key order included: the same seed gives the same file in any process.
    assert json.dumps(_strip_timing(again)) == json.dumps(_strip_timing(first))
    _, other = verify_json("geometric", "--seed", "1")
    assert other["seed"] == 1
    # Not required to differ everywhere, but a seed that changed nothing would be ignored.
    cx0 = [r["counterexample"] for r in first["results"] if r["counterexample"]]
    cx1 = [r["counterexample"] for r in other["results"] if r["counterexample"]]
    assert [c["P"] for c in cx0] != [c["P"] for c in cx1]


def test_messages_carry_no_wall_clock_time(geometric_seed0: tuple[int, dict[str, Any]]) -> None:
    _, report = geometric_seed0
    assert not [r["property"] for r in report["results"] if WALL_CLOCK.search(r["message"])]


def test_exit_codes() -> None:
    code, report = verify_json("linear", "-p", "axiom1", "-p", "axiom3")
    assert code == 0 and {r["verdict"] for r in report["results"]} == {"not-refuted"}
    code, report = verify_json("geometric", "-p", "def-IV.1")
    assert code == 1 and report["results"][0]["verdict"] == "refuted"
    usage = subprocess.run([MTKD, "verify", "geometric", "--seed", "x"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and usage.stdout == ""


@pytest.mark.parametrize("fmt,marker", [("text", "mtkd verify linear"), ("markdown", "| `axiom1` |")])
def test_other_formats_render_the_same_verdicts(fmt: str, marker: str) -> None:
    proc = subprocess.run([MTKD, "verify", "linear", "-p", "axiom1", "--engine", "search", "--max-inputs", "64",
                           "--format", fmt], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert marker in proc.stdout and "not-refuted" in proc.stdout
