"""The ``mtkd`` command line. Parsing is click's; output formatting lives in :mod:`mtkd.format`."""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from mtkd import plugins
from mtkd.budget import BudgetExhausted
from mtkd.budget import wall as budget_wall
from mtkd.counterexamples import SearchConfig, corpus, search_property
from mtkd.counterexamples.backends import Backend, BackendChoice, BackendKind, open_backend
from mtkd.counterexamples.generators import DEFAULT_KS, DEFAULT_SIZES, DEFAULT_VS, size_cycle
from mtkd.counterexamples.shipping import ship
from mtkd.errors import InvalidOptionError, MtkdError, OperatorFailure
from mtkd.format import Format
from mtkd.operators import BUILTINS, Operator, load_operator
from mtkd.operators.loader import FRAMEWORKS, IMPORT_SECONDS
from mtkd.reports.conformance import DEFAULT_OPERATORS, build, write
from mtkd.theorems import FAMILY, PROPERTIES, Domain, get_property
from mtkd.verify import DEFAULT_BUDGET, Report, VerifyOptions, out_of_budget, verify, verify_all

from .corpus_dirs import project_dir
from .engines import Engine
from .output import emit, output_options

err = Console(stderr=True)

DEFAULT_WORKERS = min(2, os.cpu_count() or 1)


class PositiveSeconds(click.ParamType):
    """A finite number of seconds > 0: ``nan``, ``inf`` and ``0`` are usage errors (exit 2).

    Every float option of the CLI uses this one type, so they all reject the same inputs with the
    same message.

    >>> PositiveSeconds().convert("2.5", None, None)
    2.5
    >>> PositiveSeconds().convert("nan", None, None)
    Traceback (most recent call last):
    ...
    click.exceptions.BadParameter: nan is not in the range x>0 (finite, at most 1e+06): valid range 0 < x <= 1e+06 seconds (nan and inf are not allowed), e.g. 5 or 0.5.
    >>> PositiveSeconds().convert("1e300", None, None)
    Traceback (most recent call last):
    ...
    click.exceptions.BadParameter: 1e+300 is not in the range x>0 (finite, at most 1e+06): valid range 0 < x <= 1e+06 seconds (nan and inf are not allowed), e.g. 5 or 0.5.
    """

    name = "seconds"
    MAXIMUM = 1e6
    """About 11.6 days: anything longer is a typo, and would overflow the timers it feeds."""
    valid = f"valid range 0 < x <= {MAXIMUM:g} seconds (nan and inf are not allowed), e.g. 5 or 0.5."

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            x = float(value)
        except (TypeError, ValueError, OverflowError):
            self.fail(f"{value!r} is not a number: {self.valid}", param, ctx)
        if not (math.isfinite(x) and 0 < x <= self.MAXIMUM):
            self.fail(f"{x} is not in the range x>0 (finite, at most {self.MAXIMUM:g}): {self.valid}", param, ctx)
        return x

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "SECONDS"


class PropertyChoice(click.Choice):
    """A property id: the choices are read when the value is checked, so plug-in properties count.

    The plug-in options (``--property-module``, ``--operator-module``) are eager: they register
    their properties before this type checks ``--property``.
    """

    def __init__(self) -> None:
        super().__init__([])

    @property  # type: ignore[override]
    def choices(self) -> list[str]:
        return list(PROPERTIES)

    @choices.setter
    def choices(self, value: Any) -> None:
        """click's ``__init__`` assigns the static list; the live catalogue is used instead."""


def _load_plugin_files(ctx: click.Context, param: click.Parameter, files: tuple[str, ...]) -> None:
    for path in files:
        try:
            plugins.load_module_file(path)
        except MtkdError as exc:
            raise click.BadParameter(str(exc), ctx, param) from None


PLUGIN_OPTIONS = (
    click.option("--property-module", multiple=True, type=click.Path(dir_okay=False), is_eager=True,
                 expose_value=False, callback=_load_plugin_files,
                 help="A Python file defining Property subclasses to check as well (repeatable)."),
    click.option("--operator-module", multiple=True, type=click.Path(dir_okay=False), is_eager=True,
                 expose_value=False, callback=_load_plugin_files,
                 help="A Python file defining BuiltinOperator subclasses to register by name (repeatable)."),
)


def plugin_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(PLUGIN_OPTIONS):
        fn = option(fn)
    return fn


SECONDS = PositiveSeconds()


