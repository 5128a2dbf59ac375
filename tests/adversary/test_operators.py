"""Hostile operators: never a crash, a hang, a silent exit 0, output on stdout, or a false certificate.

Every run is a real ``mtkd`` process (what a CI job sees): exit code, stdout holding exactly the
JSON report, no traceback. Time limits appear only as hang guards far above what a run needs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import HOSTILE, SMALL, assert_usage_error, mtkd, no_traceback, report

TWO = ("-p", "axiom1", "-p", "axiom2")
"""Two properties the linear pool satisfies: a failure must not stop the second one."""


def assert_errors_everywhere(name: str, *extra: str, fragment: str = "") -> dict:
    proc = mtkd("verify", f"{HOSTILE}:{name}", *TWO, *SMALL, *extra)
    data = report(proc)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert [r["property"] for r in data["results"]] == ["axiom1", "axiom2"]
    for r in data["results"]:
        assert r["verdict"] == "error", r
        assert "P=[[" in r["message"] and "w=[" in r["message"], r["message"]  # the input is named
        assert fragment in r["message"], (fragment, r["message"])
    return data


@pytest.mark.parametrize("workers", ["1", "2"])
def test_os_exit_zero_in_the_operator_is_an_error_not_a_pass(workers: str) -> None:
    assert_errors_everywhere("exits_zero", "--workers", workers, fragment="ended its worker process")


@pytest.mark.parametrize("name,fragment", [
    ("sys_exit_zero", "SystemExit(0)"),
    ("raises_base_exception", "Custom: custom BaseException"),
    ("raises_generator_exit", "GeneratorExit"),
    ("raises_keyboard_interrupt", "KeyboardInterrupt"),
    ("array_raises", "not an array of numbers"),
])
def test_every_kind_of_raise_is_an_error_verdict_and_the_run_goes_on(name: str, fragment: str) -> None:
    assert_errors_everywhere(name, fragment=fragment)


@pytest.mark.parametrize("name", ["hangs_in_c", "disarms_alarm", "catches_alarm"])
def test_hangs_are_stopped_by_the_call_timeout(name: str) -> None:
    # The C-level sleep(100) and the alarm-proof loops would run for minutes (or forever): the
    # hang guard (subprocess timeout) fails the test if --call-timeout does not stop them. Every
    # call of these operators hangs, so no limit can be too short for a loaded machine: 0.3 s
    # (not SMALL's 1 s) only shortens the nine waits (the load probe, then per property and
    # stream the batch and the single call that names the input).
    assert_errors_everywhere(name, "--workers", "1", "--call-timeout", "0.3", fragment="did not return within 0.3 s")


@pytest.mark.parametrize("name", ["leaves_seterr_raise", "leaves_thread", "prints"])
def test_correct_pools_with_side_effects_get_their_true_verdicts(name: str) -> None:
    proc = mtkd("verify", f"{HOSTILE}:{name}", *TWO, *SMALL)
    data = report(proc)  # printing never reaches stdout: it parses as JSON
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert [r["verdict"] for r in data["results"]] == ["not-refuted", "not-refuted"]


def test_monkeypatched_isfinite_cannot_hide_nan_output() -> None:
    assert_errors_everywhere("patched_isfinite", fragment="non-finite value")


def test_mutating_the_input_after_setflags_is_an_error_not_a_refutation() -> None:
    data = assert_errors_everywhere("mutates_after_setflags", fragment="modify its input")
    assert not any(r["certified"] for r in data["results"])


def test_a_batched_property_raising_at_load_is_a_usage_error() -> None:
    assert_usage_error(mtkd("verify", f"{HOSTILE}:batched_property_raises", *SMALL),
                "batched raised RuntimeError", "batched is computed lazily")


@pytest.mark.parametrize("body,fragment", [
    ("import sys\nsys.exit(0)\n", "SystemExit(0)"),
    ("import os\nos._exit(0)\n", "ended the process"),
    ("raise KeyboardInterrupt\n", "KeyboardInterrupt"),
    ("while True:\n    pass\n", "did not finish within 2 s"),
])
def test_import_failures_of_any_kind_are_usage_errors(tmp_path: Path, body: str, fragment: str) -> None:
    (tmp_path / "bad_import.py").write_text(body + "def op(P, T, w):\n    return w @ P\n")
    assert_usage_error(mtkd("verify", f"{tmp_path / 'bad_import.py'}:op", *SMALL, "--import-timeout", "2"), fragment)


def test_replay_of_a_file_naming_a_module_that_exits_at_import(tmp_path: Path) -> None:
    (tmp_path / "exits.py").write_text("import sys\nsys.exit(0)\ndef op(P, T, w):\n    return w @ P\n")
    entry = tmp_path / "entry.json"
    entry.write_text(
        '{"format": 1, "operator": "exits.py:op", "property": "axiom1", "P": [["1/2", "1/2"]], "T": ["1"], '
        '"w": ["1"], "witness": {"token": 0}, "margin": "-1", "certified": false, "certificate": "", "seed": 0}')
    proc = mtkd("replay", str(entry), cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    no_traceback(proc)
    assert "SystemExit(0)" in proc.stderr
