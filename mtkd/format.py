"""The one place that turns reports into text, markdown, JSON, JUnit XML and SARIF.

The default text is one line per property (verdict, scope mark, the decisive number) with the
counterexample's inputs under each refutation; ``--details`` adds every message and certificate.
Numbers come out as the wording module writes them: matrices as matrices, intervals as
midpoint ± radius, nothing cut.
"""

from __future__ import annotations

import json
import re
from enum import Enum
from io import StringIO
from typing import Any

from rich.console import Console
from rich.markup import escape

from mtkd.operators import Operator
from mtkd.results import Result, Verdict
from mtkd.verify import Report

from .provenance import Provenance
from .wording import counterexample_block, readable_intervals, wrap


class Format(str, Enum):
    """Output formats of ``mtkd verify`` and ``mtkd search``."""

    TEXT = "text"
    """One line per property, the counterexample under each refutation (``--details``: everything)."""

    JSON = "json"
    """One JSON object; the schema is a contract (see the README)."""

    MARKDOWN = "markdown"
    """The table and evidence that ``mtkd report`` embeds."""

    JUNIT = "junit"
    """JUnit XML: one test case per property, the counterexample as the failure text."""

    SARIF = "sarif"
    """SARIF 2.1.0: each refutation a result at the operator's source file and line."""


STYLE = {
    Verdict.PROVED: "bold green",
    Verdict.NOT_REFUTED: "green",
    Verdict.REFUTED: "bold red",
    Verdict.UNKNOWN: "yellow",
    Verdict.ERROR: "bold magenta",
}


def certified_mark(r: Result) -> str:
    if r.verdict is not Verdict.REFUTED:
        return ""
    return "yes" if r.certified else "no"


def verdict_label(r: Result) -> str:
    """``REFUTED (certified)``, ``REFUTED (uncertified)`` (float evidence, judged in the output's own
    precision: the operator may return float32), or the verdict's name."""
    if r.verdict is Verdict.REFUTED:
        return "REFUTED (certified)" if r.certified else "REFUTED (uncertified)"
    return r.verdict.value


_SIZES = re.compile(r"K in 1\.\.(\d+), V in 2\.\.(\d+)")


def scope_mark(r: Result) -> str:
    """A few words saying how far the verdict reaches.

    >>> scope_mark(Result("axiom3", Verdict.PROVED, method="symbolic (sympy)", scope="all K >= 1, V >= 2"))
    'all K, V (sympy)'
    >>> scope_mark(Result("axiom1", Verdict.PROVED, method="smt (z3)", scope="K in 1..4, V in 2..4, open"))
    'K <= 4, V <= 4 (z3)'
    """
    if r.verdict is Verdict.PROVED:
        if r.method.startswith("symbolic"):
            return "all K, V (sympy)"
        m = _SIZES.search(r.scope)
        return f"K <= {m.group(1)}, V <= {m.group(2)} (z3)" if m else r.method
    if r.verdict is Verdict.REFUTED and r.counterexample is not None:
        where = " (corpus)" if r.method == "corpus replay" else ""
        return f"at K={r.counterexample.K}, V={r.counterexample.V}{where}"
    if r.verdict is Verdict.NOT_REFUTED:
        inputs = r.extra.get("inputs")
        partial = "partial proof + " if r.method.startswith(("smt", "symbolic")) else ""
        return f"{partial}search, {inputs} inputs" if inputs else f"{partial}search"
    return r.method


def decisive_number(r: Result) -> str:
    """The number a reader looks for: the margin of a refutation, the closest margin of a search."""
    if r.counterexample is not None:
        try:
            return f"margin {float(r.counterexample.margin):.4g}"
        except ValueError:
            return f"margin {r.counterexample.margin}"
    worst = r.extra.get("worst") if isinstance(r.extra, dict) else None
    if r.verdict is Verdict.NOT_REFUTED and isinstance(worst, dict) and worst.get("margin"):
        try:
            return f"closest margin {float(worst['margin']):.3g} (rejected)"
        except ValueError:
            pass
    return ""


def evidence(r: Result) -> str:
    """The full message, without repeating the counterexample's explanation (shown once, above it)."""
    msg = r.message
    if r.counterexample is not None and msg.startswith(r.counterexample.explanation):
        msg = msg[len(r.counterexample.explanation):].strip()
    return readable_intervals(msg)


