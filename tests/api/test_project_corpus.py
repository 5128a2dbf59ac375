"""Counterexamples are saved into the user's project (``.mtkd/corpus`` or ``$MTKD_CORPUS``), not the package."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mtkd.cli import main
from mtkd.corpus_dirs import ENV, packaged_dir, project_dir, replay_dirs


def test_save_defaults_to_dot_mtkd_under_the_current_directory(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV, raising=False)
    before = sorted(packaged_dir().iterdir())
    res = CliRunner().invoke(main, ["verify", "geometric", "-p", "def-IV.1", "--engine", "search",
                                    "--no-corpus", "--save", "--max-inputs", "600", "--workers", "1"])
    assert res.exit_code == 1, res.output
    saved = tmp_path / ".mtkd" / "corpus" / "geometric__def-IV.1.json"
    assert json.loads(saved.read_text())["property"] == "def-IV.1"
    assert sorted(packaged_dir().iterdir()) == before


def test_env_var_names_the_project_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, str(tmp_path / "elsewhere"))
    assert project_dir("") == tmp_path / "elsewhere"
    assert replay_dirs("")[0] == tmp_path / "elsewhere" and replay_dirs("")[-1] == packaged_dir()


def test_project_corpus_is_replayed_before_searching(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # entropic:beta=0 is geometric pooling; the packaged corpus has no file for that spec.
    entry = json.loads((packaged_dir() / "geometric__axiom3.json").read_text())
    entry["operator"] = "entropic:beta=0"
    corpus = tmp_path / "proj"
    corpus.mkdir()
    (corpus / "entropic_beta=0__axiom3.json").write_text(json.dumps(entry))
    import mtkd

    report = mtkd.verify("entropic:beta=0", "axiom3", corpus=corpus, engine="search", max_inputs=50)
    r = report.result("axiom3")
    assert r.method == "corpus replay" and r.certified
    assert r.counterexample is not None and r.counterexample.P == tuple(tuple(x) for x in entry["P"])
    shutil.rmtree(corpus)
    fresh = mtkd.verify("entropic:beta=0", "axiom3", corpus=corpus, engine="search", max_inputs=50)
    assert fresh.result("axiom3").method != "corpus replay"
