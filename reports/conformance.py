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
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from mtkd.counterexamples.backends import Backend, DoneFn
from mtkd.format import certified_mark, markdown
from mtkd.operators import Operator, load_operator
from mtkd.provenance import Provenance, collect
from mtkd.results import Verdict
from mtkd.scope_marks import LEGEND
from mtkd.theorems import PROPERTIES, Domain
from mtkd.theorems.agnostic import findings
from mtkd.theorems.derivations import Derivation, derivations
from mtkd.theorems.family import family_verdicts, prop_v2_demo
from mtkd.theorems.statements import render as render_statement
from mtkd.verify import JobsDone, Report, VerifyOptions, verify, verify_all
from mtkd.wording import WIDTH, counterexample_block, readable_intervals

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


def closed_errors(reports: list[Report]) -> list[dict[str, Any]]:
    """Errors on the closed domain, grouped by their shared explanation (said once per group).

    An operator undefined on part of the closed domain errs on nearly every property at similar
    inputs: each operator is listed once with its properties and first input; the operator's
    ``undefined_note`` (the same paragraph for geometric, power and entropic pooling) is printed
    once for all the operators that share it.
    """
    groups: dict[str, list[tuple[str, list[str], str]]] = {}
    for r in reports:
        errs = [x for x in r.results if x.verdict is Verdict.ERROR]
        if not errs:
            continue
        note = load_operator(r.operator).undefined_note
        message = errs[0].message.replace(note, " ") if note else errs[0].message
        message = " ".join(message.split(" Provers:")[0].split())  # the intro says the provers are not used
        generic = note.replace(f"'{r.operator}'", "this operator")
        groups.setdefault(generic, []).append((r.operator, [x.property for x in errs], message))
    return [{"note": note, "operators": ops} for note, ops in groups.items()]


def build(specs: tuple[str, ...] = DEFAULT_OPERATORS, options: VerifyOptions = VerifyOptions(),
          progress: Callable[[str], None] | None = None, backend: Backend | None = None,
          done: JobsDone | None = None) -> dict[str, Any]:
    """Run every operator and collect what the template needs.

    With a ``backend``, every operator x property x domain check is one task (``done`` sees them
    complete); the data is the same as in this process.
    """
    start = time.perf_counter()
    ops: list[Operator] = [load_operator(s) for s in specs]
    closed_options = replace(options, domain=Domain.CLOSED, corpus=None)
    derivable = [(op.spec, op.algebraic) for op in ops if op.algebraic is not None]
    counted = {"jobs": 0, "derivations": 0}

    def job_done(finished: int, total: int) -> None:
        counted["jobs"] = total
        if done is not None:  # the derivations are jobs of the same bar
            done(finished, total + len(derivable))

    def derivation_done(_: int, __: Any) -> None:
        counted["derivations"] += 1
        if done is not None:
            done(counted["jobs"] + counted["derivations"], counted["jobs"] + len(derivable))

    if backend is not None:
        both = verify_all([(op, options) for op in ops] + [(op, closed_options) for op in ops], backend, job_done)
        reports, closed = both[: len(ops)], both[len(ops):]
    else:
        reports, closed = [], []
        for op in ops:
            if progress:
                progress(op.spec)
            reports.append(verify(op, options))
        for op in ops:
            if progress:
                progress(f"{op.spec} ({Domain.CLOSED.label})")
            closed.append(verify(op, closed_options))
    return {
        "run": backend.describe() if backend is not None else {"backend": "local", "workers": 1},
        "reports": reports,
        "closed": closed,
        "closed_errors": closed_errors(closed),
        "family": family_verdicts({r.operator: r.results for r in reports}),
        "agnostic": [f.headline() for f in findings({r.operator: r.results for r in reports})],
        "v2": prop_v2_demo(specs, options.seed),
        "derivations": _derivations(derivable, backend, derivation_done),
        "options": options,
        "seconds": time.perf_counter() - start,
    }


