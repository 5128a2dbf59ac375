"""The SMT layer: prove or refute a property of a built-in operator for every small size with z3.

For each size (K teachers, V tokens, and the fixed weights when the operator needs them) the
property's *violation* is encoded as a polynomial system over the temperature-scaled teachers
``Q`` (bijection lemma, FORMALIZATION.md) and handed to z3's nlsat under hard limits
(:mod:`.smt_runner`). ``unsat`` proves the property at that size; ``sat`` yields a model that
:mod:`.smt_properties` re-evaluates exactly before calling it a certified counterexample.
Sizes are tried smallest first and the search stops at the first refutation.

>>> r = smt_check("linear", {}, "axiom3", max_k=2, max_v=2)
>>> r.verdict.value, r.scope.split(",")[0]
('proved', 'K in 2..2')
>>> smt_check("linear", {}, "thm-IV.7") is None
True
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Mapping

from mtkd.results import Counterexample, Result, Verdict

from .smt_operators import Encoder, GeometricFamily, make_encoder
from .smt_properties import BUILDERS, TOKEN0_ONLY, Setup, Stage, relaxed_stages, thm_IV_2
from .smt_runner import run_query

METHOD = "smt (z3)"

OUTSIDE_THEORY: Mapping[str, str] = {
    "thm-IV.7": "outside z3's theory (logarithms): KL(q||s) <= sum_k w_k KL(Q_k||s) compares sums "
                "of logarithms, which are transcendental; see the symbolic and search layers",
    "thm-IV.9": "outside z3's theory (logarithms): -log q(y) <= -sum_k w_k log Q_k(y) is, after "
                "exponentiation, a weighted geometric mean with symbolic exponents w_k; see the "
                "symbolic and search layers",
}
"""Properties the SMT layer deliberately does not encode, with the reason (for the report)."""

NOT_ENCODED: Mapping[str, str] = {
    "axiom4": "continuity quantifies over limits (epsilon-delta), not a polynomial sentence",
}

# Proof notes added to the scope: which symmetry reduction each encoding used (see
# smt_properties) so that a reader can check that the claim covers what it says.
_REDUCTION = {
    "axiom1": "", "axiom2": "", "axiom1-hull": "",
    "axiom3": "token 0, k = 0, k2 = 1 by neutrality/anonymity",
    "assumption-L": "token 0 by neutrality",
    "def-IV.1": "token 0 by neutrality",
    "prop-IV.11": "token 0 by neutrality (free weights: teacher 0 attains the max by anonymity)",
    "cor-IV.12": "token 0 by neutrality",
    "axiom5": "part (a), w = e_0 (teacher 0 by anonymity), G depends on (P, T) only through Q",
}


@dataclass(frozen=True)
class Size:
    """One query size; ``w`` is the fixed weight vector for fixed-weight operators."""

    K: int
    V: int | None
    w: tuple[Fraction, ...] | None = None

    def describe(self) -> str:
        parts = [f"K={self.K}"] + ([f"V={self.V}"] if self.V is not None else [])
        if self.w is not None:
            parts.append("w=(" + ",".join(str(x) for x in self.w) + ")")
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"K": self.K, "V": self.V}
        if self.w is not None:
            out["w"] = [str(x) for x in self.w]
        return out


def _sizes(enc: Encoder, prop_id: str, max_k: int, max_v: int) -> list[Size] | None:
    """The sizes to check, smallest first, or None when the pair has no encoding."""
    vs = range(2, max_v + 1)
    if prop_id == "thm-IV.2":
        return [Size(K, None) for K in range(1, max_k + 1)]
    if prop_id not in BUILDERS:
        return None
    if prop_id == "axiom5":  # weights are e_0 whatever the operator's weight restriction
        return sorted((Size(K, V) for K in range(1, max_k + 1) for V in vs), key=_cost)
    # K = 1 makes axiom3 vacuous (no second teacher) and assumption-L trivial (one weight).
    k_min = 2 if prop_id in ("axiom3", "assumption-L") else 1
    if prop_id == "axiom3" and not (enc.free_weights and enc.derivative_sign.__func__
                                    is not Encoder.derivative_sign):
        return None
    if enc.free_weights:
        return sorted((Size(K, V) for K in range(k_min, max_k + 1) for V in vs), key=_cost)
    assert isinstance(enc, GeometricFamily)
    return sorted((Size(len(w), V, w) for w in enc.default_weights if len(w) >= k_min for V in vs),
                  key=_cost)


def _cost(size: Size) -> tuple[int, int, int]:
    return (size.K * (size.V or 1), size.K, size.V or 0)


def encodable(op_name: str, params: Mapping[str, float], prop_id: str) -> bool:
    """Whether :func:`smt_check` has an encoding for this operator and property.

    >>> encodable("linear", {}, "axiom3"), encodable("geometric", {}, "axiom3")
    (True, False)
    """
    enc = make_encoder(op_name, params)
    return enc is not None and _sizes(enc, prop_id, 2, 2) is not None


def _stages(enc: Encoder, prop_id: str, size: Size) -> list[Stage]:
    if prop_id == "thm-IV.2":
        return thm_IV_2(size.K)
    assert size.V is not None
    exact = BUILDERS[prop_id](Setup(enc, size.K, size.V, size.w, token0=prop_id in TOKEN0_ONLY))
    if not enc.relaxable or size.K < 2:
        return exact
    # Free weights make power-mean queries hard for nlsat; at fixed weights a violation is
    # often found at once, and a violation at fixed weights is a genuine one. Such a stage's
    # unsat proves nothing (it covers one weight vector). Uniform weights are tried first, and
    # for axiom3 before them the vertex e_1: all weight on the teacher that loses weight (at
    # any vertex q = Q_1, so the other properties hold there trivially).
    fixed = [tuple(Fraction(1, size.K) for _ in range(size.K))]
    if prop_id == "axiom3":
        fixed.insert(0, tuple(Fraction(int(k == 1)) for k in range(size.K)))
    fallbacks = [replace(st, unsat_proves=False,
                         note=f"{st.note or 'violation'} at w=({','.join(map(str, w))})")
                 for w in fixed for st in BUILDERS[prop_id](Setup(enc, size.K, size.V, w))]
    return relaxed_stages(enc, prop_id, size.K, size.V) + fallbacks + exact


def smt_check(op_name: str, params: Mapping[str, float], prop_id: str, *,
              max_k: int = 4, max_v: int = 4, time_limit: float = 10.0,
              rlimit: int = 50_000_000) -> Result | None:
    """Prove ``prop_id`` for ``op_name`` at every size up to ``(max_k, max_v)``, or refute it.

    Returns None when the pair has no encoding (see :func:`encodable`, :data:`OUTSIDE_THEORY`).
    ``time_limit`` (seconds) and ``rlimit`` bound *each* z3 query. A size whose query gives up
    is reported as not proved, and larger sizes that contain it are skipped to save budget.
    """
    enc = make_encoder(op_name, params, max_k)
    if enc is None:
        return None
    sizes = _sizes(enc, prop_id, max_k, max_v)
    if sizes is None:
        return None
    start = time.perf_counter()
    queries: list[dict[str, Any]] = []
    proved: list[Size] = []
    notes: set[str] = set()
    failed: dict[Size, str] = {}
    for size in sizes:
        if any(size.K >= f.K and (size.V or 0) >= (f.V or 0) for f in failed):
            failed[size] = "skipped: a smaller size was not decided"
            continue
        reasons = []
        for stage in _stages(enc, prop_id, size):
            if not _lemmas_hold(stage, size, queries, time_limit, rlimit):
                reasons.append(f"{stage.note}: lemma not proved")
                continue
            out = run_query(stage.assertions[0].ctx, stage.assertions, time_limit=time_limit,
                            rlimit=rlimit)
            queries.append({**size.to_json(), "stage": stage.note or "violation",
                            "status": out.status, "seconds": round(out.seconds, 3)})
            if out.status == "unknown":  # a later stage may still decide this size
                reasons.append(f"{stage.note or 'violation'}: {out.reason}")
                continue
            if out.status == "unsat":
                if not stage.unsat_proves:
                    continue
                proved.append(size)
                if stage.note:
                    notes.add(stage.note)
                break
            if stage.certify is not None:  # sat, and a model is a violation
                assert out.model is not None
                cx = property_witness(prop_id, stage.certify(out.model))
                return Result(
                    prop_id, Verdict.REFUTED, certified=cx.certified, method=METHOD,
                    scope=f"counterexample at {size.describe()} (open domain, {enc.label})",
                    counterexample=cx,
                    message=(f"z3 found a violation at {size.describe()}; margin {cx.margin}"
                             + ("" if cx.certified else " (NOT certified: " + cx.certificate + ")")),
                    seconds=time.perf_counter() - start, extra={"queries": queries})
        if size not in proved:
            failed[size] = "; ".join(reasons) or "no stage decided"
    seconds = time.perf_counter() - start
    if not proved:
        reasons = "; ".join(f"{s.describe()}: {r}" for s, r in failed.items())
        return Result(prop_id, Verdict.UNKNOWN, method=METHOD, scope="nothing proved",
                      message=f"z3 gave up: {reasons}", seconds=seconds, extra={"queries": queries})
    scope = _scope(enc, prop_id, proved, sizes, notes)
    message = f"z3 unsat at all {len(proved)} sizes" if not failed else (
        f"proved only at {len(proved)} of {len(sizes)} sizes; not proved: "
        + "; ".join(f"{s.describe()} ({r})" for s, r in failed.items()))
    if prop_id == "thm-IV.2":
        message += "; operator-independent, it applies to an operator only where assumption-L holds"
    # "complete" tells the orchestrator whether this settles the property in its scope: not when
    # sizes are missing, when weights were fixed (the property quantifies over all w), or for
    # axiom5, whose encoding covers part (a) only.
    partial = [why for why, applies in (
        ("some sizes were not proved", len(proved) < len(sizes)),
        ("proved only at fixed weights", any(s.w is not None for s in proved) and prop_id != "axiom5"),
        ("part (a) only; the temperature limits of part (b) are left to search", prop_id == "axiom5"),
    ) if applies]
    return Result(prop_id, Verdict.PROVED, certified=False, method=METHOD, scope=scope,
                  message=message, seconds=seconds,
                  extra={"queries": queries, "complete": not partial, "partial": partial,
                         "proved_sizes": [[s.K, s.V] for s in proved]})


def property_witness(prop_id: str, cx: Counterexample) -> Counterexample:
    """``cx`` with its witness in the property's own schema (the keys its ``precise_margin`` reads).

    The SMT stages name witnesses after their queries: a Farkas vector ``y`` with
    ``y.q < min_k y.Q_k`` for ``axiom1-hull`` (the property wants a direction ``c`` with
    ``c.q > max_k c.Q_k``, i.e. ``c = -y``), ``{"sum": True}`` for an ``axiom1`` sum (the property
    uses token ``-1``), and part (a) only for ``axiom5``. Without this a saved SMT counterexample
    could not be replayed. (``axiom1-hull`` keeps z3's ``y`` next to ``direction``, for readers
    who check the Farkas certificate; replay reads ``direction`` only.)

    >>> cx = Counterexample(P=(("1/2", "1/2"),), T=("1",), w=("1",), witness={"hull": "...", "y": ["1", "-1/2"]})
    >>> property_witness("axiom1-hull", cx).witness
    {'direction': ['-1', '1/2'], 'y': ['1', '-1/2']}
    >>> property_witness("axiom1", replace(cx, witness={"sum": True})).witness
    {'token': -1}
    >>> property_witness("axiom5", replace(cx, witness={"token": 1, "k": 0})).witness
    {'part': 'a', 'k': 0, 'token': 1}
    """
    w = dict(cx.witness)
    if prop_id == "axiom1-hull" and "y" in w and "direction" not in w:
        w = {"direction": [str(-Fraction(str(v))) for v in w["y"]], "y": list(w["y"])}
    elif prop_id == "axiom1" and "token" not in w and w.get("sum"):
        w = {"token": -1}
    elif prop_id == "axiom5" and "part" not in w:
        w = {"part": "a", "k": w.get("k", 0), "token": w.get("token", 0)}
    return replace(cx, witness=w) if w != dict(cx.witness) else cx


def _lemmas_hold(stage: Stage, size: Size, queries: list[dict[str, Any]], time_limit: float,
                 rlimit: int) -> bool:
    """Run the stage's lemma queries; all must be unsat for the stage to be usable."""
    for lemma in stage.lemmas:
        out = run_query(lemma[0].ctx, lemma, time_limit=time_limit, rlimit=rlimit)
        queries.append({**size.to_json(), "stage": "lemma for " + stage.note,
                        "status": out.status, "seconds": round(out.seconds, 3)})
        if out.status != "unsat":
            return False
    return True


