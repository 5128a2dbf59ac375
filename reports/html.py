"""The HTML report: one self-contained file (inline CSS, inline SVG figures, no scripts or links out).

The verdict matrix is a heat map (one colour per verdict; refuted cells link to their figure);
every refutation gets a figure (:mod:`mtkd.reports.plots`) and its counterexample as a small
table; the provenance block comes last, apart from the results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Sequence

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from mtkd.operators import Operator, load_operator
from mtkd.provenance import Provenance
from mtkd.results import Result, Verdict
from mtkd.theorems import PROPERTIES, get_property
from mtkd.verify import Report
from mtkd.wording import readable_intervals, witness_words

from . import plots


@dataclass(frozen=True)
class Matrix:
    """One heat map: a heading, an optional paragraph, and the reports as columns."""

    heading: str
    reports: Sequence[Report]
    intro: str = ""


def css_class(r: Result) -> str:
    if r.verdict is Verdict.REFUTED:
        return "v-refuted-certified" if r.certified else "v-refuted-uncertified"
    return f"v-{r.verdict.value}"


def anchor(operator: str, prop: str, domain: str = "open") -> str:
    """An HTML id for a refutation: ``power:alpha=2`` + ``axiom3`` -> ``power-alpha-2--axiom3``."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", operator).strip("-")
    return f"{slug}--{prop.replace('.', '-')}" + ("" if domain == "open" else f"--{domain}")


def _matrix(m: Matrix) -> dict[str, Any]:
    ids = [pid for pid in PROPERTIES if any(x.property == pid for r in m.reports for x in r.results)]
    rows = []
    for pid in ids:
        cells = []
        for r in m.reports:
            got = [x for x in r.results if x.property == pid]
            if not got:
                cells.append({"css": "", "label": "", "tip": "not checked", "anchor": ""})
                continue
            x = got[0]
            label = ("REFUTED" if x.certified else "refuted") if x.verdict is Verdict.REFUTED else x.verdict.value
            domain = str(r.options.get("domain", "open"))
            cells.append({"css": css_class(x), "label": label, "tip": f"{x.method}; {x.scope}",
                          "anchor": anchor(r.operator, pid, domain) if x.counterexample is not None else ""})
        rows.append({"property": pid, "cells": cells})
    return {"heading": m.heading, "intro": m.intro, "columns": [r.operator for r in m.reports], "rows": rows}


def _refutation(report: Report, op: Operator | None, r: Result, with_plots: bool) -> dict[str, Any]:
    cx = r.counterexample
    assert cx is not None
    svg, caption = "", ""
    if with_plots and op is not None:
        drawn = plots.figure(op, r)
        if drawn is not None:
            svg, caption = drawn
    prop = get_property(r.property)
    return {
        "anchor": anchor(report.operator, r.property, str(report.options.get("domain", "open"))),
        "operator": report.operator, "property": r.property, "title": prop.title,
        "explanation": readable_intervals(cx.explanation), "svg": svg, "caption": caption,
        "V": cx.V, "rows": [{"P": row, "T": t, "w": wk} for row, t, wk in zip(cx.P, cx.T, cx.w)],
        "witness": witness_words(dict(cx.witness)) or "none", "certified": cx.certified,
        "certificate": readable_intervals(cx.certificate) or cx.precision, "method": r.method, "scope": r.scope,
    }


def render_html(matrices: Sequence[Matrix], provenance: Provenance, title: str = "mtkd-verify report",
                operators: dict[str, Operator] | None = None, errata: Sequence[Any] = ()) -> str:
    """The whole page. ``operators`` maps specs to loaded operators (built-ins are loaded by name)."""
    operators = dict(operators or {})
    with_plots = plots.available()
    refutations = []
    for m in matrices:
        for report in m.reports:
            op = operators.get(report.operator)
            if op is None:
                try:
                    op = operators[report.operator] = load_operator(report.operator)
                except Exception:  # noqa: BLE001 - an unloadable spec only loses its figures
                    op = None
            refutations += [_refutation(report, op, r, with_plots) for r in report.results
                            if r.counterexample is not None and r.verdict is Verdict.REFUTED]
    env = Environment(loader=PackageLoader("mtkd.reports", "templates"), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    seeds = sorted({r.seed for m in matrices for r in m.reports})
    return env.get_template("report.html.j2").render(
        title=title, seed=", ".join(map(str, seeds)), plots=with_plots, missing=plots.MISSING,
        matrices=[_matrix(m) for m in matrices], refutations=refutations, errata=list(errata),
        alarms=[a for m in matrices for r in m.reports for a in r.alarms], provenance=provenance.to_json())


def single_report(report: Report, op: Operator, provenance: Provenance) -> str:
    """``mtkd verify OP --html FILE``: the page for one operator."""
    domain = report.options.get("domain", "open")
    return render_html([Matrix(f"Verdicts ({domain} domain)", [report])], provenance,
                       title=f"mtkd verify {report.operator}", operators={report.operator: op})
