"""The SMT layer: prove or refute a property of a built-in operator for every small size with z3.

For each size (K teachers, V tokens, and the fixed weights when the operator needs them) the
property's *violation* is encoded as a polynomial system over the temperature-scaled teachers
``Q`` (bijection lemma, docs/formalization.md) and handed to z3's nlsat under hard limits
(:mod:`.smt_runner`). ``unsat`` proves the property at that size; ``sat`` yields a model that
:mod:`.smt_properties` re-evaluates exactly before calling it a certified counterexample.
Sizes are tried smallest first and the search stops at the first refutation.

>>> r = smt_check("linear", {}, "axiom3", max_k=2, max_v=2)
>>> r.verdict.value, r.scope.split(",")[0]
('proved', 'K in 2..2')
>>> smt_check("linear", {}, "thm-IV.7") is None
True

Each property carries its own encoding (``Property.smt``: an
:class:`~mtkd.theorems.parts.SmtEncoding`, an operator-free one, or :class:`~mtkd.theorems.parts.Absent`
with the reason z3 does not apply).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Mapping

from mtkd.operators.registry import BUILTINS
from mtkd.operators.smt_encoding import Encoder, GeometricFamily
from mtkd.results import Counterexample, ProofScope, Result, Verdict

from .catalogue import PROPERTIES
from .parts import Absent, Relaxation, SmtEncoding, SmtOperatorFree, SmtPart
from .smt_properties import Setup, Stage
from .smt_runner import RLIMIT, SAFETY_NET_SECONDS, run_query

METHOD = "smt (z3)"

PROBE_SHARE = 12
"""A probe at fixed weights (power means: the property's vertex, uniform weights) gets 1/12 of the
query quota (1M of the default 12M units). Probes are there to find a violation at once; every
power-mean query of ``bench/smt_rlimit.md`` that z3 decided needed fewer than 0.89M units, and a
whole 12M quota costs a power mean 15-25 CPU-s (alpha = 3, K = 2, V = 2)."""

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


def _sizes(enc: Encoder, part: SmtPart, max_k: int, max_v: int) -> list[Size] | None:
    """The sizes to check, smallest first, or None when the pair has no encoding."""
    vs = range(2, max_v + 1)
    if isinstance(part, SmtOperatorFree):
        return [Size(K, None) for K in range(1, max_k + 1)]
    if isinstance(part, Absent):
        return None
    if part.own_weights:  # the query fixes its weights whatever the operator's weight restriction
        return sorted((Size(K, V) for K in range(1, max_k + 1) for V in vs), key=_cost)
    if part.needs_derivative and not (enc.free_weights and type(enc).derivative_sign is not Encoder.derivative_sign):
        return None
    if enc.free_weights:
        return sorted((Size(K, V) for K in range(part.min_teachers, max_k + 1) for V in vs), key=_cost)
    assert isinstance(enc, GeometricFamily)
    return sorted((Size(len(w), V, w) for w in enc.default_weights if len(w) >= part.min_teachers for V in vs),
                  key=_cost)


def _cost(size: Size) -> tuple[int, int, int]:
    return (_round(size), size.K, size.V or 0)


def _round(size: Size) -> int:
    """Sizes are tried in rounds of equal ``K * V`` (the number of teacher entries z3 solves for)."""
    return size.K * (size.V or 1)


def make_encoder(op_name: str, params: Mapping[str, Any], max_k: int = 4) -> Encoder | None:
    """The operator's own z3 encoding (``BuiltinOperator.smt_encoder``), or None when it has none.

    Geometric and entropic are encoded at fixed weights: ``params["weights"]`` when given, else
    uniform ones and ones proportional to ``(1, ..., K)``. A rational exponent whose numerator or
    denominator exceeds 64 gets no encoding either: its monomials would be too large to build.

    >>> make_encoder("power", {"alpha": 1e300}) is None, make_encoder("power", {"alpha": 65}) is None
    (True, True)
    >>> make_encoder("power", {"alpha": 64}).label, make_encoder("entropic", {"beta": 1e300}) is None
    ('power(alpha=64)', True)
    """
    cls = BUILTINS.get(op_name)
    return cls.smt_encoder(params, max_k) if cls is not None else None


def _part(prop_id: str) -> SmtPart:
    """The property's SMT part; an id not in the catalogue simply has no encoding."""
    prop = PROPERTIES.get(prop_id)
    return prop.smt if prop is not None else Absent(f"{prop_id!r} is not a registered property")


def encodable(op_name: str, params: Mapping[str, float], prop_id: str) -> bool:
    """Whether :func:`smt_check` has an encoding for this operator and property.

    >>> encodable("linear", {}, "axiom3"), encodable("geometric", {}, "axiom3")
    (True, False)
    """
    enc = make_encoder(op_name, params)
    return enc is not None and _sizes(enc, _part(prop_id), 2, 2) is not None


def _stages(enc: Encoder, part: SmtEncoding | SmtOperatorFree, size: Size) -> list[Stage]:
    if isinstance(part, SmtOperatorFree):
        return part.build(size.K)
    assert size.V is not None
    exact = part.build(Setup(enc, size.K, size.V, size.w, token0=part.token0))
    if not enc.relaxable or size.K < 2:
        return exact
    # Free weights make power-mean queries hard for nlsat; at fixed weights a violation is
    # often found at once, and a violation at fixed weights is a genuine one. Such a stage's
    # unsat proves nothing (it covers one weight vector). Uniform weights are tried first, and
    # before them the property's vertex probe (axiom3: e_1, all weight on the teacher that
    # loses weight; at any vertex q = Q_1, so the other properties hold there trivially).
    fixed = [tuple(Fraction(1, size.K) for _ in range(size.K))]
    if part.vertex_probe is not None:
        fixed.insert(0, tuple(Fraction(int(k == part.vertex_probe)) for k in range(size.K)))
    fallbacks = [replace(st, unsat_proves=False, restricts=st.note or "violation",
                         note=f"{st.note or 'violation'} at w=({','.join(map(str, w))})")
                 for w in fixed for st in part.build(Setup(enc, size.K, size.V, w))]
    return relaxed_stages(enc, part, size.K, size.V) + fallbacks + exact


def relaxed_stages(enc: Encoder, part: SmtEncoding, K: int, V: int) -> list[Stage]:
    """Proof-only stages that over-approximate a hard operator (power means) before the exact one.

    ``axiom1``/``axiom2`` only need ``q = M / sum M`` with ``M > 0`` (a power mean of positive
    numbers is positive); the token-0 properties only need column 0 plus the power-mean
    inequality for the other columns, itself proved by z3 for this K (``lemmas``).
    """
    if not enc.relaxable or part.relaxation is None:
        return []
    if part.relaxation is Relaxation.POSITIVE:
        note, setup, lemmas = "relaxation q = M/sum M, M > 0", Setup(enc, K, V, None, relax="positive"), []
    else:
        note = "relaxation to column 0 + power-mean inequality (lemma proved by z3)"
        setup, lemmas = Setup(enc, K, V, None, relax="column0"), [enc.mean_lemma(K)]  # type: ignore[attr-defined]
    return [Stage(st.assertions, note, None, lemmas=lemmas) for st in part.build(setup)]


def smt_check(op_name: str, params: Mapping[str, float], prop_id: str, *,
              max_k: int = 4, max_v: int = 4, time_limit: float = SAFETY_NET_SECONDS,
              rlimit: int = RLIMIT) -> Result | None:
    """Prove ``prop_id`` for ``op_name`` at every size up to ``(max_k, max_v)``, or refute it.

    Returns None when the pair has no encoding (see :func:`encodable`, :data:`OUTSIDE_THEORY`).
    ``rlimit`` (z3 resource units, the quota that decides) and ``time_limit`` (seconds, a safety net
    far above it) bound *each* z3 query (:mod:`.smt_runner`). A size whose query gives up is
    reported as not proved, with the limit that stopped it; sizes of a later round (larger
    ``K * V``) are then not attempted, and the scope says so.
    """
    part = _part(prop_id)
    enc = make_encoder(op_name, params, max_k)
    if enc is None or isinstance(part, Absent):
        return None
    return check_encoder(enc, prop_id, max_k=max_k, max_v=max_v, time_limit=time_limit, rlimit=rlimit)


def check_encoder(enc: Encoder, prop_id: str, *, max_k: int = 4, max_v: int = 4,
                  time_limit: float = SAFETY_NET_SECONDS, rlimit: int = RLIMIT) -> Result | None:
    """:func:`smt_check` for any encoder (a built-in's, or a traced formula's)."""
    part = _part(prop_id)
    if isinstance(part, Absent):
        return None
    sizes = _sizes(enc, part, max_k, max_v)
    if sizes is None:
        return None
    start = time.perf_counter()
    queries: list[dict[str, Any]] = []
    proved: list[Size] = []
    notes: set[str] = set()
    failed: dict[Size, str] = {}
    for size in sizes:
        if failed and _round(size) > _round(next(iter(failed))):
            # A query that spent its whole quota at K*V teacher entries predicts give-ups with more entries,
            # each costing a whole quota (0.6-52 CPU-s): stop. The give-up's own round is finished (no size
            # in it contains another), so a size it could prove is never lost to the order within a round.
            break
        reasons = []
        probes_gave_up: set[str] = set()
        probes_sat: set[str] = set()
        for stage in _stages(enc, part, size):
            if (stage.note or "violation") in probes_sat:
                continue  # a model at fixed weights (on the simplex) is a model with w free: sat, try the next stage
            if (stage.note or "violation") in probes_gave_up:
                # The same query with w free has more unknowns than at a fixed w, where it already gave up.
                reasons.append(f"{stage.note or 'violation'}: not attempted (it gave up at fixed weights)")
                continue
            if not _lemmas_hold(stage, size, queries, time_limit, rlimit):
                reasons.append(f"{stage.note}: lemma not proved")
                continue
            out = run_query(stage.assertions[0].ctx, stage.assertions, time_limit=time_limit,
                            rlimit=rlimit if stage.restricts is None else rlimit // PROBE_SHARE)
            queries.append({**size.to_json(), "stage": stage.note or "violation",
                            "status": out.status, "rlimit_used": out.work, "seconds": round(out.seconds, 3)})
            if out.status == "unknown":  # a later stage may still decide this size
                reasons.append(f"{stage.note or 'violation'}: {out.reason}")
                if stage.restricts is not None:
                    probes_gave_up.add(stage.restricts)
                continue
            if out.status == "unsat":
                if not stage.unsat_proves:
                    continue
                proved.append(size)
                if stage.note:
                    notes.add(stage.note)
                break
            if stage.certify is None and stage.restricts is not None:
                probes_sat.add(stage.restricts)
            if stage.certify is not None:  # sat, and a model is a violation
                assert out.model is not None
                cx = property_witness(part, stage.certify(out.model))
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
    stopped = _not_attempted(sizes, failed)
    if not proved:
        why = "; ".join(f"{s.describe()}: {r}" for s, r in failed.items())
        return Result(prop_id, Verdict.UNKNOWN, method=METHOD, scope="nothing proved",
                      message=f"z3 gave up: {why}" + (f"; {stopped}" if stopped else ""), seconds=seconds,
                      extra={"queries": queries})
    scope = _scope(enc, part, proved, sizes, notes) + (f"; {stopped}" if stopped else "")
    message = f"z3 unsat at all {len(proved)} sizes" if not failed else (
        f"proved only at {len(proved)} of {len(sizes)} sizes; not proved: "
        + "; ".join(f"{s.describe()} ({r})" for s, r in failed.items()) + (f"; {stopped}" if stopped else ""))
    if isinstance(part, SmtOperatorFree):
        message += "; " + part.note
    # A complete proof settles the property in its scope: not when sizes are missing, when
    # weights were fixed (the property quantifies over all w), or when the encoding covers only
    # part of the statement.
    fixed_only = isinstance(part, SmtEncoding) and not part.own_weights and any(s.w is not None for s in proved)
    gaps = tuple(why for why, applies in (
        ("some sizes were not proved", len(proved) < len(sizes)),
        ("proved only at fixed weights", fixed_only),
        (part.partial if isinstance(part, SmtEncoding) else "", isinstance(part, SmtEncoding) and bool(part.partial)),
    ) if applies)
    return Result(prop_id, Verdict.PROVED, certified=False, method=METHOD, scope=scope,
                  message=message, seconds=seconds, extra={"queries": queries},
                  proof=ProofScope(complete=not gaps, gaps=gaps, sizes=tuple((s.K, s.V) for s in proved)))


def _not_attempted(sizes: list[Size], failed: dict[Size, str]) -> str:
    """The scope's note on the sizes left out after a give-up ("" when none was)."""
    if not failed:
        return ""
    first = _round(next(iter(failed)))
    left = [s for s in sizes if _round(s) > first]
    if not left:
        return ""
    gave_up = ", ".join(f"({s.describe()})" for s in failed)
    return (f"larger sizes (K*V > {first}: {len(left)} of {len(sizes)}) not attempted after a give-up at {gave_up}")


def property_witness(part: SmtEncoding | SmtOperatorFree, cx: Counterexample) -> Counterexample:
    """``cx`` with its witness in the property's own schema (the keys its ``precise_margin`` reads).

    The SMT stages name witnesses after their queries (a Farkas vector ``y`` for ``axiom1-hull``,
    ``{"sum": True}`` for an ``axiom1`` sum...); the property's ``SmtEncoding.witness`` translates
    them, so that a saved SMT counterexample can be replayed.

    >>> cx = Counterexample(P=(("1/2", "1/2"),), T=("1",), w=("1",), witness={"sum": True})
    >>> property_witness(_part("axiom1"), cx).witness
    {'token': -1}
    """
    if not isinstance(part, SmtEncoding) or part.witness is None:
        return cx
    w = part.witness(dict(cx.witness))
    return replace(cx, witness=w) if w != dict(cx.witness) else cx


def _lemmas_hold(stage: Stage, size: Size, queries: list[dict[str, Any]], time_limit: float,
                 rlimit: int) -> bool:
    """Run the stage's lemma queries; all must be unsat for the stage to be usable."""
    for lemma in stage.lemmas:
        out = run_query(lemma[0].ctx, lemma, time_limit=time_limit, rlimit=rlimit)
        queries.append({**size.to_json(), "stage": "lemma for " + stage.note,
                        "status": out.status, "rlimit_used": out.work, "seconds": round(out.seconds, 3)})
        if out.status != "unsat":
            return False
    return True


def _scope(enc: Encoder, part: SmtEncoding | SmtOperatorFree, proved: list[Size], sizes: list[Size],
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
    if isinstance(part, SmtOperatorFree):
        return f"{where}, {part.scope}, z3 unsat"
    fixed = sorted({s.w for s in proved if s.w is not None})
    if fixed and not part.own_weights:
        where += ", only at w in {" + ", ".join(
            "(" + ",".join(str(x) for x in w) + ")" for w in fixed) + "}" + part.fixed_weight_note
    details = [d for d in (part.reduction, *sorted(notes)) if d]
    return (f"{where}, open domain, all T > 0 (bijection lemma), {enc.label}"
            + "".join(f", {d}" for d in details) + ", z3 unsat")
