"""Each result's scope at a glance: a short mark and the matrix cell text, plus the legend.

The data goes into ``Result.extra`` (``scope_mark``, ``cell``) so every output format can show it;
the report prints :data:`LEGEND` under its matrix. The mark is derived from what established the
verdict, never from its wording alone:

* ``∀`` — a sympy-checked argument for all ``K >= 1``, ``V >= 2`` (the symbolic engine sets it);
* ``K,V≤4`` — z3 decided every size up to the SMT scope and no all-size argument is implemented;
* ``partial`` — a proof of part of the statement or of some sizes / fixed weights, the rest searched;
* ``searched`` — the search budget was spent without a counterexample;
* ``cert.`` / ``uncert.`` — a refutation and whether its sign was certified;
* ``n/a`` — the statement does not apply (e.g. ``thm-IV.2`` where ``assumption-L`` is refuted).

>>> from mtkd.results import Result, Verdict
>>> scope_mark(Result("axiom1", Verdict.NOT_REFUTED, message="6960 inputs"), 4, 4)
'searched'
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from mtkd.results import Result, Verdict

LEGEND: tuple[tuple[str, str], ...] = (
    ("proved ∀", "proved for all K ≥ 1, V ≥ 2 on the open domain by a sympy-checked argument (each step "
                 "checked by sympy; classical theorems cited by name)."),
    ("proved K,V≤n", "proved by z3 for every size up to the SMT scope only: z3 decides one polynomial sentence "
                     "per (K, V) (the number of variables grows with K·V), and no all-size argument is "
                     "implemented for this cell."),
    ("not-refuted (partial)", "part of the statement (some sizes, fixed weights, or one part such as axiom5 (a)) "
                              "was proved; the rest was only searched."),
    ("not-refuted (searched)", "the search budget was spent without a counterexample; nothing was proved."),
    ("REFUTED (cert.)", "a counterexample whose sign was established by exact or interval arithmetic "
                        "(for axiom4: a jump certified at three scales, see the counterexample)."),
    ("REFUTED (uncert.)", "a counterexample from float64 or 50-digit evidence only."),
    ("n/a", "the statement does not apply to this operator (thm-IV.2 needs assumption-L in its separable form; "
            "axiom2 is stated for the open domain only)."),
)


def scope_mark(r: Result, max_k: int, max_v: int) -> str:
    if "scope_mark" in r.extra:
        return str(r.extra["scope_mark"])
    if r.method == "not applicable":
        return "n/a"
    if r.verdict is Verdict.PROVED:
        sizes = r.proof.sizes if r.proof is not None else None
        return "∀" if sizes is None and "smt" not in r.method else f"K,V≤{max(max_k, max_v)}"
    if r.verdict is Verdict.NOT_REFUTED:
        return "partial" if r.message.startswith("Partial proof") else "searched"
    if r.verdict is Verdict.REFUTED:
        return "cert." if r.certified else "uncert."
    return ""


def cell(r: Result, mark: str) -> str:
    """The matrix cell: verdict and mark (markdown emphasis on refutations, as before)."""
    if mark.startswith("n/a"):
        return mark
    if r.verdict is Verdict.REFUTED:
        return f"**REFUTED** ({mark})"
    if r.verdict is Verdict.PROVED:
        return f"proved {mark}"
    if r.verdict is Verdict.NOT_REFUTED:
        return f"not-refuted ({mark})"
    return r.verdict.value if not mark else f"{r.verdict.value} ({mark})"


REQUIRES_L = ("assumption-L", "assumption-L-separable")
"""thm-IV.2 applies to an operator only where these hold (the paper: "Specifically, q(i) = Σ w_k f_k(...)")."""


def not_applicable(results: Iterable[Result]) -> dict[str, str]:
    """Property id -> why it does not apply, from the other results of the same operator."""
    refuted = [r.property for r in results if r.property in REQUIRES_L and r.verdict is Verdict.REFUTED]
    return {"thm-IV.2": f"n/a ({refuted[0]} refuted)"} if refuted else {}


def annotate(results: Iterable[Result], max_k: int, max_v: int) -> tuple[Result, ...]:
    """``results`` with ``scope_mark`` and ``cell`` in ``extra``; inapplicable statements become ``n/a``."""
    results = tuple(results)
    skip = not_applicable(results)
    out = []
    for r in results:
        if r.property in skip and r.verdict is not Verdict.REFUTED:
            r = replace(r, verdict=Verdict.UNKNOWN, method="not applicable",
                        message=f"Not applicable ({skip[r.property][5:-1]}): the paper assumes assumption-L, "
                                "q(i) = Σ_k w_k f_k(Q_k(i)), for this theorem, and it fails for this operator, so "
                                f"the operator-independent inequality says nothing about it. The inequality itself: "
                                f"{r.verdict.value} ({r.method}; {r.scope}). {r.message}",
                        extra={**r.extra, "scope_mark": skip[r.property]})
        mark = scope_mark(r, max_k, max_v)
        out.append(replace(r, extra={**r.extra, "scope_mark": mark, "cell": cell(r, mark)}))
    return tuple(out)