def _scope(enc: Encoder, prop_id: str, proved: list[Size], sizes: list[Size],
           notes: set[str]) -> str:
    """Exactly what was proved: a K/V range if every size was, else the list of sizes."""
    if len(proved) == len(sizes):
        ks = sorted({s.K for s in proved})
        where = f"K in {ks[0]}..{ks[-1]}"
        vs = sorted({s.V for s in proved if s.V is not None})
        if vs:
            where += f", V in {vs[0]}..{vs[-1]}"
    else:
        where = "only at " + ", ".join(f"({s.describe()})" for s in proved)
    if prop_id == "thm-IV.2":
        return f"{where}, all w on the simplex, all s >= 0 (operator-independent), z3 unsat"
    fixed = sorted({s.w for s in proved if s.w is not None})
    if fixed and prop_id != "axiom5":
        where += ", only at w in {" + ", ".join(
            "(" + ",".join(str(x) for x in w) + ")" for w in fixed) + "}"
        if prop_id == "assumption-L":
            where += " (identity checked on the segment to e_0 at lam = 1/2)"
    details = [d for d in (_REDUCTION.get(prop_id, ""), *sorted(notes)) if d]
    return (f"{where}, open domain, all T > 0 (bijection lemma), {enc.label}"
            + "".join(f", {d}" for d in details) + ", z3 unsat")