def _derivations(derivable: list[tuple[str, tuple[str, dict[str, float]]]], backend: Backend | None,
                 done: DoneFn) -> list[tuple[str, tuple[Derivation, ...]]]:
    """Each operator's sympy derivations: with a backend, one task per operator (gathered in order)."""
    tasks = [algebraic for _, algebraic in derivable]
    made = backend.map(_derivation_task, tasks, done) if backend is not None else map(_derivation_task, tasks)
    return [(spec, d) for (spec, _), d in zip(derivable, made, strict=True)]


def _derivation_task(algebraic: tuple[str, dict[str, float]]) -> tuple[Derivation, ...]:
    """Worker side: ``(name, params)`` of a built-in -> its derivations (sympy objects pickle)."""
    return derivations(*algebraic)


def render(data: dict[str, Any], provenance_lines: list[str] | None = None) -> str:
    env = Environment(loader=PackageLoader("mtkd.reports", "templates"), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(markdown=markdown, certified=certified_mark, intervals=readable_intervals,
                       cx_block=counterexample_block, wrap_code=_wrap_code,
                       wrap=lambda text, indent="", first=None: _wrap(text, indent, first))
    return env.get_template("conformance.md.j2").render(
        properties=list(PROPERTIES.values()), glyph=GLYPH, Verdict=Verdict, statement=render_statement,
        legend=LEGEND, provenance_lines=provenance_lines or [], **data)


def _wrap(text: str, indent: str, first: str | None) -> str:
    """Prose wrapped to the report width; ``first`` is the first line's indent (default ``indent``)."""
    import textwrap

    return textwrap.fill(" ".join(readable_intervals(text).split()), width=WIDTH,
                         initial_indent=indent if first is None else first, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def _wrap_code(text: str) -> str:
    """A rendered statement in a code block, its long lines broken at spaces (continuations indented)."""
    import textwrap

    return "\n".join(textwrap.fill(line, width=WIDTH, subsequent_indent="    ", break_long_words=False,
                                    break_on_hyphens=False, drop_whitespace=False).rstrip()
                     if len(line) > WIDTH else line for line in text.splitlines())


def statements_tex() -> str:
    """Every statement's LaTeX form (from its sympy statement), one ``equation*`` each."""
    out = ["% Statements checked by mtkd-verify, rendered from their sympy form (needs amsmath)."]
    for p in PROPERTIES.values():
        out += [f"% {p.id}: {p.title} ({p.reference})", "\\begin{equation*}", render_statement(p.id, "latex"),
                "\\end{equation*}"]
    return "\n".join(out) + "\n"


def write(data: dict[str, Any], out: Path, provenance: Provenance | None = None, html: bool = False,
          lead: tuple[str, ...] = ()) -> list[Path]:
    """Write conformance.md/.json, errata.md/.tex, statements.tex (and conformance.html) into ``out``."""
    from . import errata as errata_mod

    provenance = provenance or collect()
    lines = provenance.lines() + [f"run time: {data['seconds']:.0f} s"]
    out.mkdir(parents=True, exist_ok=True)
    paths = []

    def put(name: str, text: str) -> None:
        path = out / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)

    put("conformance.md", render(data, lines))
    put("conformance.json", json.dumps({
        "seed": data["options"].seed,
        "operators": [r.to_json() for r in data["reports"]],
        "closed_domain": [r.to_json() for r in data["closed"]],
        "family": [{"property": f.id, "verdict": f.verdict.value, "message": f.message} for f in data["family"]],
        "operator_agnostic_claim": data.get("agnostic", []),
        "provenance": provenance.to_json(),
        "run": data.get("run", {}),
    }, indent=2) + "\n")
    # Findings that refute a Sec. IV claim outright (a conforming operator violating it) lead the errata.
    errata = errata_mod.build(data["reports"], data["family"], (*data.get("agnostic", []), *lead))
    put("errata.md", errata_mod.markdown(errata, lines, data["options"].seed))
    put("errata.tex", errata_mod.latex(errata, data["options"].seed))
    put("statements.tex", statements_tex())
    if html:
        from .html import Matrix, render_html

        matrices = [Matrix("Verdict matrix (open domain)", data["reports"]),
                    Matrix("Closed domain (zeros allowed; search only)", data["closed"])]
        put("conformance.html", render_html(matrices, provenance, title="mtkd-verify conformance report",
                                            errata=errata["rows"]))
    return paths
