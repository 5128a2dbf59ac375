"""Plain words for results: counterexamples as matrices, intervals as midpoint ± radius.

Every output format (assertion messages, text, JUnit, SARIF, Markdown, HTML) describes a
counterexample through these functions, so a reader sees the same words everywhere.

>>> print(matrix((("0.2", "0.75", "0.05"), ("0.1", "0.15", "0.75"))))
[[0.2  0.75  0.05]
 [0.1  0.15  0.75]]
>>> readable_intervals("margin lies in [-0.25, -0.15], by intervals")
'margin lies in -0.2 ± 0.05, by intervals'
>>> readable_intervals("margin lies in [-0.0851793, -0.0851793]")
'margin lies in -0.0851793 ± <5e-8'
"""

from __future__ import annotations

import re
import textwrap
from decimal import Decimal, InvalidOperation
from typing import Sequence

from mtkd.results import Counterexample, Result, Verdict

WIDTH = 100
"""Prose is wrapped to this width (reports promise no line over 120 characters outside tables)."""

_NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
_INTERVAL = re.compile(rf"\[\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\]")


def matrix(rows: Sequence[Sequence[str]], indent: str = "") -> str:
    """A matrix printed as a matrix: one row per line, columns aligned; continuation lines get ``indent``."""
    widths = [max(len(r[j]) for r in rows) for j in range(len(rows[0]))]
    body = ["  ".join(x.ljust(wd) for x, wd in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(("[[" if i == 0 else indent + " [") + line + ("]]" if i == len(body) - 1 else "]")
                     for i, line in enumerate(body))


def vector(values: Sequence[str]) -> str:
    return "[" + ", ".join(values) + "]"


def _half_unit(s: str) -> Decimal:
    """Half a unit in the last printed place of a decimal string (what an equal-ends interval hides)."""
    mantissa, _, exp = s.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return Decimal(5).scaleb(-decimals - 1 + (int(exp) if exp else 0))


def midpoint_radius(lo: str, hi: str) -> str:
    """``[lo, hi]`` as ``mid ± rad``; equal printed ends become ``mid ± <half a unit in the last place``."""
    try:
        a, b = Decimal(lo), Decimal(hi)
    except InvalidOperation:
        return f"[{lo}, {hi}]"
    if a == b:
        return f"{lo} ± <{_half_unit(lo):.0e}".replace("e-0", "e-").replace("e+0", "e+")
    mid, rad = (a + b) / 2, (b - a) / 2
    digits = max(1, -rad.adjusted() + 2)
    return f"{mid.quantize(Decimal(1).scaleb(-digits)).normalize():f} ± {rad:.2g}"


def readable_intervals(text: str) -> str:
    """Rewrite every ``[lo, hi]`` numeric interval in ``text`` as midpoint ± radius."""
    return _INTERVAL.sub(lambda m: midpoint_radius(m.group(1), m.group(2)), text)


def witness_words(witness: dict[str, object]) -> str:
    """The quantified variables the counterexample fixes, named as the statement names them."""
    names = {"k": "teacher k", "k2": "teacher k'", "token": "token i", "s": "student s", "log_s": "log student",
             "direction": "direction c", "w2": "second weight w'", "lam": "lambda", "part": "part"}
    parts = []
    for key, value in witness.items():
        shown = vector([str(v) for v in value]) if isinstance(value, list) and not any(
            isinstance(v, list) for v in value) else str(value)
        parts.append(f"{names.get(key, key)} = {shown}")
    return ", ".join(parts)


def counterexample_block(cx: Counterexample, indent: str = "  ") -> str:
    """The input, witness and certificate, several lines, nothing truncated."""
    lines = [f"{indent}P = " + matrix(cx.P, indent + "    "),
             f"{indent}T = {vector(cx.T)}", f"{indent}w = {vector(cx.w)}"]
    if cx.witness:
        lines.append(f"{indent}witness: {witness_words(dict(cx.witness))}")
    status = "certified" if cx.certified else "not certified"
    lines.append(wrap(f"{status}: {readable_intervals(cx.certificate) or cx.precision}", indent))
    return "\n".join(lines)


def wrap(text: str, indent: str = "", width: int = WIDTH) -> str:
    return textwrap.fill(" ".join(text.split()), width=width, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def plain_words(operator: str, result: Result, expected: str = "", certified: bool = False) -> str:
    """What an assertion about ``result`` reports: the verdict and the counterexample in plain words.

    ``expected`` is ``"satisfy"`` or ``"violate"`` (the assertion that failed), or empty.
    """
    from mtkd.theorems import get_property

    prop = get_property(result.property)
    head = (f"{operator} does not {expected} {prop.id} ({prop.title})" if expected
            else f"{operator} / {prop.id} ({prop.title})")
    if expected == "violate" and result.verdict is Verdict.REFUTED and certified and not result.certified:
        head = f"{operator}: {prop.id} is refuted only by uncertified (float64) evidence, and certified=True was asked"
    lines = [wrap(f"{head}: verdict {result.verdict.value}" + (" (certified)" if result.certified else "") + ".")]
    cx = result.counterexample
    if cx is not None:
        lines.append(wrap(readable_intervals(cx.explanation), "  "))
        lines.append(counterexample_block(cx))
    else:
        lines.append(wrap(readable_intervals(result.message), "  "))
    if result.scope:
        lines.append(wrap(f"scope: {result.scope}", "  "))
    return "\n".join(lines)
