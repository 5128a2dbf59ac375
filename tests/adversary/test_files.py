"""Broken corpus files and command lines: skipped or refused in one paragraph, never a crash or hang.

A FIFO named ``*.json`` would block any reader that opens it; deep nesting, non-UTF-8 bytes and
oversized files would crash or stall a naive loader. ``mtkd verify`` must skip them with a
warning, ``mtkd replay`` must report each as that file's failure and still replay the others.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from pathlib import Path

import pytest

from mtkd.counterexamples.corpus import DEFAULT_DIR, MAX_FILE_BYTES, load_entry

from .conftest import assert_usage_error, mtkd, no_traceback, report

GOOD = sorted(DEFAULT_DIR.glob("geometric__axiom3.json"))[0]


def _bad_files(directory: Path) -> dict[str, Path]:
    files = {
        "deep": ("[" * 100_000 + "]" * 100_000).encode(),
        "latin1": b'{"operator": "linear", "property": "axiom1", "note": "\xe9\xff"}',
        "empty": b"",
        "oversized": b'{"pad": "' + b"x" * (MAX_FILE_BYTES + 10) + b'"}',
    }
    out = {}
    for name, data in files.items():
        out[name] = directory / f"{name}.json"
        out[name].write_bytes(data)
    out["fifo"] = directory / "fifo.json"
    os.mkfifo(out["fifo"])
    return out


def test_verify_skips_unusable_corpus_files_with_a_warning(tmp_path: Path) -> None:
    bad = _bad_files(tmp_path)
    shutil.copy(GOOD, tmp_path / GOOD.name)
    proc = mtkd("verify", "geometric", "-p", "axiom3", "--engine", "search", "--max-inputs", "40", "--format", "json",
                "--corpus", str(tmp_path))
    data = report(proc)
    assert proc.returncode == 1
    (r,) = data["results"]
    # The good file still refutes (replayed, certified): the bad ones did not stop verification.
    assert r["verdict"] == "refuted" and r["certified"] and r["method"] == "corpus replay", r
    text = "".join(proc.stderr.split())  # the console wraps long lines anywhere
    for name in bad:
        assert f"{name}.json" in text, (name, proc.stderr)
    for reason in ("not a regular file", "not UTF-8", "too deeply", "is empty", "more than the"):
        assert "".join(reason.split()) in text, (reason, proc.stderr)


def test_replay_reports_each_bad_file_and_replays_the_others(tmp_path: Path) -> None:
    bad = _bad_files(tmp_path)
    proc = mtkd("replay", *map(str, bad.values()), str(GOOD))
    no_traceback(proc)
    assert proc.returncode == 2
    assert f"{GOOD}: geometric / axiom3: stands" in proc.stdout
    assert proc.stderr.count("error:") == len(bad), proc.stderr


def _save_many(directory: str, rounds: int) -> None:
    from mtkd.counterexamples.corpus import load_entry, save
    from mtkd.operators import load_operator
    from mtkd.theorems import get_property

    entry = load_entry(GOOD)
    op, prop = load_operator("geometric"), get_property("axiom3")
    for _ in range(rounds):
        save(op, prop, entry.counterexample, 0, Path(directory))


def test_concurrent_saves_always_leave_a_parseable_file(tmp_path: Path) -> None:
    # bench/save_race.py runs this 500 times; here one round of 4 writers keeps the test short.
    # Each process start (an interpreter importing the tool) costs far more than its saves, so
    # the 60 saves come as 4 writers of 15 (not 3 rounds of 4 writers of 5): the writers' save
    # loops overlap longer, which is what a race needs.
    ctx = multiprocessing.get_context("spawn")
    writers = [ctx.Process(target=_save_many, args=(str(tmp_path), 15)) for _ in range(4)]
    for p in writers:
        p.start()
    for p in writers:
        p.join(120)
        assert p.exitcode == 0
    (saved,) = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    assert load_entry(saved).property == "axiom3"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temporary files left


def test_a_full_disk_gives_a_clear_error_and_no_empty_file(tmp_path: Path) -> None:
    # RLIMIT_FSIZE makes every write beyond 100 bytes fail (EFBIG) as a full disk would (ENOSPC).
    script = (
        "import resource, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))\n"
        "from mtkd.cli import main\n"
        "sys.exit(main())\n")
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", script, "search", "geometric", "axiom3", "--save", "--corpus",
                           str(tmp_path), "--max-inputs", "6000", "--format", "json"],
                          capture_output=True, text=True, timeout=180)
    no_traceback(proc)
    assert json.loads(proc.stdout)["results"][0]["verdict"] == "refuted"  # the report is not lost
    assert proc.returncode == 2 and "Cannot write the counterexample file" in proc.stderr, proc.stderr
    assert list(tmp_path.iterdir()) == []  # neither an empty file nor a temporary one


def test_replay_of_a_hand_edited_float_only_entry_recomputes_the_margin(tmp_path: Path) -> None:
    (tmp_path / "ops.py").write_text(
        "import numpy as np\n"
        "def lin(P, T, w):\n"
        "    z = np.log(P) / T[:, None]\n"
        "    Q = np.exp(z - z.max(axis=1, keepdims=True))\n"
        "    return w @ (Q / Q.sum(axis=1, keepdims=True))\n")
    entry = {"format": 1, "operator": "ops.py:lin", "property": "axiom1", "P": [["1/2", "1/2"], ["1/4", "3/4"]],
             "T": ["1", "1"], "w": ["1/2", "1/2"], "witness": {"token": 0}, "margin": "-0.5", "certified": False,
             "certificate": "float64 only: margin -5e-01 (hand-edited)", "seed": 0}
    (tmp_path / "entry.json").write_text(json.dumps(entry))
    proc = mtkd("replay", "entry.json", cwd=tmp_path)
    no_traceback(proc)
    # The linear pool satisfies axiom1: the file's -0.5 must not be believed.
    assert proc.returncode == 1 and "NO LONGER STANDS" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize("args,fragments", [
    (["verify", "power:alpha=2,alpha=3"], ["'alpha' is given twice"]),
    (["verify", "linear", "--call-timeout", "1e300"], ["--call-timeout", "1e+300"]),
    (["verify", "linear", "--budget", "-1"], ["--budget"]),
    (["verify", "linear", "--call-timeout", "nan"], ["--call-timeout"]),
    (["verify", "x" * 5000 + ".py:op"], ["cannot be used", "File name too long"]),
    (["verify", "/tmp/" + "y" * 300 + ".py:op"], ["File name too long"]),
    (["verify", "linear", "--corpus", "/dev/null"], ["is not a directory"]),
    (["verify", "linear", "--save", "--corpus", "/proc/version/sub"], ["not a directory"]),
    (["search", "linear", "axiom1", "--save", "--corpus", "/proc/1/mtkd-corpus"], ["not writable"]),
    (["verify", "linear", "--corpus", "/tmp/" + "z" * 300], ["--corpus", "File name too long"]),
])
def test_unusable_command_lines_are_usage_errors_before_any_work(args: list[str], fragments: list[str]) -> None:
    assert_usage_error(mtkd(*args), *fragments)
