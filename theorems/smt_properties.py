"""The machinery of the z3 violation queries, plus an exact re-check of any model.

Each property's own module builds its queries from these pieces (its ``Property.smt`` names the
builder). A property at one size (K, V, and the fixed weights if the operator needs them) becomes a list
of :class:`Stage` queries tried in order. ``unsat`` of a stage proves the property at that size;
``sat`` either refutes it (the model is re-evaluated exactly by :func:`certify`) or, for a
stage that only tries a cheap proof witness, moves on to the next stage.

Symmetry reductions (sound for every built-in operator, and stated in the proof scope): all
built-ins are *neutral* (the same function of each token's column, then normalised), so the
violated token is taken to be 0; operators with free weights are *anonymous* (permuting
teachers together with their weights changes nothing), so the teachers named by a property
are 0 (and 1). With fixed weights, teacher choices are disjunctions over all teachers.
Certification never uses these reductions: it evaluates the margin at every token/teacher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Sequence

import sympy
import z3

from mtkd.operators.smt_encoding import DirectTeachers, Encoder, Teachers, Weight, normalised_q
from mtkd.operators.smt_exact import exact_sign, fmt, normalise, snap, to_fraction
from mtkd.results import Counterexample

SNAP_DENOMINATORS: tuple[int | None, ...] = (10, 100, 1000, 10**4, 10**6, None)
"""Denominators tried, smallest first, when turning a model into a readable exact input."""


@dataclass
class Candidate:
    """An exact rational input read from a model: teachers, weights, other quantified values."""

    Q: list[list[Fraction]]
    w: list[Fraction]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Item:
    """The margin at one witness; ``strict``: the statement demands ``margin > 0`` there."""

    margin: sympy.Expr
    witness: dict[str, Any]
    strict: bool = False


@dataclass
class Stage:
    """One z3 query; ``certify`` is None when a model only means "try the next stage".

    ``unsat_proves`` is False for a stage that searches a *sufficient* condition for a
    violation: its unsat only means "try the next stage".
    """

    assertions: list[z3.BoolRef]
    note: str
    certify: Callable[[z3.ModelRef], Counterexample] | None
    unsat_proves: bool = True
    lemmas: list[list[z3.BoolRef]] = field(default_factory=list)
    """Queries that must all be unsat too before this stage's unsat counts as a proof."""
    restricts: str | None = None
    """For a probe at fixed weights: the note of the free-weight stage it is a restriction of."""


def rat(x: Fraction) -> sympy.Rational:
    return sympy.Rational(x.numerator, x.denominator)


class Setup:
    """The shared pieces of one size's queries: context, teachers, weights, ``q``."""

    def __init__(self, enc: Encoder, K: int, V: int, fixed_w: Sequence[Fraction] | None,
                 weight_vectors: Sequence[Sequence[Fraction]] = (), token0: bool = False,
                 relax: str = "") -> None:
        """``token0``: the query mentions token 0 only, so a column-local operator needs no
        other column (see :class:`DirectTeachers`). ``relax``: ``"column0"`` uses the
        operator's column-0 over-approximation of ``q(0)``; ``"positive"`` replaces the
        operator by ``q = M / sum M`` with arbitrary ``M > 0`` (see :func:`relaxed_stages`)."""
        self.enc, self.K, self.V, self.fixed_w, self.relax = enc, K, V, fixed_w, relax
        self.ctx = z3.Context()
        vectors = ([list(fixed_w)] if fixed_w is not None else []) + [list(v) for v in weight_vectors]
        if relax == "column0":
            self.t: Teachers = enc.column0_teachers(self.ctx, K, V)  # type: ignore[attr-defined]
        elif token0 and enc.column_local:
            self.t = DirectTeachers(self.ctx, K, V, column0_only=True)
        else:
            self.t = enc.teachers(self.ctx, K, V, vectors)
        self.cons: list[z3.BoolRef] = []
        self._q_cache: list[z3.ArithRef] | None = None

    def weights(self, name: str = "w") -> list[Weight]:
        """The operator's weights: fixed rationals, or fresh variables on the simplex."""
        if self.fixed_w is not None:
            return list(self.fixed_w)
        w = [z3.Real(f"{name}_{k}", self.ctx) for k in range(self.K)]
        self.cons += [x >= 0 for x in w] + [z3.Sum(w) == 1]
        return w

    def q(self, w: Sequence[Weight], tag: str = "") -> list[z3.ArithRef]:
        # Reusing q for weight-blind operators matters: with three copies of max's case split,
        # z3 must first rediscover that they coincide, and times out at K = 4.
        if not self.enc.uses_weights and self._q_cache is not None:
            return self._q_cache
        if self.relax == "column0":
            q0, cons = self.enc.relaxed_q0(self.t, w)  # type: ignore[attr-defined]
            q = [q0]
        elif self.relax == "positive":
            M = [z3.Real(f"M{tag}_{i}", self.ctx) for i in range(self.V)]
            q, cons = normalised_q(self.ctx, M, tag)
            cons += [x > 0 for x in M]
        else:
            q, cons = self.enc.aggregate(self.t, w, tag)
        self.cons += cons
        self._q_cache = q
        return q

    def zmax(self, xs: Sequence[z3.ArithRef], name: str) -> z3.ArithRef:
        """A fresh ``m == max(xs)``."""
        m = z3.Real(name, self.ctx)
        self.cons += [m >= x for x in xs] + [z3.Or([m == x for x in xs])]
        return m

    def assertions(self, violation: z3.BoolRef) -> list[z3.BoolRef]:
        # Teacher constraints last: some teachers create their Q variables lazily.
        return [violation] + self.cons + self.t.constraints

    def read_w(self, model: z3.ModelRef, w: Sequence[Weight], max_den: int | None) -> list[Fraction]:
        if self.fixed_w is not None:
            return list(self.fixed_w)
        return normalise([snap(to_fraction(model.eval(x, True)), max_den) for x in w])

    def certifier(self, w: Sequence[Weight], items: Callable[[Candidate], list[Item]],
                  read_extra: Callable[[z3.ModelRef, int | None], dict[str, Any]] | None = None,
                  ) -> Callable[[z3.ModelRef], Counterexample]:
        def read(model: z3.ModelRef, max_den: int | None) -> Candidate:
            extra = read_extra(model, max_den) if read_extra else {}
            return Candidate(self.t.snap(model, max_den), self.read_w(model, w, max_den), extra)
        return lambda model: certify(model, read, items, self.enc.label)