class SizeList(click.ParamType):
    """Sizes as ``3``, ``1..5`` or ``2,4,8`` within ``[lo, hi]``.

    >>> SizeList("K", 1, 64).convert("1..3", None, None)
    (1, 2, 3)
    >>> SizeList("V", 2, 100).convert("64,2", None, None)
    (2, 64)
    """

    name = "sizes"

    def __init__(self, what: str, lo: int, hi: int) -> None:
        self.what, self.lo, self.hi = what, lo, hi

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, ...]:
        if isinstance(value, tuple):
            return value
        try:
            out: set[int] = set()
            for part in str(value).split(","):
                a, dots, b = part.strip().partition("..")
                out.update(range(int(a), int(b) + 1) if dots else (int(a),))
        except ValueError:
            self.fail(f"{value!r} is not a list of {self.what} values: write e.g. 3, 1..5 or 2,4,8.", param, ctx)
        if not out or min(out) < self.lo or max(out) > self.hi:
            self.fail(f"{value!r}: every {self.what} must be in {self.lo}..{self.hi}.", param, ctx)
        return tuple(sorted(out))
SEED = click.IntRange(min=0)
"""numpy's generators take non-negative seeds only."""


def check_corpus_dir(corpus_dir: str, save: bool) -> None:
    """Reject an unusable ``--corpus`` directory before any work (exit 2), not after it.

    >>> check_corpus_dir("/dev/null", save=True)
    Traceback (most recent call last):
    ...
    mtkd.errors.InvalidOptionError: --corpus '/dev/null' is not a directory. Give a directory (it is created if missing), or leave --corpus out to use the committed corpus.
    """
    if not corpus_dir:
        return
    path = Path(corpus_dir)
    try:
        exists = path.exists()
        is_dir = path.is_dir()
    except (OSError, ValueError) as exc:  # e.g. a name longer than the file system allows
        raise InvalidOptionError(f"--corpus {corpus_dir[:80]!r}{'...' if len(corpus_dir) > 80 else ''} cannot be used: "
                                 f"{getattr(exc, 'strerror', None) or exc}. Give a shorter, valid directory path.") from None
    if exists and not is_dir:
        raise InvalidOptionError(f"--corpus {corpus_dir!r} is not a directory. Give a directory (it is created if "
                                 "missing), or leave --corpus out to use the committed corpus.")
    if not save:
        return
    existing = path
    while not existing.exists():  # --save creates missing directories: the nearest existing one must allow it
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise InvalidOptionError(f"--corpus {corpus_dir!r} cannot be created: {str(existing)!r} is not a directory.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InvalidOptionError(f"--save cannot write into --corpus {corpus_dir!r}: {str(existing)!r} is not "
                                 "writable. Choose a writable directory with --corpus.")


def _show_warning(message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None,
                  line: str | None = None) -> None:
    """Warnings (e.g. a skipped corpus file) as one line on stderr, not Python's source excerpt."""
    err.print(f"[yellow]warning:[/] {message}", highlight=False)


def _show_unraisable(unraisable: Any) -> None:
    """An error in a destructor (e.g. a z3 context the --budget alarm interrupted while it was being
    built) is one line on stderr, not a traceback: it changes no result."""
    if os.environ.get("MTKD_DEBUG"):
        sys.__unraisablehook__(unraisable)
        return
    err.print(f"[yellow]warning:[/] ignored {type(unraisable.exc_value).__name__} while cleaning up "
              f"{getattr(unraisable.object, '__qualname__', type(unraisable.object).__name__)}", highlight=False)


def _guard(fn: Callable[..., Any]) -> Callable[..., Any]:
    """User mistakes become one paragraph on stderr and exit code 2, never a traceback."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MtkdError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            # The backend's context manager has cancelled its tasks and stopped its workers.
            err.print("[bold red]interrupted[/] (Ctrl-C): pending tasks cancelled and workers stopped; the run is "
                      "incomplete, so no results are reported.", highlight=False)
            sys.stdout.flush()
            sys.stderr.flush()
            # Not sys.exit: the interpreter's exit hooks join executor threads of the terminated pool,
            # which can block when the interrupt landed while the pool was starting.
            os._exit(130)
        except OperatorFailure as exc:  # outside any property's check (e.g. report extras)
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get("MTKD_DEBUG"):
                raise
            # Never exit 0, never a raw traceback: one paragraph, and how to get the details.
            err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}. This is a bug in mtkd; run again "
                      "with MTKD_DEBUG=1 for the traceback and report it.", highlight=False)
            sys.exit(3)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mtkd-verify")
def main() -> None:
    """Verify multi-teacher distillation aggregation operators against the paper's axioms."""
    try:
        plugins.load_entry_points()
    except MtkdError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(exc.exit_code)
    warnings.showwarning = _show_warning
    sys.unraisablehook = _show_unraisable


