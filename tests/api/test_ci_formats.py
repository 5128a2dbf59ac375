"""``--format junit`` and ``--format sarif`` validate against their official schemas; the text
output is one line per property with the counterexample under each refutation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import xmlschema

DATA = Path(__file__).resolve().parents[1] / "data"
MTKD = str(Path(sys.executable).with_name("mtkd"))
# Few properties, few inputs: refutations come from the packaged corpus or the first search steps.
ARGS = ("--max-inputs", "300", "--workers", "1", "-p", "axiom1", "-p", "axiom3", "-p", "prop-IV.11", "-p", "axiom4")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([MTKD, *args], capture_output=True, text=True, timeout=300, cwd=cwd)
    assert proc.returncode in (0, 1), proc.stderr
    return proc


@pytest.fixture(scope="module")
def junit_xml() -> str:
    return run("verify", "geometric", *ARGS, "--format", "junit").stdout


def test_junit_validates_against_the_jenkins_schema(junit_xml: str) -> None:
    assert xmlschema.XMLSchema(str(DATA / "junit-10.xsd")).is_valid(junit_xml)


def test_junit_has_one_case_per_property_and_the_counterexample_as_failure(junit_xml: str) -> None:
    suite = ET.fromstring(junit_xml).find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert sorted(cases) == ["axiom1", "axiom3", "axiom4", "prop-IV.11"]  # catalogue order
    failure = cases["axiom3"].find("failure")
    assert failure is not None and failure.get("type") == "refuted (certified)"
    assert "P = [[0.2  0.75  0.05]" in (failure.text or "") and "w = [0.9, 0.1]" in (failure.text or "")
    assert cases["axiom1"].find("failure") is None and cases["axiom4"].find("failure") is None
    assert suite.get("failures") == "2" and suite.get("tests") == "4"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["seed"] == "0" and props["provenance.z3"] and "provenance.date" in props


def test_junit_validation_rejects_a_broken_document() -> None:
    schema = xmlschema.XMLSchema(str(DATA / "junit-10.xsd"))
    assert not schema.is_valid("<testsuites><testsuite name='x'><testcase/></testsuite></testsuites>")


OPERATOR_FILE = '''
import numpy as np


def helper():
    return None


def averaged_logits(P, T, w):
    z = np.log(P) / T[:, None]
    z = z - z.max(axis=1, keepdims=True)
    log_q = w @ (z - np.log(np.exp(z).sum(axis=1, keepdims=True)))
    e = np.exp(log_q - log_q.max())
    return e / e.sum()
'''


@pytest.fixture(scope="module")
def sarif_log(tmp_path_factory: pytest.TempPathFactory) -> dict:
    where = tmp_path_factory.mktemp("proj")
    (where / "pools.py").write_text(textwrap.dedent(OPERATOR_FILE))
    proc = run("verify", "pools.py:averaged_logits", "-p", "axiom3", "-p", "axiom1", "--max-inputs", "1500",
               "--workers", "1", "--format", "sarif", cwd=where)
    return json.loads(proc.stdout)


def test_sarif_validates_against_the_official_schema(sarif_log: dict) -> None:
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(sarif_log, schema, cls=jsonschema.Draft4Validator)
    assert sarif_log["version"] == "2.1.0"


def test_sarif_result_is_located_at_the_operator_definition(sarif_log: dict) -> None:
    (run_,) = sarif_log["runs"]
    (result,) = run_["results"]
    # Certified (error) when a precise form could be derived from the numpy code, else float64 evidence (warning).
    assert result["ruleId"] == "axiom3"
    assert result["level"] == ("error" if result["properties"]["certified"] else "warning")
    loc = result["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "pools.py", "uriBaseId": "SRCROOT"}
    assert loc["region"]["startLine"] == 9  # `def averaged_logits` in OPERATOR_FILE (after dedent)
    assert "P = [[" in result["message"]["text"]
    assert result["properties"]["counterexample"]["witness"].keys() == {"k", "k2", "token"}
    assert run_["invocations"][0]["commandLine"].startswith("mtkd verify pools.py:averaged_logits")


def test_sarif_schema_rejects_a_broken_log() -> None:
    schema = json.loads((DATA / "sarif-schema-2.1.0.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"version": "2.1.0", "runs": [{"results": []}]}, schema, cls=jsonschema.Draft4Validator)


def test_builtin_sarif_points_into_the_package() -> None:
    log = json.loads(run("verify", "geometric", "-p", "axiom3", "--max-inputs", "100", "--format", "sarif").stdout)
    (result,) = log["runs"][0]["results"]
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.endswith("operators/geometric.py") and result["level"] == "error"


def test_text_is_one_line_per_property_with_inputs_under_refutations() -> None:
    out = run("verify", "geometric", *ARGS).stdout
    rows = [line for line in out.splitlines() if re.match(r"  (axiom1|axiom3|prop-IV\.11|axiom4) ", line)]
    assert len(rows) == 4
    assert re.search(r"axiom3 +REFUTED \(certified\) +at K=2, V=3 \(corpus\) +margin -0\.0851", out)
    assert "      P = [[0.2  0.75  0.05]\n           [0.1  0.15  0.75]]" in out
    assert "± <" in out and "[-0.0851" not in out  # intervals as midpoint ± radius
    assert "--details" in out and "\x1b[" not in out  # no colour codes when not on a terminal
    assert max(len(line) for line in out.splitlines()) <= 120


def test_details_show_every_message_and_the_provenance() -> None:
    out = run("verify", "linear", "-p", "axiom4", "--max-inputs", "100", "--details").stdout
    assert "      method: " in out and "; scope: " in out and "Steps:" in out  # the full evidence
    assert "provenance:" in out and "z3: " in out and "command: mtkd verify linear" in out


def test_search_is_titled_as_a_search() -> None:
    out = run("search", "geometric", "def-IV.1", "--max-inputs", "2000", "--budget", "60", "--workers", "1").stdout
    assert out.startswith("mtkd search geometric def-IV.1")
