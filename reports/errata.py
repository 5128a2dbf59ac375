"""Errata of the paper: every claim, the reading checked, the verdict, the certificate and the smallest
counterexample, as one document a reviewer can cite (``reports/errata.md``, ``reports/errata.tex``).

Built from the data of ``mtkd report`` (one :class:`~mtkd.verify.Report` per built-in operator and
the family verdicts), so the errata never disagree with the conformance matrix. The paper states
Section IV "operator-agnostic": its results are claimed for every operator satisfying Axioms 1-5.
A built-in that violates an axiom and a Section IV statement refutes the statement *for that
operator* (and the paper's claim that such operators conform), not the operator-agnostic theorem;
each row says which operators are which. Findings that refute a claim outright (a conforming
operator violating it) go first, through ``lead``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from mtkd.results import Counterexample, Result, Verdict
from mtkd.theorems import AXIOMS, FAMILY, PROPERTIES, get_property
from mtkd.verify import Report
from mtkd.wording import counterexample_block, readable_intervals, wrap

FAMILY_CLAIMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("claim-geometric", "Geometric pooling (geometric means) satisfies Axioms 1-5 (Sec. II example; Thm III.2, "
                        "family 2)", ("geometric",)),
    ("claim-power", "Power / Rényi means satisfy Axioms 1-5 (Thm III.2, family 2: 'Rényi divergences with "
                    "parameter alpha')", ("power",)),
    ("claim-entropic", "Entropic regularisation satisfies Axioms 1-5 (Thm III.1 construction 2; Thm III.2, "
                       "family 3)", ("entropic",)),
)
"""The paper's claims that named operator families conform, and the built-in names that instantiate them."""


@dataclass(frozen=True)
class Row:
    """One claim of the paper and what the suite established about it."""

    id: str
    claim: str
    reading: str
    verdict: str
    """Short: ``refuted``, ``holds (proved)``, ``not refuted``, ``unknown``."""
    detail: str
    """Which operators got which verdict, in words."""
    operator: str = ""
    """The operator of the smallest counterexample."""
    counterexample: Counterexample | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def counterexample_text(self) -> str:
        cx = self.counterexample
        if cx is None:
            return "none"
        P = "; ".join(", ".join(row) for row in cx.P)
        return f"{self.operator}: P = [{P}], T = [{', '.join(cx.T)}], w = [{', '.join(cx.w)}]"


def _size(cx: Counterexample) -> tuple[int, int, int]:
    return (cx.K * cx.V, cx.K, sum(len(v) for row in cx.P for v in row) + sum(map(len, cx.T + cx.w)))


def smallest(pairs: Sequence[tuple[str, Result]]) -> tuple[str, Result] | None:
    """The refutation with the smallest input (``K * V``, then ``K``, then the digits written);
    certified ones first."""
    refuted = [(op, r) for op, r in pairs if r.verdict is Verdict.REFUTED and r.counterexample is not None]
    if not refuted:
        return None
    return min(refuted, key=lambda p: (not p[1].certified, _size(p[1].counterexample)))  # type: ignore[arg-type]


def _by_verdict(pairs: Sequence[tuple[str, Result]]) -> str:
    groups: dict[str, list[str]] = {}
    for op, r in pairs:
        label = r.verdict.value
        if r.verdict is Verdict.REFUTED:
            label = "refuted (certified)" if r.certified else "refuted (float64 evidence only)"
        groups.setdefault(label, []).append(op)
    order = ["refuted (certified)", "refuted (float64 evidence only)", "error", "proved", "not-refuted", "unknown"]
    return "; ".join(f"{label}: {', '.join(groups[label])}" for label in order if label in groups)


def _conforming(reports: Sequence[Report]) -> list[str]:
    return [r.operator for r in reports
            if all(x.verdict in (Verdict.PROVED, Verdict.NOT_REFUTED) for x in r.results if x.property in AXIOMS)]


