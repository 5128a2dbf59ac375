"""Statements about sets of operators (``thm-III.1``, ``thm-III.2``) and the ``prop-V.2`` demonstration.

They quantify over operators, so no single ``mtkd verify`` decides them: they are decided here
from the per-operator verdicts of a report, which only renders what this module concludes.

>>> sorted(FAMILY)
['prop-V.2', 'thm-III.1', 'thm-III.2']
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Callable, Mapping, Sequence

import mpmath
import numpy as np
import sympy as sp

from mtkd.operators import load_operator
from mtkd.operators.precision import HighPrecision, Interval
from mtkd.results import Result, Verdict

from . import symbols as sy
from .notation import Exists, ForAll, NamedSet, Satisfies
from .property import ExactPoint

AXIOMS = ("axiom1", "axiom2", "axiom3", "axiom4", "axiom5")
"""The axioms an operator must satisfy to *conform* (what the family theorems quantify over)."""


def _thm_iii1() -> sp.Basic:
    return Exists(((sy.Gop, sy.OPERATORS),), sp.And(*(Satisfies(sy.Gop, name) for name in AXIOMS)))


def _thm_iii2() -> sp.Basic:
    both = sp.And(*(Satisfies(g, name) for g in (sy.G1, sy.G2) for name in AXIOMS))
    differ = Exists(((sp.Tuple(sy.Pv, sy.Tv, sy.wv), sy.INPUTS), (sy.i, sy.TOKENS)),
                    sp.Ne(sy.G1f(sy.Pv, sy.Tv, sy.wv, sy.i), sy.G2f(sy.Pv, sy.Tv, sy.wv, sy.i)))
    return Exists(((sy.G1, sy.OPERATORS), (sy.G2, sy.OPERATORS)), sp.And(both, differ))


def _prop_v2() -> sp.Basic:
    n, i, j = sy.n, sy.i, sy.j
    softmax = sp.exp(sy.theta[n, i]) / sp.Sum(sp.exp(sy.theta[n, j]), (j, 1, sy.V))
    return ForAll(((sy.N, sy.POS_INTEGERS), (sy.qn, sy.TARGETS)), Exists(((sy.thetav, sy.LOGITS),), ForAll(
        ((n, NamedSet("{1,…,N}", r"\{1,\dots,N\}")), (i, sy.TOKENS)), sp.Eq(softmax, sy.qn[n, i]))))


@dataclass(frozen=True)
class FamilyStatement:
    """A statement over operators: its id, a one-line description and its sympy statement."""

    id: str
    summary: str
    build: Callable[[], sp.Basic]

    def statement(self) -> sp.Basic:
        return self.build()


FAMILY: dict[str, FamilyStatement] = {f.id: f for f in (
    FamilyStatement("thm-III.1", "Theorem III.1 (existence): some operator satisfies axiom1..axiom5 — checked by "
                    "'mtkd report'.", _thm_iii1),
    FamilyStatement("thm-III.2", "Theorem III.2 (non-uniqueness): two distinct operators satisfy axiom1..axiom5 — "
                    "checked by 'mtkd report'.", _thm_iii2),
    FamilyStatement("prop-V.2", "Proposition V.2 (a free-logit student matches q exactly) — a demonstration in "
                    "'mtkd report'.", _prop_v2),
)}


@dataclass(frozen=True)
class FamilyVerdict:
    """A verdict on a statement about a set of operators."""

    id: str
    verdict: Verdict
    message: str


def conforming(results: Sequence[Result]) -> bool:
    """No axiom refuted or errored (proved or not refuted)."""
    return all(r.verdict in (Verdict.PROVED, Verdict.NOT_REFUTED) for r in results if r.property in AXIOMS)


def family_verdicts(by_operator: Mapping[str, Sequence[Result]]) -> list[FamilyVerdict]:
    """``thm-III.1`` and ``thm-III.2`` decided from each operator's results (keyed by operator spec)."""
    ok = [spec for spec, results in by_operator.items() if conforming(results)]
    failing = {spec: [x.property for x in results if x.property in AXIOMS and x.verdict is Verdict.REFUTED]
               for spec, results in by_operator.items() if not conforming(results)}
    why = "; ".join(f"`{op}` violates {', '.join(props) or 'an axiom (error)'}" for op, props in failing.items())
    fully_proved = [spec for spec, results in by_operator.items()
                    if sum(x.property in AXIOMS and x.verdict is Verdict.PROVED for x in results) == len(AXIOMS)]
    iii1 = (FamilyVerdict("thm-III.1", Verdict.PROVED,
                          f"{', '.join(f'`{o}`' for o in fully_proved)}: Axioms 1-5 each proved for all K, V (see the rows).")
            if fully_proved else
            FamilyVerdict("thm-III.1", Verdict.NOT_REFUTED,
                          f"witness{'es' if len(ok) > 1 else ''}: {', '.join(f'`{o}`' for o in ok)} — no axiom "
                          "refuted (see each row for which axioms are proved and which only searched).")
            if ok else FamilyVerdict("thm-III.1", Verdict.UNKNOWN, "no built-in operator conforms: " + why))
    # Two operators whose axioms are all *proved* and which are certified to differ prove thm-III.2.
    proved = [spec for spec, results in by_operator.items()
              if all(x.verdict is Verdict.PROVED for x in results if x.property in AXIOMS)
              and sum(x.property in AXIOMS for x in results) == len(AXIOMS)]
    proved_pair = distinct_pair(proved)
    pair = proved_pair or distinct_pair(ok)
    if proved_pair is not None:
        iii2 = FamilyVerdict("thm-III.2", Verdict.PROVED, proved_pair + (
            " Both have Axioms 1-5 proved for all K, V (see their rows), so Theorem III.2 holds, but through an "
            "operator the paper does not name: each of its named witnesses (geometric, power / Rényi, entropic) "
            f"violates an axiom: {why or 'none fails here'}."))
    elif pair is not None:
        iii2 = FamilyVerdict("thm-III.2", Verdict.NOT_REFUTED, pair)
    else:
        iii2 = FamilyVerdict(
            "thm-III.2", Verdict.UNKNOWN,
            f"the conforming operators ({', '.join(f'`{o}`' for o in ok) or 'none'}) contain no pair certified to "
            f"differ, so no second conforming family is exhibited. The paper's witnesses fail: {why}.")
    return [iii1, iii2]