def certify(model: z3.ModelRef, read: Callable[[z3.ModelRef, int | None], Candidate],
            items: Callable[[Candidate], list[Item]], label: str) -> Counterexample:
    """Turn a model into a counterexample whose violation is re-established exactly.

    Tries small denominators first (readable inputs), then the model's own values.
    """
    for max_den in SNAP_DENOMINATORS:
        cand = read(model, max_den)
        violated = []
        for item in items(cand):
            sign = exact_sign(item.margin)
            if sign < 0 or (sign == 0 and item.strict):
                violated.append(item)
        if violated:
            worst = min(violated, key=lambda it: float(sympy.N(it.margin, 30)))
            how = "rational arithmetic" if worst.margin.is_Rational else \
                "minimal polynomial and isolating interval (sympy)"
            kind = "= 0 where the statement is strict" if exact_sign(worst.margin) == 0 else "< 0"
            return Counterexample(
                P=tuple(tuple(fmt(x) for x in row) for row in cand.Q),
                T=tuple("1" for _ in cand.Q), w=tuple(fmt(x) for x in cand.w),
                witness={**worst.witness, **cand.extra}, margin=fmt(worst.margin),
                precision="exact (rational)" if worst.margin.is_Rational else "exact (algebraic)",
                certified=True,
                certificate=(f"z3 model snapped to denominators <= {max_den or 'model'}; margin "
                             f"re-evaluated exactly by {how}: {fmt(worst.margin)} {kind}"),
                explanation=(f"{label}: P rows are the temperature-scaled teachers Q with T = 1 "
                             "(valid for every T by the bijection lemma)"))
    cand = read(model, None)
    return Counterexample(
        P=tuple(tuple(fmt(x) for x in row) for row in cand.Q), T=tuple("1" for _ in cand.Q),
        w=tuple(fmt(x) for x in cand.w), witness=dict(cand.extra), margin="",
        precision="z3 model (algebraic values approximated to 40 digits)", certified=False,
        certificate="not certified: the exact re-evaluation of the model did not show a violation",
        explanation=f"{label}: z3 reported a violation that exact arithmetic could not confirm")


def exact_q(enc: Encoder, c: Candidate, w: Sequence[Fraction] | None = None) -> list[sympy.Expr]:
    return enc.exact_q([[rat(x) for x in row] for row in c.Q], [rat(x) for x in (w or c.w)])


def neg_abs(diff: sympy.Expr) -> sympy.Expr:
    """``-|diff|`` for an algebraic ``diff``, with the sign decided exactly."""
    return -diff if exact_sign(diff) >= 0 else diff
