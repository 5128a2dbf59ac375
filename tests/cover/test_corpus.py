"""The committed corpus replays, and broken files give named, one-paragraph errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mtkd.cli import main
from mtkd.counterexamples.corpus import DEFAULT_DIR, load_entry, replay
from mtkd.errors import CorruptCounterexampleError

FILES = sorted(DEFAULT_DIR.glob("*.json"))
# linear is absent: the search refutes none of its properties.
REFUTED_BUILTINS = {"geometric", "power:alpha=-1", "power:alpha=0.5", "power:alpha=2", "entropic:beta=0.5", "max"}


def test_corpus_covers_the_refuted_builtins_minimally() -> None:
    entries = [load_entry(f) for f in FILES]
    assert {e.operator for e in entries} == REFUTED_BUILTINS
    assert all(e.counterexample.K <= 3 and e.counterexample.V <= 4 for e in entries)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_committed_entry_stands(path: Path) -> None:
    r = replay(path)
    assert r.stands, r.message
    assert r.entry is not None and r.entry.counterexample.certified


def _copy(tmp_path: Path, edit) -> Path:
    data = json.loads(FILES[0].read_text())
    edit(data)
    out = tmp_path / "edited.json"
    out.write_text(json.dumps(data))
    return out


def test_missing_field_is_named(tmp_path: Path) -> None:
    with pytest.raises(CorruptCounterexampleError, match="'witness'"):
        load_entry(_copy(tmp_path, lambda d: d.pop("witness")))


def test_non_numeric_entry_is_named(tmp_path: Path) -> None:
    def edit(d):
        d["P"][0][0] = "zero point one"

    with pytest.raises(CorruptCounterexampleError, match="'P'"):
        load_entry(_copy(tmp_path, edit))


def test_hand_edited_numbers_no_longer_stand(tmp_path: Path) -> None:
    def edit(d):
        d["w"][0] = "0.123"  # weights no longer sum to one

    assert not replay(_copy(tmp_path, edit)).stands


def test_replay_cli_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["replay", str(FILES[0]), str(FILES[-1])])
    assert ok.exit_code == 0, ok.output
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    unknown = _copy(tmp_path, lambda d: d.update(operator="no-such-op"))
    res = runner.invoke(main, ["replay", str(garbage), str(unknown), str(FILES[0])])
    text = " ".join(res.output.split())  # rich wraps long lines
    assert res.exit_code == 2
    assert "not valid JSON" in text and "Unknown operator 'no-such-op'" in text
    assert "stands" in text  # the good file was still replayed
    assert "Traceback" not in text


def test_verify_settles_from_corpus() -> None:
    res = CliRunner().invoke(main, ["verify", "geometric", "-p", "prop-IV.11", "--engine", "search", "--format", "json"])
    result = json.loads(res.output)["results"][0]
    assert res.exit_code == 1 and result["verdict"] == "refuted" and result["certified"]
    assert result["method"] == "corpus replay"
    assert result["counterexample"]["P"] == [list(r) for r in load_entry(DEFAULT_DIR / "geometric__prop-IV.11.json").counterexample.P]
