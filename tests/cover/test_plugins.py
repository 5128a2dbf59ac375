"""Plug-ins: a property and an operator, each in one file, reach `mtkd list`, `verify` and `report`.

Files come in through ``--property-module`` / ``--operator-module`` (run as a subprocess, as a
user would); installed distributions through the ``mtkd.properties`` / ``mtkd.operators`` entry
points (``importlib.metadata.entry_points`` is replaced by a fake that declares the same two
classes). In-process registrations are undone after each test, so other tests see the built-ins only.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from mtkd import plugins
from mtkd.cli import main
from mtkd.errors import PluginError
from mtkd.operators import BUILTINS
from mtkd.theorems import PROPERTIES

FIXTURES = Path(__file__).parent.parent / "fixtures" / "plugin"
AXIOM, POOL = FIXTURES / "my_axiom.py", FIXTURES / "my_pool.py"
PLUGIN_ARGS = ("--property-module", str(AXIOM), "--operator-module", str(POOL))


MTKD = str(Path(sys.executable).parent / "mtkd")


def mtkd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MTKD, *args], capture_output=True, text=True, timeout=600)


@pytest.fixture
def clean_registries() -> Iterator[None]:
    props, ops, plugin_ops, loaded = dict(PROPERTIES), dict(BUILTINS), list(plugins.PLUGIN_OPERATORS), set(plugins._loaded)
    yield
    for registry, saved in ((PROPERTIES, props), (BUILTINS, ops)):
        registry.clear()
        registry.update(saved)  # type: ignore[arg-type]
    plugins.PLUGIN_OPERATORS[:] = plugin_ops
    plugins._loaded.clear()
    plugins._loaded.update(loaded)


def test_list_verify_and_report_see_file_plugins(tmp_path: Path) -> None:
    listed = mtkd("list", *PLUGIN_ARGS)
    assert listed.returncode == 0, listed.stderr
    assert "x-at-most-twice-the-mean" in listed.stdout and "half-max" in listed.stdout

    verified = mtkd("verify", "half-max", *PLUGIN_ARGS, "-p", "x-at-most-twice-the-mean", "-p", "axiom1",
                    "--engine", "search", "--max-inputs", "300", "--no-corpus", "--format", "json")
    report = json.loads(verified.stdout)
    verdicts = {r["property"]: r for r in report["results"]}
    # half-max = (linear + max) / 2 normalised: up to twice the mean on a token where max dominates.
    assert verdicts["x-at-most-twice-the-mean"]["verdict"] == "refuted", verified.stderr
    assert verdicts["x-at-most-twice-the-mean"]["certified"] is True
    assert verdicts["axiom1"]["verdict"] == "not-refuted"
    assert verified.returncode == 1

    out = tmp_path / "report"
    made = mtkd("report", *PLUGIN_ARGS, "--operator", "linear", "--operator", "half-max", "--engine", "search",
                "--max-inputs", "40", "--out", str(out))
    assert made.returncode == 0, made.stderr
    data = json.loads((out / "conformance.json").read_text())
    assert [r["operator"] for r in data["operators"]] == ["linear", "half-max"]
    assert all("x-at-most-twice-the-mean" in [x["property"] for x in r["results"]] for r in data["operators"])
    assert "x-at-most-twice-the-mean" in (out / "conformance.md").read_text()


def test_without_the_plugin_the_property_is_a_usage_error() -> None:
    proc = mtkd("verify", "linear", "-p", "x-at-most-twice-the-mean")
    assert proc.returncode == 2 and "'x-at-most-twice-the-mean' is not one of" in proc.stderr


def test_broken_plugin_file_is_one_paragraph(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("raise RuntimeError('broken on purpose')\n")
    proc = mtkd("list", "--property-module", str(bad))
    assert proc.returncode == 2 and "broken on purpose" in proc.stderr and "Traceback" not in proc.stderr


class _EntryPoint:
    def __init__(self, name: str, obj: Any) -> None:
        self.name, self.value, self._obj = name, f"fixture:{name}", obj

    def load(self) -> Any:
        return self._obj


def test_entry_points_register_property_and_operator(monkeypatch: pytest.MonkeyPatch, clean_registries: None) -> None:
    import importlib.util

    mods = {}
    for path in (AXIOM, POOL):
        spec = importlib.util.spec_from_file_location(f"_ep_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        mods[path.stem] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mods[path.stem])
    declared = {plugins.PROPERTY_GROUP: [_EntryPoint("axiom", mods["my_axiom"].AtMostTwiceTheMean)],
                plugins.OPERATOR_GROUP: [_EntryPoint("pool", mods["my_pool"])]}
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: declared.get(group, []))
    result = CliRunner().invoke(main, ["list"])
    assert result.exit_code == 0, result.output
    assert "x-at-most-twice-the-mean" in result.output and "half-max" in result.output
    result = CliRunner().invoke(main, ["verify", "half-max", "-p", "x-at-most-twice-the-mean", "--engine", "search",
                                       "--max-inputs", "200", "--no-corpus", "--format", "json"])
    assert json.loads(result.output)["results"][0]["verdict"] == "refuted"


def test_duplicate_property_id_is_refused(clean_registries: None) -> None:
    class Clash(type(PROPERTIES["axiom1"])):  # type: ignore[misc]
        pass

    with pytest.raises(PluginError, match="already taken"):
        plugins.register_from(Clash, "test")


def test_a_plugin_formula_outside_the_all_sizes_proofs_is_checked_not_crashed() -> None:
    # Its formula is not one the generic-K proofs know: they must step aside (it used to end the run
    # with "internal error: KeyError"), the other engines decide.
    formula_pool = FIXTURES / "my_formula_pool.py"
    proc = mtkd("verify", "squared-pool", "--operator-module", str(formula_pool), "-p", "axiom1", "-p", "axiom3",
                "--max-inputs", "300", "--no-corpus", "--format", "json")
    assert "internal error" not in proc.stderr, proc.stderr
    verdicts = {r["property"]: r for r in json.loads(proc.stdout)["results"]}
    assert verdicts["axiom3"]["verdict"] == "refuted" and verdicts["axiom3"]["certified"]  # Q^2 favours peaked teachers
    assert verdicts["axiom1"]["verdict"] in ("proved", "not-refuted") and "all K" not in verdicts["axiom1"]["scope"]
    assert proc.returncode == 1
