"""``--format sarif``: SARIF 2.1.0 for code-scanning dashboards; each refutation is a result at the
operator's source file and line.

One rule per property (id, title, the statement checked); one result per ``refuted`` (level
``error`` when certified, ``warning`` for float64 evidence) and per ``error`` verdict, located at
the operator's definition (``inspect``), relative to the current directory when inside it. The
counterexample travels in the result's ``properties`` (exact strings, as in the JSON) and in
plain words in its message; provenance is on the invocation.
"""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from mtkd.operators import Operator
from mtkd.operators.protocol import RemoteForm
from mtkd.results import Verdict
from mtkd.theorems import PROPERTIES
from mtkd.verify import Report

from .provenance import Provenance
from .wording import plain_words

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
PAPER = "https://arxiv.org/abs/2601.09165"


@dataclass(frozen=True)
class SourceLocation:
    """Where an operator is defined: a file and a 1-based line."""

    path: Path
    line: int


def source_location(op: Operator) -> SourceLocation | None:
    """The file and line defining ``op`` (its function, or its class for callable instances).

    Falls back to the spec's ``file.py:attribute`` (the line of ``def attribute`` / ``attribute =``);
    None when neither is known (a lambda typed at a prompt, a C function).
    """
    obj: Any = op.func
    # A sandboxed operator's func is the tool's stand-in for code living in the worker: inspecting it
    # would locate the tool, not the user's code, so only the spec can say where the operator is.
    if not isinstance(obj, RemoteForm):
        target = obj if inspect.isfunction(obj) or inspect.ismethod(obj) else type(obj)
        try:
            path = inspect.getsourcefile(target)
            _, line = inspect.getsourcelines(target)
            if path:
                return SourceLocation(Path(path).resolve(), max(1, line))
        except (OSError, TypeError):
            pass
    head, _, attr = op.spec.rpartition(":")
    file = Path(head)
    if head.endswith(".py") and file.is_file():
        pattern = re.compile(rf"^\s*(def|class)\s+{re.escape(attr)}\b|^{re.escape(attr)}\s*=")
        for n, text in enumerate(file.read_text(errors="replace").splitlines(), start=1):
            if pattern.match(text):
                return SourceLocation(file.resolve(), n)
        return SourceLocation(file.resolve(), 1)
    return None


def _artifact(loc: SourceLocation) -> dict[str, Any]:
    try:
        return {"uri": loc.path.relative_to(Path.cwd().resolve()).as_posix(), "uriBaseId": "SRCROOT"}
    except ValueError:
        return {"uri": loc.path.as_uri()}


def sarif(reports: Sequence[Report], locations: dict[str, SourceLocation | None] | None = None,
          provenance: Provenance | None = None) -> dict[str, Any]:
    """The SARIF log (a dict; ``json.dumps`` it). ``locations`` maps operator specs to their source."""
    locations = locations or {}
    rule_ids = list(PROPERTIES)
    rules = [{"id": pid, "name": re.sub(r"[^A-Za-z0-9]", "", p.title.title()) or pid,
              "shortDescription": {"text": p.title}, "fullDescription": {"text": p.wording},
              "helpUri": PAPER, "properties": {"reference": p.reference}} for pid, p in PROPERTIES.items()]
    results = []
    for report in reports:
        loc = locations.get(report.operator)
        for r in report.results:
            if r.verdict not in (Verdict.REFUTED, Verdict.ERROR):
                continue
            place: dict[str, Any] = {"logicalLocations": [{"fullyQualifiedName": report.operator,
                                                           "kind": "function"}]}
            if loc is not None:
                place["physicalLocation"] = {"artifactLocation": _artifact(loc), "region": {"startLine": loc.line}}
            refuted = r.verdict is Verdict.REFUTED
            results.append({
                "ruleId": r.property,
                "ruleIndex": rule_ids.index(r.property),
                "kind": "fail",
                "level": "error" if (r.certified or not refuted) else "warning",
                "message": {"text": plain_words(report.operator, r)},
                "locations": [place],
                "partialFingerprints": {"mtkdOperatorProperty/v1": f"{report.operator}|{r.property}"},
                "properties": {"operator": report.operator, "verdict": r.verdict.value, "certified": r.certified,
                               "method": r.method, "scope": r.scope, "seed": report.seed,
                               "counterexample": None if r.counterexample is None else r.counterexample.to_json()},
            })
    invocation: dict[str, Any] = {"executionSuccessful": not any(rep.alarms for rep in reports)}
    if provenance is not None:
        invocation.update({"commandLine": provenance.command, "endTimeUtc": provenance.date,
                           "properties": provenance.to_json()})
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "mtkd-verify", "informationUri": PAPER, "rules": rules,
                            **({"version": provenance.tool_version} if provenance else {})}},
        "invocations": [invocation],
        "originalUriBaseIds": {"SRCROOT": {"uri": Path.cwd().resolve().as_uri() + "/"}},
        "results": results,
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def dumps(log: dict[str, Any]) -> str:
    return json.dumps(log, indent=2, ensure_ascii=False)
