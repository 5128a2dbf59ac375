"""The CLI's output options (``--format``, ``--details``, ``--html FILE``) and the one function that
prints a report with them, shared by ``mtkd verify`` and ``mtkd search``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable

import click

from mtkd.operators import Operator
from mtkd.verify import Report

from .format import Format, render
from .provenance import collect


def output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--format``, ``--details`` and ``--html FILE`` (passed as ``fmt``, ``details``, ``html``)."""
    fn = click.option("--html", "html", type=click.Path(dir_okay=False, path_type=Path), default=None,
                      help="Also write a self-contained HTML report (figures need the [plots] extra).")(fn)
    fn = click.option("--details", is_flag=True,
                      help="Text format: method, scope and the full evidence of every property.")(fn)
    return click.option("--format", "fmt", type=click.Choice([f.value for f in Format]), default="text",
                        show_default=True, help="text, json, markdown, junit (JUnit XML) or sarif (SARIF 2.1.0).")(fn)


def use_color() -> bool:
    """Colour only on a terminal, and never with ``NO_COLOR`` set (https://no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def emit(report: Report, op: Operator, fmt: str, details: bool, html: Path | None, title: str | None = None,
         extra_json: dict[str, Any] | None = None) -> None:
    """Print ``report`` in ``fmt`` (with provenance) and write the HTML file if asked."""
    provenance = collect()
    if fmt == Format.JSON.value and extra_json:
        import json

        out = {**report.to_json(), **extra_json, "provenance": provenance.to_json()}
        click.echo(json.dumps(out, indent=2))
    else:
        click.echo(render(report, Format(fmt), op=op, provenance=provenance, details=details, color=use_color(),
                          title=title), nl=False)
    if html is not None:
        from mtkd.reports.html import single_report

        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(single_report(report, op, provenance), encoding="utf-8")
        click.echo(f"wrote {html}", err=True)
