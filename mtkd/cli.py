"""The ``mtkd`` command line. Parsing is click's; output formatting lives in :mod:`mtkd.format`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from mtkd.errors import MtkdError
from mtkd.format import Format, render
from mtkd.operators import BUILTINS, load_operator
from mtkd.theorems import FAMILY_IDS, PROPERTIES
from mtkd.verify import VerifyOptions, verify

from .engines import Engine

err = Console(stderr=True)


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """User mistakes become one paragraph on stderr and exit code 2, never a traceback."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MtkdError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            sys.exit(exc.exit_code)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mtkd-verify")
def main() -> None:
    """Verify multi-teacher distillation aggregation operators against the paper's axioms."""


@main.command("list")
def list_cmd() -> None:
    """Built-in operators and property ids, one line each."""
    click.echo("Operators:")
    for name, cls in BUILTINS.items():
        params = "".join(f"  [{k}: {v}]" for k, v in cls.param_doc.items())
        click.echo(f"  {name:<10} {cls.formula}{params}")
    click.echo("Properties:")
    for pid, prop in PROPERTIES.items():
        click.echo(f"  {pid:<24} {prop.title}")
    for pid, text in FAMILY_IDS.items():
        click.echo(f"  {pid:<24} {text}")


def _progress() -> tuple[Progress, Callable[[str, int, float], None]]:
    bar = Progress(TextColumn("{task.description:<24}"), BarColumn(), TextColumn("{task.fields[info]}"),
                   TimeElapsedColumn(), console=err, transient=True)
    task = bar.add_task("", total=None, info="")

    def update(pid: str, inputs: int, best: float) -> None:
        bar.update(task, description=pid, info=f"{inputs} inputs, worst margin {best:.3g}")

    return bar, update


@main.command()
@click.argument("operator")
@click.option("--property", "-p", "properties", multiple=True, type=click.Choice(list(PROPERTIES)),
              help="Check only these property ids (repeatable). Default: all.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for every random choice.")
@click.option("--budget", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
              help="Search seconds for the whole run (a cap; --max-inputs fixes the work).")
@click.option("--max-inputs", type=click.IntRange(min=1), default=6000, show_default=True,
              help="Search inputs per property.")
@click.option("--engine", type=click.Choice([e.value for e in Engine]), default="all", show_default=True)
@click.option("--max-k", type=click.IntRange(1, 12), default=4, show_default=True, help="SMT scope: teachers.")
@click.option("--max-v", type=click.IntRange(2, 12), default=4, show_default=True, help="SMT scope: tokens.")
@click.option("--call-timeout", type=click.FloatRange(min=0, min_open=True), default=5.0, show_default=True,
              help="Seconds one operator call may take before it counts as hung.")
@click.option("--format", "fmt", type=click.Choice([f.value for f in Format]), default="text", show_default=True)
@_guard
def verify_cmd(operator: str, properties: tuple[str, ...], seed: int, budget: float, max_inputs: int,
               engine: str, max_k: int, max_v: int, call_timeout: float, fmt: str) -> None:
    """Check OPERATOR (built-in name, package.module:attr or file.py:attr) against every property."""
    op = load_operator(operator, time_limit=call_timeout)
    options = VerifyOptions(seed=seed, budget=budget, max_inputs=max_inputs, engine=Engine(engine),
                            properties=properties, max_k=max_k, max_v=max_v)
    if fmt == Format.TEXT.value:
        err.print(f"mtkd verify {op.spec}: seed {seed}, budget {budget:g} s, engine {engine}")
        bar, update = _progress()
        with bar:
            report = verify(op, options, update)
    else:
        report = verify(op, options)
    click.echo(render(report, Format(fmt)))
    sys.exit(report.exit_code)


verify_cmd.name = "verify"
main.add_command(verify_cmd, "verify")


@main.command("report")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"), show_default=True,
              help="Directory for conformance.md and conformance.json.")
@click.option("--operator", "operators", multiple=True, help="Operators to include (default: the built-ins).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--budget", type=click.FloatRange(min=0, min_open=True), default=20.0, show_default=True,
              help="Search seconds per operator.")
@click.option("--max-inputs", type=click.IntRange(min=1), default=6000, show_default=True)
@click.option("--engine", type=click.Choice([e.value for e in Engine]), default="all", show_default=True)
@_guard
def report_cmd(out: Path, operators: tuple[str, ...], seed: int, budget: float, max_inputs: int, engine: str) -> None:
    """Conformance matrix of every built-in operator (or the given ones), written to OUT."""
    from mtkd.reports.conformance import DEFAULT_OPERATORS, build, write

    specs = operators or DEFAULT_OPERATORS
    for spec in specs:
        load_operator(spec)  # fail fast, before minutes of work, on a bad spec
    options = VerifyOptions(seed=seed, budget=budget, max_inputs=max_inputs, engine=Engine(engine))
    err.print(f"mtkd report: {len(specs)} operators, seed {seed}, engine {engine}")
    with err.status("") as status:
        data = build(tuple(specs), options, lambda spec: status.update(f"verifying {spec}"))
    for path in write(data, out):
        click.echo(f"wrote {path}")
    for r in data["reports"]:
        for alarm in r.alarms:
            err.print(f"[bold red]!!! {alarm}[/]")
    sys.exit(1 if any(r.alarms for r in data["reports"]) else 0)
