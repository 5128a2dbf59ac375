"""Provenance: which tool, code, dependencies, date and command produced a report.

Verdicts depend on the z3, sympy and mpmath versions (a solver may answer differently), so every
report and JSON carries them. The block is kept apart from the results: the same seed gives the
same results, while the date (and possibly the commit) differ between runs, so determinism
checks compare everything *except* the ``provenance`` block.

>>> p = collect(["mtkd", "verify", "linear"])
>>> p.command
'mtkd verify linear'
>>> sorted(p.to_json()) == sorted(FIELDS)
True
"""

from __future__ import annotations

import importlib.metadata
import platform
import shlex
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

FIELDS = ("tool_version", "git_commit", "python", "numpy", "sympy", "mpmath", "z3", "date", "command")
_DISTRIBUTIONS = {"numpy": "numpy", "sympy": "sympy", "mpmath": "mpmath", "z3": "z3-solver"}


@dataclass(frozen=True)
class Provenance:
    """What produced a report. ``git_commit`` is empty outside a git checkout."""

    tool_version: str
    git_commit: str
    python: str
    numpy: str
    sympy: str
    mpmath: str
    z3: str
    date: str
    """UTC, ISO 8601, to the second."""
    command: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    def lines(self, width: int = 100) -> list[str]:
        r"""``name: value`` lines for Markdown / text reports (one fact per line).

        A long command is continued shell-style (`` \`` at the break), so the lines stay
        readable and the command can still be pasted into a shell:

        >>> Provenance(*"abcdefgh", "mtkd report --operator linear --operator geometric").lines(30)[-3:]
        ['command: mtkd report \\', '  --operator linear \\', '  --operator geometric']
        """
        out = [f"{name.replace('_', ' ')}: {value or 'not available'}" for name, value in asdict(self).items()]
        return out[:-1] + _continued(out[-1], width)


def _continued(line: str, width: int) -> list[str]:
    """``line`` broken between shell words (never inside a quoted one) into lines of at most ``width``."""
    head, _, command = line.partition(": ")
    try:
        words = [shlex.quote(w) for w in shlex.split(command)]
    except ValueError:  # not shell syntax: leave it whole
        return [line]
    lines = [f"{head}:"]
    for word in words:
        if lines[-1] != f"{head}:" and len(lines[-1]) + 1 + len(word) > width - 2:
            lines.append("  " + word)
        else:
            lines[-1] += " " + word
    return [part + " \\" for part in lines[:-1]] + lines[-1:]


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def git_commit(where: Path | None = None) -> str:
    """The commit of the checkout holding the package (``+dirty`` with uncommitted changes), or ''."""
    where = where or Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        if head.returncode != 0:
            return ""
        dirty = subprocess.run(["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""  # no git on this machine, or it hung: the commit is simply not known
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def collect(argv: Sequence[str] | None = None) -> Provenance:
    """The provenance of this run; ``argv`` defaults to ``sys.argv`` (program name shortened)."""
    args = list(sys.argv if argv is None else argv)
    if args:
        args[0] = Path(args[0]).name
    return Provenance(
        tool_version=_version("mtkd-verify"),
        git_commit=git_commit(),
        python=f"{platform.python_version()} ({platform.python_implementation()})",
        **{key: _version(dist) for key, dist in _DISTRIBUTIONS.items()},
        date=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        command=shlex.join(args),
    )
