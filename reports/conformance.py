"""``mtkd report``: the conformance matrix of the built-in operators, with family-level theorems.

One :class:`~mtkd.verify.Report` per operator, then the statements that quantify over operators
(``thm-III.1``, ``thm-III.2``), the ``prop-V.2`` demonstration and the sympy derivations, all
rendered through one Jinja2 template into ``conformance.md`` (and the raw data into
``conformance.json``).

A second matrix reports the closed domain (teachers with exact zeros) separately, as
FORMALIZATION.md asks: the same operators and seed, search only (the provers are open-domain),
inputs that all have exact zeros, and no corpus replay (the corpus holds open-domain points,
whose refutations the first matrix already shows and which carry over to the closed domain).
"""

from __future__ import annotations

import json
from itertools import combinations
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import mpmath
import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined

from mtkd.format import certified_mark, markdown, summary
from mtkd.operators import Operator, load_operator
from mtkd.operators.precision import HighPrecision, Interval
from mtkd.results import Verdict
from mtkd.theorems import AXIOMS, Domain, ExactPoint, PROPERTIES
from mtkd.theorems.statements import render as render_statement
from mtkd.verify import Report, VerifyOptions, verify

DEFAULT_OPERATORS: tuple[str, ...] = (
    "linear", "geometric", "power:alpha=-1", "power:alpha=0.5", "power:alpha=2", "entropic:beta=0.5", "max",
)

GLYPH = {
    Verdict.PROVED: "proved",
    Verdict.NOT_REFUTED: "not-refuted",
    Verdict.REFUTED: "**REFUTED**",
    Verdict.UNKNOWN: "unknown",
    Verdict.ERROR: "ERROR",
}


@dataclass(frozen=True)
class FamilyVerdict:
    """A verdict on a statement about a set of operators."""

    id: str
    verdict: Verdict
    message: str


def conforming(report: Report) -> bool:
    """No axiom refuted or errored (proved or not refuted)."""
    return all(r.verdict in (Verdict.PROVED, Verdict.NOT_REFUTED) for r in report.results if r.property in AXIOMS)


def family_verdicts(reports: list[Report]) -> list[FamilyVerdict]:
    ok = [r.operator for r in reports if conforming(r)]
    failing = {r.operator: [x.property for x in r.results if x.property in AXIOMS and x.verdict is Verdict.REFUTED]
               for r in reports if not conforming(r)}
    why = "; ".join(f"`{op}` violates {', '.join(props) or 'an axiom (error)'}" for op, props in failing.items())
    iii1 = (FamilyVerdict("thm-III.1", Verdict.NOT_REFUTED,
                          f"witness{'es' if len(ok) > 1 else ''}: {', '.join(f'`{o}`' for o in ok)} — no axiom "
                          "refuted (see each row for which axioms are proved and which only searched).")
            if ok else FamilyVerdict("thm-III.1", Verdict.UNKNOWN, "no built-in operator conforms: " + why))
    pair = distinct_pair(ok)
    if pair is not None:
        iii2 = FamilyVerdict("thm-III.2", Verdict.NOT_REFUTED, pair)
    else:
        iii2 = FamilyVerdict(
            "thm-III.2", Verdict.UNKNOWN,
            f"the conforming operators ({', '.join(f'`{o}`' for o in ok) or 'none'}) contain no pair certified to "
            f"differ, so no second conforming family is exhibited. The paper's witnesses fail: {why}.")
    return [iii1, iii2]


def distinct_pair(specs: list[str]) -> str | None:
    """Two of ``specs`` certified (interval arithmetic) to give different pools at one input, if any.

    "Distinct" must be shown, not assumed: ``power:alpha=1`` is ``linear`` under another name.
    """
    x = ExactPoint.from_strings((("0.5", "0.3", "0.2"), ("0.1", "0.6", "0.3")), ("1", "2"), ("0.25", "0.75"))
    ctx = Interval(60)
    pools = {}
    for spec in specs:
        op = load_operator(spec)
        if op.precise_func is not None:
            pools[spec] = op.evaluate_precise(x.P, x.T, x.w, ctx)
    for a, b in combinations(pools, 2):
        for i, (qa, qb) in enumerate(zip(pools[a], pools[b])):
            if ctx.sign(qa - qb) not in (0, None):
                return (f"`{a}` and `{b}` both conform and differ: at P = {[list(r) for r in x.strings()[0]]}, "
                        f"T = (1, 2), w = (1/4, 3/4), q({i}) differs ({ctx.to_str(qa, 8)} vs {ctx.to_str(qb, 8)}, "
                        "interval-certified).")
    return None


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


def prop_v2_demo(specs: tuple[str, ...], seed: int) -> list[tuple[str, str]]:
    """A free-logit student ``theta = log q`` reproduces ``q``: ``KL(q || softmax(theta))`` at 50 digits."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(5), size=3)
    x = ExactPoint.from_floats(P, np.array([0.5, 1.0, 2.0]), rng.dirichlet(np.ones(3)))
    ctx = HighPrecision(50)
    rows = []
    for spec in specs:
        op = load_operator(spec)
        q = op.evaluate_precise(x.P, x.T, x.w, ctx)
        theta = [ctx.log(v) for v in q]
        z = sum(ctx.exp(t) for t in theta)
        student = [ctx.exp(t) / z for t in theta]
        kl = sum(a * (ctx.log(a) - ctx.log(b)) for a, b in zip(q, student))
        rows.append((spec, mpmath.nstr(abs(kl), 3)))
    return rows


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
        "family": family_verdicts(reports),
        "v2": prop_v2_demo(specs, options.seed),
        "derivations": _derivations(ops),
        "options": options,
        "seconds": time.perf_counter() - start,
    }


def _derivations(ops: list[Operator]) -> list[tuple[str, Any]]:
    from mtkd.theorems.derivations import derivations

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
        properties=list(PROPERTIES.values()), glyph=GLYPH, Verdict=Verdict, statement=render_statement, **data)


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
    }, indent=2), encoding="utf-8")
    return [md, js]
