"""``mtkd report``: the conformance matrix of the built-in operators, with family-level theorems.

One :class:`~mtkd.verify.Report` per operator, then the statements that quantify over operators
(``thm-III.1``, ``thm-III.2``, decided in :mod:`mtkd.theorems.family`), the ``prop-V.2``
demonstration and the sympy derivations, all rendered through one Jinja2 template into ``conformance.md`` (and the raw data into
``conformance.json``).

A second matrix reports the closed domain (teachers with exact zeros) separately, as
docs/formalization.md asks: the same operators and seed, search only (the provers are open-domain),
inputs that all have exact zeros, and no corpus replay (the corpus holds open-domain points,
whose refutations the first matrix already shows and which carry over to the closed domain).
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from jinja2 import Environment, PackageLoader, StrictUndefined

from mtkd.format import certified_mark, markdown, summary
from mtkd.operators import Operator, load_operator
from mtkd.results import Verdict
from mtkd.scope_marks import LEGEND
from mtkd.theorems import PROPERTIES, Domain
from mtkd.theorems.agnostic import findings
from mtkd.theorems.derivations import derivations
from mtkd.theorems.family import family_verdicts, prop_v2_demo
from mtkd.theorems.statements import render as render_statement
from mtkd.verify import Report, VerifyOptions, verify

DEFAULT_OPERATORS: tuple[str, ...] = (
    "linear", "geometric", "power:alpha=-1", "power:alpha=0.5", "power:alpha=2", "entropic:beta=0.5", "max",
    "reweighted:c=1",
    # From distillation practice (one module each in operators/, sources in their docstrings):
    "logit-mean", "logit-mean-post-t", "confidence", "entropy-weighted", "topk",
)

GLYPH = {
    Verdict.PROVED: "proved",
    Verdict.NOT_REFUTED: "not-refuted",
    Verdict.REFUTED: "**REFUTED**",
    Verdict.UNKNOWN: "unknown",
    Verdict.ERROR: "ERROR",
}


def closed_errors(reports: list[Report]) -> list[tuple[str, list[str], str]]:
    """Per operator with ``error`` verdicts: the operator, those property ids and the first message.

    An operator undefined on part of the closed domain errs on nearly every property at similar
    inputs; one message per operator keeps the report readable (each result keeps its own).
    """
    out = []
    for r in reports:
        errs = [x for x in r.results if x.verdict is Verdict.ERROR]
        if errs:
            out.append((r.operator, [x.property for x in errs], errs[0].message))
    return out


def build(specs: tuple[str, ...] = DEFAULT_OPERATORS, options: VerifyOptions = VerifyOptions(),
          progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run every operator and collect what the template needs."""
    start = time.perf_counter()
    ops: list[Operator] = [load_operator(s) for s in specs]
    reports = []
    for op in ops:
        if progress:
            progress(op.spec)
        reports.append(verify(op, options))
    closed_options = replace(options, domain=Domain.CLOSED, corpus=None)
    closed = []
    for op in ops:
        if progress:
            progress(f"{op.spec} ({Domain.CLOSED.label})")
        closed.append(verify(op, closed_options))
    return {
        "reports": reports,
        "closed": closed,
        "closed_errors": closed_errors(closed),
        "family": family_verdicts({r.operator: r.results for r in reports}),
        "agnostic": [f.headline() for f in findings({r.operator: r.results for r in reports})],
        "v2": prop_v2_demo(specs, options.seed),
        "derivations": _derivations(ops),
        "options": options,
        "seconds": time.perf_counter() - start,
    }


def _derivations(ops: list[Operator]) -> list[tuple[str, Any]]:
    out = []
    for op in ops:
        if op.algebraic is not None:
            name, params = op.algebraic
            out.append((op.spec, derivations(name, params)))
    return out


def render(data: dict[str, Any]) -> str:
    env = Environment(loader=PackageLoader("mtkd.reports", "templates"), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(markdown=markdown, summary=summary, certified=certified_mark)
    return env.get_template("conformance.md.j2").render(
        properties=list(PROPERTIES.values()), glyph=GLYPH, Verdict=Verdict, statement=render_statement,
        legend=LEGEND, **data)


def write(data: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    md = out / "conformance.md"
    md.write_text(render(data), encoding="utf-8")
    js = out / "conformance.json"
    js.write_text(json.dumps({
        "seed": data["options"].seed,
        "operators": [r.to_json() for r in data["reports"]],
        "closed_domain": [r.to_json() for r in data["closed"]],
        "family": [{"property": f.id, "verdict": f.verdict.value, "message": f.message} for f in data["family"]],
        "operator_agnostic_claim": data.get("agnostic", []),
    }, indent=2), encoding="utf-8")
    return [md, js]