def render(report: Report, fmt: Format, *, op: Operator | None = None, provenance: Provenance | None = None,
           details: bool = False, color: bool = False, title: str | None = None) -> str:
    if fmt is Format.JSON:
        out = report.to_json()
        if provenance is not None:
            out["provenance"] = provenance.to_json()
        return json.dumps(out, indent=2)
    if fmt is Format.MARKDOWN:
        return markdown(report)
    if fmt is Format.JUNIT:
        from .junit import junit

        return junit([report], provenance)
    if fmt is Format.SARIF:
        from .sarif import dumps as sarif_dumps
        from .sarif import sarif, source_location

        where = {report.operator: source_location(op)} if op is not None else {}
        return sarif_dumps(sarif([report], where, provenance)) + "\n"
    return text(report, details=details, color=color, title=title, provenance=provenance)


def text(report: Report, details: bool = False, color: bool = False, title: str | None = None,
         provenance: Provenance | None = None) -> str:
    buf = StringIO()
    console = Console(file=buf, width=120, force_terminal=color, color_system="standard" if color else None,
                      highlight=False, soft_wrap=True)
    domain = report.options.get("domain", "open")
    console.print(f"[bold]{escape(title or 'mtkd verify ' + report.operator)}[/]  (seed {report.seed}, engine "
                  f"{report.options.get('engine', '?')}, {domain} domain)")
    # Plug-in property ids can be longer than the built-ins' (``pool-external-bayesianity``).
    name_width = max((len(r.property) for r in report.results), default=0) + 2
    for r in report.results:
        label = verdict_label(r)
        console.print(f"  {escape(r.property):<{name_width}}[{STYLE[r.verdict]}]{escape(label):<24}[/]"
                      f"{escape(scope_mark(r)):<34}{escape(decisive_number(r))}".rstrip())
        if r.counterexample is not None:
            console.print(escape(wrap(readable_intervals(r.counterexample.explanation), "      ")))
            console.print(escape(counterexample_block(r.counterexample, "      ")))
        if r.verdict in (Verdict.ERROR, Verdict.UNKNOWN) and not details:
            console.print(escape(wrap(r.message, "      ")))
        if details:
            console.print(escape(wrap(f"method: {r.method}; scope: {r.scope}", "      ")))
            rest = evidence(r)
            if rest:
                console.print(escape(wrap(rest, "      ")))
    console.print(escape(wrap(f"operator offers: {', '.join(report.capabilities)}")))
    for note in report.limitations:
        console.print(escape(wrap(f"limitation: {note}", "  ")))
    for alarm in report.alarms:
        console.print(f"[bold red]!!! {escape(alarm)}[/]")
    if not details:
        console.print("[dim](--details: method, scope and evidence of every property)[/]")
    if provenance is not None and details:
        console.print("provenance:")
        for line in provenance.lines():
            console.print(escape(wrap(line, "  ")))
    return buf.getvalue()


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def markdown(report: Report) -> str:
    """A table of one line per property, then each property's evidence once, wrapped to 100 columns."""
    lines = [f"**Operator `{report.operator}`** (seed {report.seed}; offers {', '.join(report.capabilities)})", ""]
    lines += [wrap(f"- limitation: {note}", "") for note in report.limitations]
    lines += [f"- **{alarm}**" for alarm in report.alarms]
    lines += ["", "| property | verdict | method | scope | decisive number |", "|---|---|---|---|---|"]
    for r in report.results:
        lines.append(f"| `{r.property}` | **{verdict_label(r)}** | {_cell(r.method)} | {_cell(scope_mark(r))} | "
                     f"{_cell(decisive_number(r))} |")
    lines.append("")
    for r in report.results:
        lines.append(wrap(f"- `{r.property}` ({r.verdict.value}; {r.scope}):", ""))
        if r.counterexample is not None:
            lines.append(wrap(readable_intervals(r.counterexample.explanation), "  "))
            lines += ["", "  ```", counterexample_block(r.counterexample, "  "), "  ```", ""]
        rest = evidence(r)
        if rest:
            lines.append(wrap(rest, "  "))
    return "\n".join(lines) + "\n"


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2)