def _summary(pairs: Sequence[tuple[str, Result]]) -> str:
    if not pairs:
        return "not checked"
    if any(r.verdict is Verdict.REFUTED for _, r in pairs):
        return "refuted"
    if any(r.verdict is Verdict.ERROR for _, r in pairs):
        return "error"
    if pairs and all(r.verdict is Verdict.PROVED for _, r in pairs):
        return "holds (proved)"
    if any(r.verdict is Verdict.NOT_REFUTED for _, r in pairs) or pairs:
        return "not refuted"
    return "unknown"


def property_row(pid: str, reports: Sequence[Report]) -> Row:
    prop = get_property(pid)
    pairs = [(r.operator, x) for r in reports for x in r.results if x.property == pid]
    best = smallest(pairs)
    conforming = set(_conforming(reports))
    notes = []
    if pid not in AXIOMS and best is not None:
        against = sorted({op for op, r in pairs if r.verdict is Verdict.REFUTED} & conforming)
        notes.append(
            f"Refuted for operators that conform to Axioms 1-5 (within the evidence): {', '.join(against)}."
            if against else
            "Every operator refuting it also violates an axiom here, so these refute the statement for those "
            "operators (and the claim that they conform), not the operator-agnostic theorem of Sec. IV.")
    return Row(pid, f"{prop.title} ({prop.reference})", prop.wording, _summary(pairs), _by_verdict(pairs),
               best[0] if best else "", best[1].counterexample if best else None, tuple(notes))


def family_rows(reports: Sequence[Report], family: Sequence[Any]) -> list[Row]:
    rows = []
    for f in family:
        rows.append(Row(f.id, f"{f.id.replace('thm-', 'Theorem ')} ({'existence' if f.id.endswith('1') else 'non-uniqueness'}"
                              " of conforming operators)", get_property_wording(f.id), f.verdict.value,
                        readable_intervals(f.message)))
    for cid, claim, names in FAMILY_CLAIMS:
        members = [r for r in reports if r.operator.split(":")[0] in names]
        pairs = [(r.operator, x) for r in members for x in r.results if x.property in AXIOMS]
        best = smallest(pairs)
        broken = {r.operator: [x.property for x in r.results if x.property in AXIOMS and x.verdict is Verdict.REFUTED]
                  for r in members}
        detail = "; ".join(f"{op} violates {', '.join(ps)}" if ps else f"{op}: no axiom refuted"
                           for op, ps in broken.items()) or "no such operator in this report"
        verdict = "refuted" if best is not None else ("not refuted" if members else "unknown")
        rows.append(Row(cid, claim, "Axioms 1-5 as read in FORMALIZATION.md (axiom1 .. axiom5 rows)", verdict, detail,
                        best[0] if best else "", best[1].counterexample if best else None))
    return rows


def get_property_wording(fid: str) -> str:
    return FAMILY[fid].summary if fid in FAMILY else ""


def paper_properties() -> list[str]:
    """The catalogue's statements of the paper (``pool-*`` are classical pooling properties, beyond it)."""
    return [pid for pid in PROPERTIES if not pid.startswith("pool-")]


def build(reports: Sequence[Report], family: Sequence[Any], lead: Sequence[str] = ()) -> dict[str, Any]:
    """The errata rows: every paper property of the catalogue, the family theorems and the family claims."""
    paper = paper_properties()
    rows = [property_row(pid, reports) for pid in paper] + family_rows(reports, family)
    return {"rows": rows, "lead": list(lead), "operators": [r.operator for r in reports],
            "conforming": _conforming(reports)}


