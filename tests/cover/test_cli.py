"""``mtkd verify`` on bad input (exit 2, one paragraph) and on misbehaving operators (error verdicts)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MTKD = str(Path(sys.executable).with_name("mtkd"))


def run(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "100", **(env or {})}
    return subprocess.run([MTKD, *args], capture_output=True, text=True, cwd=cwd, env=full_env, timeout=timeout)


def assert_usage_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert proc.stdout == ""
    # One paragraph says what is wrong (click's usage errors put a "Usage:" header before it).
    paragraphs = [p for p in proc.stderr.strip().split("\n\n") if "rror:" in p]
    assert len(paragraphs) == 1, proc.stderr
    text = " ".join(paragraphs[0].split())
    for fragment in fragments:
        assert fragment in text, (fragment, proc.stderr)


@pytest.mark.parametrize("spec,fragments", [
    ("nonsense", ("Unknown operator 'nonsense'", "linear, geometric, power, entropic, max")),
    ("user_ops.py:nope", ("has no attribute 'nope'", "good")),
    ("user_ops.py:NOT_CALLABLE", ("is a int, not callable",)),
    ("broken_ops.py:f", ("ImportError: broken on purpose",)),
    ("no_such_module_mtkd_test:f", ("Could not import module", "ModuleNotFoundError")),
    ("power:alpha=two", ("alpha='two' is not a number",)),
    ("power:gamma=1", ("'gamma=1' is not a parameter of power", "alpha")),
    ("entropic:beta=-3", ("beta > -1",)),
])
def test_bad_operator_specs_exit_2_without_traceback(spec: str, fragments: tuple[str, ...], user_ops: Path) -> None:
    proc = run("verify", spec, "--engine", "search", cwd=user_ops.parent)
    assert_usage_error(proc, "error:", *fragments)


def test_unknown_property_lists_the_valid_ids() -> None:
    proc = run("verify", "linear", "-p", "axiom9")
    assert_usage_error(proc, "'axiom9' is not one of", "'axiom1'", "'axiom5'", "'assumption-L'", "'prop-IV.11'",
                       "'cor-IV.12'")


@pytest.mark.parametrize("option,value,fragment", [
    ("--budget", "-1", "-1.0 is not in the range x>0"),
    ("--budget", "0", "is not in the range x>0"),
    ("--max-inputs", "0", "x>=1"),
    ("--call-timeout", "-2", "x>0"),
    ("--engine", "magic", "'magic' is not one of 'all', 'symbolic', 'smt', 'search'"),
])
def test_out_of_range_options_exit_2_with_valid_values(option: str, value: str, fragment: str) -> None:
    assert_usage_error(run("verify", "linear", option, value), fragment)


def test_list_shows_builtins_and_every_property_id() -> None:
    proc = run("list")
    assert proc.returncode == 0
    for name in ("linear", "geometric", "power", "entropic", "max", "[alpha:", "[beta:"):
        assert name in proc.stdout
    for pid in ("axiom1", "axiom1-hull", "axiom3", "assumption-L-separable", "def-IV.1", "thm-IV.9", "cor-IV.12"):
        assert f"  {pid} " in proc.stdout


def test_user_operator_by_module_and_by_file(user_ops: Path) -> None:
    args = ("-p", "axiom1", "-p", "axiom5", "--engine", "search", "--max-inputs", "64", "--format", "json")
    by_module = run("verify", "user_ops:good", *args, env={"PYTHONPATH": str(user_ops.parent)})
    by_file = run("verify", str(user_ops) + ":good", *args)
    for proc in (by_module, by_file):
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        assert report["capabilities"] == ["single", "precise (derived from the code)"]
        assert [r["verdict"] for r in report["results"]] == ["not-refuted", "not-refuted"]
        assert any("precise form derived from the operator's code" in note for note in report["limitations"])


BUDGET = 120.0
"""--budget is a hard wall for the run: set far above what these runs need, so that a loaded
machine cannot turn their verdicts into "unknown (budget)". The subprocess timeout is the hang guard."""


@pytest.mark.parametrize("attr,fragment", [
    ("raises", "raised RuntimeError: boom from user code"),
    ("wrong_shape", "returned shape (1,), expected (2,)"),  # the search starts at K=1, V=2
    ("returns_nan", "non-finite value (NaN or inf)"),
    ("hangs", "did not return within 0.3 s"),
])
def test_misbehaving_operator_gives_error_verdicts_and_keeps_going(attr: str, fragment: str, user_ops: Path) -> None:
    proc = run("verify", f"{user_ops}:{attr}", "-p", "axiom1", "-p", "axiom3", "-p", "thm-IV.2", "--engine", "search",
               "--budget", str(BUDGET), "--call-timeout", "0.3", "--format", "json", timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    verdicts = {r["property"]: r for r in report["results"]}
    assert list(verdicts) == ["axiom1", "axiom3", "thm-IV.2"]
    for pid in ("axiom1", "axiom3"):
        r = verdicts[pid]
        assert r["verdict"] == "error" and r["counterexample"] is None
        assert fragment in r["message"]
        # The offending input is in the message.
        assert "P=[[" in r["message"] and "T=[" in r["message"] and "w=[" in r["message"]
    # thm-IV.2 does not call the operator: it is still checked and reported.
    assert verdicts["thm-IV.2"]["verdict"] == "not-refuted"


def test_precise_form_that_raises_falls_back_to_float64(user_ops: Path) -> None:
    proc = run("verify", f"{user_ops}:precise_raises", "-p", "axiom3", "--engine", "search", "--budget", str(BUDGET),
               "--format", "json")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    (r,) = json.loads(proc.stdout)["results"]
    # A geometric pool really fails axiom3, but without a working precise form nothing is certified.
    assert r["verdict"] == "refuted" and r["certified"] is False
    assert r["counterexample"]["precision"].startswith("float64")  # float64 differences at several steps
    assert "conditional on the operator's output" in r["counterexample"]["certificate"]
    assert "precise form failed (RuntimeError: precise boom)" in r["counterexample"]["certificate"]


def test_precise_form_that_hangs_is_an_error_within_budget(user_ops: Path) -> None:
    proc = run("verify", f"{user_ops}:precise_hangs", "-p", "axiom3", "-p", "thm-IV.2", "--engine", "search",
               "--budget", str(BUDGET), "--call-timeout", "0.5", "--format", "json", timeout=300)
    assert proc.returncode == 1, proc.stderr
    verdicts = {r["property"]: r for r in json.loads(proc.stdout)["results"]}
    assert verdicts["axiom3"]["verdict"] == "error"
    assert "did not return within 0.5 s" in verdicts["axiom3"]["message"]
    assert "P=[[" in verdicts["axiom3"]["message"] and "w=[" in verdicts["axiom3"]["message"]
    assert verdicts["thm-IV.2"]["verdict"] == "not-refuted"