@main.command("list")
@plugin_options
def list_cmd() -> None:
    """Built-in operators and property ids, one line each."""
    click.echo("Operators:")
    for name, cls in BUILTINS.items():
        params = "".join(f"  [{k}: {v}]" for k, v in cls.param_doc.items())
        click.echo(f"  {name:<10} {cls.formula}{params}")
    click.echo("Properties:")
    for pid, prop in PROPERTIES.items():
        click.echo(f"  {pid:<26} {prop.title}")
    for pid, family in FAMILY.items():
        click.echo(f"  {pid:<26} {family.summary}")


def _progress() -> tuple[Progress, Callable[[str, int, float], None]]:
    bar = Progress(TextColumn("{task.description:<24}"), BarColumn(), TextColumn("{task.fields[info]}"),
                   TimeElapsedColumn(), console=err, transient=True)
    task = bar.add_task("", total=None, info="")

    def update(pid: str, inputs: int, best: float) -> None:
        bar.update(task, description=pid, info=f"{inputs} inputs, worst margin {best:.3g}")

    return bar, update


def backend_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--backend`` and ``--scheduler``: where the tasks run (never what they compute)."""
    fn = click.option("--scheduler", default=None, metavar="ADDRESS",
                      help="dask: the scheduler's address (tcp://HOST:8786); ray: ray://HOST:10001 or auto. "
                           "Default: start --workers workers on this machine for the run.")(fn)
    return click.option("--backend", type=click.Choice([b.value for b in BackendKind]), default="local",
                        show_default=True,
                        help="Where tasks run: local (this process, or a process pool for --workers > 1), "
                             "dask or ray (extras [dask], [ray]). The results are the same on every backend.")(fn)


def _backend(kind: str, workers: int, scheduler: str | None) -> Backend:
    if scheduler is not None and kind == BackendKind.LOCAL.value:
        raise click.UsageError(
            f"--scheduler {scheduler!r} needs --backend dask or ray; the local backend has no scheduler. "
            "Drop --scheduler, or add --backend dask (tcp://HOST:8786) / --backend ray (ray://HOST:10001).")
    return open_backend(BackendChoice(BackendKind(kind), workers, scheduler))


FRAMEWORK_OPTION = click.option(
    "--framework", type=click.Choice(list(FRAMEWORKS)), default="auto", show_default=True,
    help="For an operator without a batched form: build one with torch.func.vmap (torch) or jax.vmap (jax) of "
         "its single-input form, used only if it agrees with it (auto: the framework the operator returns; "
         "numpy: never).")

DOMAIN_OPTION = click.option(
    "--domain", type=click.Choice([d.value for d in Domain]), default=Domain.OPEN.value, show_default=True,
    help="open: every teacher entry > 0 (where the proofs live); closed: search teachers with exact zeros.")


@main.command()
@click.argument("operator")
@click.option("--property", "-p", "properties", multiple=True, type=PropertyChoice(),
              help="Check only these property ids (repeatable). Default: all.")
@click.option("--seed", type=SEED, default=0, show_default=True, help="Seed for every random choice.")
@click.option("--budget", type=SECONDS, default=DEFAULT_BUDGET, show_default=True,
              help="Search seconds for the whole run: a safety cap, set well above what the --max-inputs "
                   "quota needs, so that the quota (and so the seed) decides the report.")
@click.option("--max-inputs", type=click.IntRange(min=1), default=6000, show_default=True,
              help="Search inputs per property.")
@click.option("--engine", type=click.Choice([e.value for e in Engine]), default="all", show_default=True)
@click.option("--max-k", type=click.IntRange(1, 12), default=4, show_default=True, help="SMT scope: teachers.")
@click.option("--max-v", type=click.IntRange(2, 12), default=4, show_default=True, help="SMT scope: tokens.")
@click.option("--call-timeout", type=SECONDS, default=5.0, show_default=True,
              help="Seconds one operator call may take before it counts as hung (its worker process is killed).")
@click.option("--import-timeout", type=SECONDS, default=IMPORT_SECONDS, show_default=True,
              help="Seconds importing a user operator (in its worker process) may take.")
@output_options
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes (local: properties checked side by side; 1 = in this process, no start-up cost) or "
                   "workers (a dask LocalCluster / local Ray); the report is the same for any value.")
@click.option("--save", is_flag=True, help="Save every certified counterexample to the corpus.")
@click.option("--corpus", "corpus_dir", type=click.Path(file_okay=False), default="",
              help="Project corpus to replay first and --save into (default: $MTKD_CORPUS or ./.mtkd/corpus); "
                   "the packaged corpus of the built-ins is replayed after it.")
@click.option("--no-corpus", is_flag=True, help="Do not replay saved counterexamples first.")
@DOMAIN_OPTION
@plugin_options
@backend_options
@click.option("--k", "ks", type=SizeList("K", 1, 64), default=None,
              help="Teacher counts the search visits, e.g. 3, 1..5 or 2,4 (default 1..5).")
@click.option("--v", "vs", type=SizeList("V", 2, 100_000), default=None,
              help="Vocabulary sizes the search visits, e.g. 64, 2..8 or 2,3,4,8,16,64 (the default).")
@click.option("--temperature-range", "t_range", type=(SECONDS, SECONDS), default=None, metavar="LO HI",
              help="Search temperatures in [LO, HI] only (default: 1e-6..1e6), e.g. where the operator is defined.")
@FRAMEWORK_OPTION
@_guard
def verify_cmd(operator: str, properties: tuple[str, ...], seed: int, budget: float, max_inputs: int,
               engine: str, max_k: int, max_v: int, call_timeout: float, import_timeout: float, fmt: str,
               details: bool, html: Path | None, workers: int, save: bool, corpus_dir: str, no_corpus: bool,
               domain: str, backend: str, scheduler: str | None, ks: tuple[int, ...] | None,
               vs: tuple[int, ...] | None, t_range: tuple[float, float] | None, framework: str) -> None:
    """Check OPERATOR (built-in name, package.module:attr or file.py:attr) against every property."""
    if t_range is not None and t_range[0] > t_range[1]:
        raise click.BadParameter(f"LO = {t_range[0]:g} is above HI = {t_range[1]:g}; give the range as LO HI.",
                                 param_hint="--temperature-range")
    check_corpus_dir(corpus_dir, save)
    op = load_operator(operator, time_limit=call_timeout, import_timeout=import_timeout, budget=budget,
                       framework=framework)
    sizes = size_cycle(ks or DEFAULT_KS, vs or DEFAULT_VS)
    options = VerifyOptions(seed=seed, budget=budget, max_inputs=max_inputs, engine=Engine(engine),
                            properties=properties, max_k=max_k, max_v=max_v, workers=workers,
                            corpus=None if no_corpus else corpus_dir, domain=Domain(domain), sizes=sizes,
                            temperature_range=t_range)
    with _backend(backend, workers, scheduler) as runner:
        if fmt == Format.TEXT.value:
            err.print(f"mtkd verify {op.spec}: seed {seed}, budget {budget:g} s, engine {engine}, "
                      f"{Domain(domain).label}, backend {_where(runner)}")
            if runner.in_process:
                bar, update = _progress()
                with bar:
                    report = verify(op, options, update)
            else:
                with _jobs_bar() as tick:
                    report = verify_all([(op, options)], runner, tick)[0]
            for note in filter(None, [report.run.get("note")]):
                err.print(f"note: {note}", highlight=False)
        else:
            report = verify(op, options, backend=runner)
    emit(report, op, fmt, details, html)
    code = report.exit_code
    if save:
        # After the report is out: a failing save must not lose it.
        code = max(code, _save(op, report, seed, corpus_dir))
    sys.exit(code)


def _save(op: Operator, report: Report, seed: int, corpus_dir: str) -> int:
    """Save the certified counterexamples; the exit code is 2 if one could not be saved."""
    code = 0
    for r in report.results:
        if r.counterexample is not None and r.certified and r.method != "corpus replay":
            try:
                path = corpus.save(op, get_property(r.property), r.counterexample, seed, project_dir(corpus_dir))
            except MtkdError as exc:
                err.print(f"[bold red]error:[/] {exc}", highlight=False)
                code = 2
                continue
            err.print(f"saved {path}", highlight=False)
    return code


verify_cmd.name = "verify"
main.add_command(verify_cmd, "verify")


@main.command("report")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"), show_default=True,
              help="Directory for conformance.md/.json, errata.md/.tex and statements.tex.")
@click.option("--operator", "operators", multiple=True, help="Operators to include (default: the built-ins).")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--budget", type=SECONDS, default=DEFAULT_BUDGET, show_default=True,
              help="Search seconds per operator: a safety cap; the --max-inputs quota decides the work.")
@click.option("--max-inputs", type=click.IntRange(min=1), default=6000, show_default=True)
@click.option("--engine", type=click.Choice([e.value for e in Engine]), default="all", show_default=True)
@click.option("--html", "html", is_flag=True,
              help="Also write conformance.html: one self-contained page, heat map and a figure per refutation.")
@click.option("--workers", type=click.IntRange(min=1), default=DEFAULT_WORKERS, show_default=True,
              help="Processes (local) or workers (a dask LocalCluster / local Ray); the report is the same.")
@plugin_options
@backend_options
@_guard
def report_cmd(out: Path, operators: tuple[str, ...], seed: int, budget: float, max_inputs: int, engine: str,
               html: bool, workers: int, backend: str, scheduler: str | None) -> None:
    """Conformance matrix, errata of the paper (errata.md, errata.tex) and statements, written to OUT.

    Operators registered by plug-ins (entry points, --operator-module) are included by default.
    """
    specs = operators or (*DEFAULT_OPERATORS, *plugins.PLUGIN_OPERATORS)
    for spec in specs:
        load_operator(spec)  # fail fast, before minutes of work, on a bad spec
    options = VerifyOptions(seed=seed, budget=budget, max_inputs=max_inputs, engine=Engine(engine))
    with _backend(backend, workers, scheduler) as runner:
        err.print(f"mtkd report: {len(specs)} operators, seed {seed}, engine {engine}, backend {_where(runner)}")
        with _jobs_bar() as tick:
            data = build(tuple(specs), options, backend=runner, done=tick)
    for path in write(data, out, html=html):
        click.echo(f"wrote {path}")
    for r in data["reports"]:
        for alarm in r.alarms:
            err.print(f"[bold red]!!! {alarm}[/]")
    sys.exit(1 if any(r.alarms for r in data["reports"]) else 0)


@main.command("search")
@click.argument("operator")
@click.argument("property_id", metavar="PROPERTY", type=PropertyChoice())
@click.option("--budget", type=SECONDS, default=10.0, show_default=True,
              help="Seconds to hunt (a cap; --max-inputs fixes the reproducible amount of work).")
@click.option("--max-inputs", type=click.IntRange(min=1), default=400_000, show_default=True)
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--k", "k", type=click.IntRange(1, 64), default=None, help="Fix the number of teachers.")
@click.option("--v", "v", type=click.IntRange(2, 1 << 20), default=None, help="Fix the vocabulary size.")
@click.option("--workers", type=click.IntRange(min=1), default=DEFAULT_WORKERS, show_default=True,
              help="Processes; the result is the same for any value.")
@click.option("--call-timeout", type=SECONDS, default=5.0, show_default=True)
@click.option("--import-timeout", type=SECONDS, default=IMPORT_SECONDS, show_default=True)
@click.option("--save", is_flag=True, help="Save the certified counterexample to the corpus.")
@click.option("--corpus", "corpus_dir", type=click.Path(file_okay=False), default="",
              help="Project corpus for --save (default: $MTKD_CORPUS or ./.mtkd/corpus).")
@output_options
@click.option("--memory-mb", type=click.IntRange(min=64), default=1024, show_default=True,
              help="Peak search memory per worker: at large K*V the batch is cut to fit (same cut on every "
                   "backend, so results do not depend on it being the same machine).")
@DOMAIN_OPTION
@plugin_options
@backend_options
@FRAMEWORK_OPTION
@_guard
def search_cmd(operator: str, property_id: str, budget: float, max_inputs: int, seed: int, k: int | None,
               v: int | None, workers: int, call_timeout: float, import_timeout: float, save: bool, corpus_dir: str,
               fmt: str, details: bool, html: Path | None, memory_mb: int, domain: str, backend: str,
               scheduler: str | None, framework: str) -> None:
    """Hunt for a counterexample to one PROPERTY of OPERATOR; print the best one found.

    Exit code 0 when nothing was refuted, 1 when refuted or the operator failed, 2 on usage errors.
    """
    check_corpus_dir(corpus_dir, save)
    op = load_operator(operator, time_limit=call_timeout, import_timeout=import_timeout, budget=budget,
                       framework=framework)
    prop = get_property(property_id)
    sizes = tuple((kk, vv) for kk, vv in _sizes(k, v, DEFAULT_SIZES))
    config = SearchConfig(seed=seed, seconds=budget, max_inputs=max_inputs, sizes=sizes, workers=workers,
                          stop_at_first=True, domain=Domain(domain), memory_mb=memory_mb)
    bar = Progress(TextColumn(f"{prop.id:<16}"), BarColumn(), TextColumn("{task.fields[info]}"),
                   console=err, transient=True, disable=fmt != Format.TEXT.value)
    task = bar.add_task("", total=budget, info="")
    t0 = time.monotonic()

    def update(inputs: int, best: float) -> None:
        spent = time.monotonic() - t0
        bar.update(task, completed=min(spent, budget),
                   info=f"{inputs} inputs, best margin {best:.3g}, {max(0.0, budget - spent):.1f} s left")

    with _backend(backend, workers, scheduler) as runner:
        if fmt == Format.TEXT.value:
            err.print(f"mtkd search {op.spec} {prop.id}: seed {seed}, backend {_where(runner)}", highlight=False)
        with bar, budget_wall(budget):
            try:
                result = search_property(op, prop, config, update, backend=runner)
            except BudgetExhausted:
                result = out_of_budget(prop.id, budget, time.monotonic() - t0)
        run = runner.describe()
    shipped = ship(op, prop)
    if isinstance(shipped, str) and not runner.in_process:
        run = {"backend": "local", "workers": 1, "note": f"searched in this process: {shipped}"}
    report = Report(op.spec, seed, op.capabilities, tuple(op.limitations()), (result,), (),
                    {"budget": budget, "max_inputs": max_inputs, "engine": "search", "domain": domain,
                     "sizes": [list(s) for s in sizes] if k or v else "default"}, run)
    emit(report, op, fmt, details, html, title=f"mtkd search {op.spec} {prop.id}",
         extra_json={"time_to_first_certified": result.extra.get("time_to_first_certified")})
    code = report.exit_code
    if save:
        code = max(code, _save(op, report, seed, corpus_dir))
    sys.exit(code)


def _where(runner: Backend) -> str:
    """``local (in-process)``, ``local (2 processes)``, ``dask (2 workers, LocalCluster)``..."""
    run = runner.describe()
    if runner.kind is BackendKind.LOCAL:
        return "local (in-process)" if runner.in_process else f"local ({run['workers']} processes)"
    return f"{run['backend']} ({run['workers']} workers, {run.get('scheduler')})"


@contextlib.contextmanager
def _jobs_bar() -> Iterator[Callable[[int, int], None]]:
    """One progress bar over every worker's jobs (operator x property)."""
    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} jobs"),
                   TimeElapsedColumn(), console=err, transient=True)
    task = bar.add_task("checking", total=None)

    def tick(finished: int, total: int) -> None:
        bar.update(task, completed=finished, total=total)

    with bar:
        yield tick