def markdown(errata: dict[str, Any], provenance_lines: Sequence[str], seed: int) -> str:
    rows: list[Row] = errata["rows"]
    out = ["# Errata: what the suite established about each claim of the paper", ""]
    out.append(wrap(
        "Multi-Teacher Ensemble Distillation (arXiv 2601.09165), checked by mtkd-verify against the readings of "
        f"FORMALIZATION.md on the built-in operators {', '.join(errata['operators'])} (seed {seed}; generated by "
        "'mtkd report', from the same run as conformance.md). Section IV presents its results as operator-agnostic "
        "(for every operator satisfying Axioms 1-5); operators with no refuted axiom in this run: "
        f"{', '.join(errata['conforming']) or 'none'}."))
    out.append("")
    for finding in errata["lead"]:
        out += [wrap(f"**Finding.** {finding}"), ""]
    out += ["| claim | verdict | smallest counterexample |", "|---|---|---|"]
    for row in rows:
        where = (f"`{row.operator}`, K={row.counterexample.K}, V={row.counterexample.V}" if row.counterexample
                 else "none")
        out.append(f"| [`{row.id}`](#{_anchor(row.id)}) {row.claim} | **{row.verdict}** | {where} |")
    out.append("")
    for row in rows:
        out += [f"## `{row.id}`", "", wrap(f"Claim: {row.claim}."), "", wrap(f"Reading checked: {row.reading}"), "",
                wrap(f"Verdict: **{row.verdict}**. {row.detail}.".replace("..", "."))]
        if row.notes:
            out += ["", *(wrap(n) for n in row.notes)]
        if row.counterexample is not None:
            cx = row.counterexample
            out += ["", wrap(f"Smallest counterexample ({row.operator}, K={cx.K}, V={cx.V}): "
                             f"{readable_intervals(cx.explanation)}"), "", "```", counterexample_block(cx, ""), "```"]
        out.append("")
    out += ["## Provenance", "", "```", *provenance_lines, "```", ""]
    return "\n".join(out)


def _anchor(rid: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", rid.lower())


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
          "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"$<$", ">": r"$>$",
          "±": r"$\pm$", "≤": r"$\le$", "≥": r"$\ge$", "‖": r"$\|$", "∈": r"$\in$", "→": r"$\to$", "−": "-"}


def tex_escape(text: str) -> str:
    """Plain text for a LaTeX table cell.

    >>> tex_escape("KL(q || s) <= 5% & w_k")
    'KL(q || s) $<$= 5\\\\% \\\\& w\\\\_k'
    """
    return "".join(_LATEX.get(ch, ch) for ch in text)


def _tex_matrix(cx: Counterexample) -> str:
    P = r" \\ ".join(" & ".join(row) for row in cx.P)
    return (rf"$P=\begin{{pmatrix}}{P}\end{{pmatrix}}$, $T=({', '.join(cx.T)})$, "
            rf"$w=({', '.join(cx.w)})$")


def latex(errata: dict[str, Any], seed: int) -> str:
    """A ``longtable`` (packages: ``longtable``, ``amsmath``) with one row per claim."""
    lines = [
        "% Errata of arXiv 2601.09165, generated by 'mtkd report' (mtkd-verify); seed " + str(seed) + ".",
        "% Needs \\usepackage{longtable,amsmath}.",
        r"\begin{longtable}{p{0.22\linewidth}p{0.24\linewidth}p{0.14\linewidth}p{0.32\linewidth}}",
        r"\hline Claim & Reading checked & Verdict & Smallest counterexample \\ \hline \endhead",
    ]
    for row in errata["rows"]:
        cx = row.counterexample
        cell = (tex_escape(f"{row.operator}, K={cx.K}, V={cx.V}: ") + _tex_matrix(cx) + "; "
                + tex_escape(("certified: " if cx.certified else "not certified: ")
                             + (readable_intervals(cx.certificate) or cx.precision))) if cx else "none"
        lines.append(f"\\texttt{{{tex_escape(row.id)}}}: {tex_escape(row.claim)} & {tex_escape(row.reading)} & "
                     f"\\textbf{{{tex_escape(row.verdict)}}} & {cell} \\\\ \\hline")
    lines.append(r"\end{longtable}")
    return "\n".join(lines) + "\n"
