"""``--format junit``: one JUnit XML test case per property, the counterexample as the failure text.

The document follows the Jenkins / Surefire ``junit-10.xsd`` schema (the tests validate against
it): ``refuted`` is a ``<failure>``, ``error`` an ``<error>``, ``unknown`` a ``<skipped>``;
``proved`` and ``not-refuted`` pass, with their scope and evidence in ``<system-out>``. The
provenance (tool and dependency versions, commit, date, command) and the seed are suite
``<properties>``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Sequence

from mtkd.results import Verdict
from mtkd.verify import Report

from .provenance import Provenance
from .wording import plain_words, readable_intervals


def _time(seconds: float) -> str:
    return f"{max(0.0, seconds):.3f}"


def _classname(operator: str) -> str:
    """``power:alpha=2`` -> ``mtkd.power_alpha_2``: CI dashboards split class names on dots."""
    return "mtkd." + re.sub(r"[^A-Za-z0-9_]+", "_", operator).strip("_")


def junit(reports: Sequence[Report], provenance: Provenance | None = None) -> str:
    """The reports as one ``<testsuites>`` document (one ``<testsuite>`` per operator)."""
    root = ET.Element("testsuites", name="mtkd-verify")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for report in reports:
        counts = {v: sum(r.verdict is v for r in report.results) for v in Verdict}
        seconds = sum(r.seconds for r in report.results)
        suite = ET.SubElement(root, "testsuite", name=f"mtkd verify {report.operator}",
                              tests=str(len(report.results)), failures=str(counts[Verdict.REFUTED]),
                              errors=str(counts[Verdict.ERROR]), skipped=str(counts[Verdict.UNKNOWN]),
                              time=_time(seconds))
        props = ET.SubElement(suite, "properties")
        facts = {"operator": report.operator, "seed": str(report.seed),
                 **{f"option.{k}": str(v) for k, v in report.options.items()}}
        if provenance is not None:
            facts.update({f"provenance.{k}": v for k, v in provenance.to_json().items()})
        for name, value in facts.items():
            ET.SubElement(props, "property", name=name, value=value)
        for r in report.results:
            case = ET.SubElement(suite, "testcase", name=r.property, classname=_classname(report.operator),
                                 time=_time(r.seconds))
            words = plain_words(report.operator, r)
            if r.verdict is Verdict.REFUTED:
                first = r.counterexample.explanation if r.counterexample else r.message
                kind = "refuted (certified)" if r.certified else "refuted (float64 evidence, not certified)"
                ET.SubElement(case, "failure", type=kind, message=readable_intervals(first)).text = words
            elif r.verdict is Verdict.ERROR:
                ET.SubElement(case, "error", type="operator error", message=r.message).text = words
            elif r.verdict is Verdict.UNKNOWN:
                ET.SubElement(case, "skipped", type="unknown", message=r.message).text = words
            else:
                ET.SubElement(case, "system-out").text = words
        for key, n in (("tests", len(report.results)), ("failures", counts[Verdict.REFUTED]),
                       ("errors", counts[Verdict.ERROR])):
            totals[key] += n
        total_time += seconds
    for key, n in totals.items():
        root.set(key, str(n))
    root.set("time", _time(total_time))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
