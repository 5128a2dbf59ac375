"""The one place that turns reports into text, markdown and JSON."""

from __future__ import annotations

import json
from enum import Enum
from io import StringIO
from typing import Any

from rich.console import Console
from rich.table import Table

from mtkd.results import Result, Verdict
from mtkd.verify import Report


class Format(str, Enum):
    """Output formats of ``mtkd verify`` and ``mtkd search``."""

    TEXT = "text"
    """A rich terminal table (the default)."""

    JSON = "json"
    """One JSON object; the schema is a contract (see the README)."""

    MARKDOWN = "markdown"
    """The table that ``mtkd report`` embeds."""


STYLE = {
    Verdict.PROVED: "bold green",
    Verdict.NOT_REFUTED: "green",
    Verdict.REFUTED: "bold red",
    Verdict.UNKNOWN: "yellow",
    Verdict.ERROR: "bold magenta",
}


def summary(r: Result, width: int = 110) -> str:
    """One line about the evidence: the counterexample's explanation, or the message."""
    text = r.counterexample.explanation if r.counterexample is not None else r.message
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def certified_mark(r: Result) -> str:
    if r.verdict is not Verdict.REFUTED:
        return ""
    return "yes" if r.certified else "no"


def render(report: Report, fmt: Format) -> str:
    if fmt is Format.JSON:
        return json.dumps(report.to_json(), indent=2)
    if fmt is Format.MARKDOWN:
        return markdown(report)
    return text(report)


def text(report: Report) -> str:
    table = Table(title=f"mtkd verify {report.operator}  (seed {report.seed})", show_lines=False, expand=True)
    for col, kw in (("property", {"no_wrap": True}), ("verdict", {"no_wrap": True}), ("cert.", {}),
                    ("method", {}), ("scope", {"ratio": 1}), ("evidence", {"ratio": 3})):
        table.add_column(col, **kw)
    for r in report.results:
        table.add_row(r.property, f"[{STYLE[r.verdict]}]{r.verdict.value}[/]", certified_mark(r), r.method,
                      r.scope, summary(r, 200))
    buf = StringIO()
    console = Console(file=buf, width=160, force_terminal=False, color_system=None)
    console.print(table)
    console.print(f"operator offers: {', '.join(report.capabilities)}")
    for note in report.limitations:
        console.print(f"  limitation: {note}")
    for alarm in report.alarms:
        console.print(f"!!! {alarm}")
    return buf.getvalue()


def _cell(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def markdown(report: Report) -> str:
    lines = [f"**Operator `{report.operator}`** (seed {report.seed}; offers {', '.join(report.capabilities)})", ""]
    lines += [f"- limitation: {note}" for note in report.limitations]
    lines += [f"- **{alarm}**" for alarm in report.alarms]
    lines += ["", "| property | verdict | certified | method | scope | evidence |", "|---|---|---|---|---|---|"]
    for r in report.results:
        lines.append(f"| `{r.property}` | **{r.verdict.value}** | {certified_mark(r)} | {_cell(r.method)} | "
                     f"{_cell(r.scope)} | {_cell(summary(r, 400))} |")
    return "\n".join(lines) + "\n"


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2)