def distinct_pair(specs: list[str]) -> str | None:
    """Two of ``specs`` certified (interval arithmetic) to give different pools at one input, if any.

    "Distinct" must be shown, not assumed: ``power:alpha=1`` is ``linear`` under another name.
    """
    x = ExactPoint.from_strings((("0.5", "0.3", "0.2"), ("0.1", "0.6", "0.3")), ("1", "2"), ("0.25", "0.75"))
    ctx = Interval(60)
    pools = {}
    for spec in specs:
        op = load_operator(spec)
        if op.precise_func is not None:
            try:
                pools[spec] = op.evaluate_precise(x.P, x.T, x.w, ctx)
            except Exception:  # noqa: BLE001 - a user's precise form that fails: no evidence either way
                continue
    for a, b in combinations(pools, 2):
        for i, (qa, qb) in enumerate(zip(pools[a], pools[b])):
            if ctx.sign(qa - qb) not in (0, None):
                return (f"`{a}` and `{b}` both conform and differ: at P = {[list(r) for r in x.strings()[0]]}, "
                        f"T = (1, 2), w = (1/4, 3/4), q({i}) differs ({ctx.to_str(qa, 8)} vs {ctx.to_str(qb, 8)}, "
                        "interval-certified).")
    return None


def prop_v2_demo(specs: Sequence[str], seed: int) -> list[tuple[str, str]]:
    """A free-logit student ``theta = log q`` reproduces ``q``: ``KL(q || softmax(theta))`` at 50 digits."""
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(5), size=3)
    x = ExactPoint.from_floats(P, np.array([0.5, 1.0, 2.0]), rng.dirichlet(np.ones(3)))
    ctx = HighPrecision(50)
    rows = []
    for spec in specs:
        op = load_operator(spec)
        if op.precise_func is None:
            rows.append((spec, "n/a (no precise form)"))
            continue
        try:
            q = op.evaluate_precise(x.P, x.T, x.w, ctx)
        except Exception as exc:  # noqa: BLE001 - OperatorFailure or the form's own exception
            rows.append((spec, f"n/a (precise form failed: {type(exc).__name__})"))
            continue
        theta = [ctx.log(v) for v in q]
        z = sum(ctx.exp(t) for t in theta)
        student = [ctx.exp(t) / z for t in theta]
        kl = sum(a * (ctx.log(a) - ctx.log(b)) for a, b in zip(q, student))
        rows.append((spec, mpmath.nstr(abs(kl), 3)))
    return rows