def _sizes(k: int | None, v: int | None, default: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    """--k/--v fix one or both dimensions; the other keeps its default cycle."""
    ks = [k] if k else sorted({kk for kk, _ in default})
    vs = [v] if v else sorted({vv for _, vv in default})
    return [(kk, vv) for vv in vs for kk in ks]


@main.command("replay")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_guard
def replay_cmd(files: tuple[str, ...]) -> None:
    """Re-decide saved counterexample FILEs: does each violation still stand?

    Exit code 0 when all stand, 1 when any no longer does, 2 when a file is unreadable or names an
    unknown operator or property (the other files are still replayed).
    """
    code = 0
    for name in files:
        try:
            r = corpus.replay(Path(name))
        except MtkdError as exc:
            err.print(f"[bold red]error:[/] {exc}", highlight=False)
            code = 2
            continue
        except OperatorFailure as exc:
            click.echo(f"{name}: NO LONGER STANDS — the operator failed while replaying it: {exc}")
            code = max(code, 1)
            continue
        mark = "stands" if r.stands else "NO LONGER STANDS"
        assert r.entry is not None
        click.echo(f"{name}: {r.entry.operator} / {r.entry.property}: {mark} — {r.message}")
        if not r.stands and code == 0:
            code = 1
    sys.exit(code)
