"""An operator's exact formula, traced from its precise form (hand-written or derived).

The precise form is run with :class:`~mtkd.operators.symbolic.Symbolic` numbers at each size
``K``, ``V``. By the bijection lemma (``tau_T`` is a bijection of the open simplex,
FORMALIZATION.md) every raw teacher row is ``P_k = tau_{1/T_k}(Q_k)``, i.e.
``P_k(i) = Q_k(i)**T_k / n_k`` with ``Q_k`` on the open simplex and ``n_k`` its normaliser. The
trace is given exactly these inputs (``n_k`` an opaque positive symbol), so per-row temperature
scaling written as ``exp(log p / T)`` or ``p ** (1 / T)``, normalised over the row (directly or in
log space), collapses to ``Q``. If the result still mentions ``T`` or ``n``, the operator does not
act through ``tau_T(P)`` in a way the tracer recognises and the trace is declined with that reason.
What remains is ``q(i)`` as an expression in ``Q[k, i]`` and ``w[k]`` (the symbols of
:mod:`mtkd.theorems.operator_exprs`), valid on the open domain with ``w`` on the simplex.

Branches on ``w_k = 0`` are traced generically and then checked face by face (the formula at
``w_k = 0`` must equal the generic formula there); any other branch declines the trace.

>>> def precise(P, T, w, ctx):
...     Q = []
...     for row, t in zip(P, T):
...         powered = [ctx.exp(ctx.log(p) / t) for p in row]
...         Q.append([x / sum(powered) for x in powered])
...     return [sum(wk * Qk[i] for wk, Qk in zip(w, Q)) for i in range(len(Q[0]))]
>>> trace_formula(precise, 2, 2)
(Q[0, 0]*w[0] + Q[1, 0]*w[1], Q[0, 1]*w[0] + Q[1, 1]*w[1])
>>> same_as_builtin(trace_formula(precise, 2, 2), "linear", 2, 2)
True
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import sympy as sp

from mtkd.operators.protocol import DeadlineExceeded, deadline
from mtkd.operators.symbolic import BranchUndecided, Symbolic, TracedMax, evaluated

from . import operator_exprs as ox

Tsym = sp.IndexedBase("T", positive=True)
"""Temperatures ``T[k]`` of a trace."""

nsym = sp.IndexedBase("n", positive=True)
"""Normalisers ``n[k] = sum_j Q[k, j]**T[k]`` of the raw rows, kept opaque (a scale-free
operator never needs their value)."""

TRACE_SIZES = tuple((K, V) for K in range(1, 5) for V in range(2, 5))
"""Sizes the symbolic engine traces (K in 1..4, V in 2..4)."""

TRACE_SECONDS = 20.0
"""Safety cap on one symbolic run of the precise form (legitimate pools need well under 1 s)."""

BUILTIN_PATTERNS = ("linear", "geometric")
"""Built-in formulas a traced formula is compared with (their proofs can then be reused)."""


class TraceDeclined(Exception):
    """The precise form could not be turned into a formula in ``Q`` and ``w`` (message: why)."""


def _row_sums(K: int, V: int) -> list[sp.Expr]:
    return [sp.Add(*(ox.Q[k, i] for i in range(V))) for k in range(K)]


def _run(precise: Callable[..., Any], K: int, V: int, zero: frozenset[int]) -> tuple[tuple[sp.Expr, ...], set]:
    """One trace; returns the formula and the weights whose ``w_k = 0`` branch was taken generically."""
    weights = [sp.S.Zero if k in zero else ox.w[k] for k in range(K)]
    P = [[ox.Q[k, i] ** Tsym[k] / nsym[k] for i in range(V)] for k in range(K)]
    generic: set[sp.Expr] = set()
    while True:
        ctx = Symbolic([ox.w[k] for k in range(K)], _row_sums(K, V), generic)
        try:
            with deadline(TRACE_SECONDS):
                out = list(precise(P, [Tsym[k] for k in range(K)], weights, ctx))
            break
        except DeadlineExceeded:
            raise TraceDeclined(f"the trace at K={K}, V={V} did not finish within {TRACE_SECONDS:g} s") from None
        except BranchUndecided as exc:
            if exc.weight is None or exc.weight in generic:
                raise TraceDeclined(str(exc)) from None
            generic.add(exc.weight)
        except Exception as exc:  # noqa: BLE001 - user code on symbols may fail in any way; say how
            raise TraceDeclined(f"the precise form failed on symbolic inputs at K={K}, V={V} "
                                f"({type(exc).__name__}: {exc})") from None
    if len(out) != V:
        raise TraceDeclined(f"the precise form returned {len(out)} values at K={K}, V={V}")
    q = []
    for x in out:
        x = sp.sympify(x)
        # Floats the code wrote are exact binary numbers: keep exactly those values.
        x = x.xreplace({f: sp.Rational(f) for f in x.atoms(sp.Float)})
        q.append(ctx.simplify(x))
    allowed = {ox.Q[k, i] for k in range(K) for i in range(V)} | {ox.w[k] for k in range(K)}
    for e in q:
        stray = {s for s in e.free_symbols if (s not in allowed if isinstance(s, sp.Indexed)
                                                else getattr(s, "name", "") not in ("Q", "w"))}
        if stray:
            what = ", ".join(sorted(str(s) for s in stray))
            raise TraceDeclined(
                f"after substituting P = tau_(1/T)(Q) (bijection lemma) the traced formula still depends on {what} "
                f"at K={K}, V={V}: the operator does not act on the teachers only through tau_T(P) in a form the "
                "tracer recognises (per-row exp(log p / T) or p ** (1/T), normalised)")
    return tuple(q), generic


def trace_formula(precise: Callable[..., Any], K: int, V: int) -> tuple[sp.Expr, ...]:
    """``q(0..V-1)`` of ``precise`` at ``K`` teachers, in ``Q`` and ``w``; raises :class:`TraceDeclined`."""
    q, generic = _run(precise, K, V, frozenset())
    ks = sorted(int(wk.indices[0]) for wk in generic)
    for r in range(1, len(ks) + 1):
        for zero in itertools.combinations(ks, r):
            if len(zero) == K:
                continue  # all weights zero is off the simplex
            face, _ = _run(precise, K, V, frozenset(zero))
            at_face = [e.subs({ox.w[k]: 0 for k in zero}) for e in q]
            if not all(equal(a, b, K, V) for a, b in zip(at_face, face)):
                raise TraceDeclined(
                    f"the code branches on w_k = 0 and its formula on the face w_{list(zero)} = 0 differs from the "
                    f"generic formula there (K={K}, V={V}): a case split the tracer does not encode")
    return q


def _on_simplex(e: sp.Expr, K: int, V: int) -> sp.Expr:
    """``e`` with the last token of every row eliminated: ``Q[k, V-1] = 1 - sum_{i<V-1} Q[k, i]``."""
    return e.subs({ox.Q[k, V - 1]: 1 - sum(ox.Q[k, i] for i in range(V - 1)) for k in range(K)})


def equal(a: sp.Expr, b: sp.Expr, K: int, V: int) -> bool:
    """Exact identity of two traced expressions on the open simplex (False when not shown)."""
    d = evaluated(a - b)
    if d == 0 or sp.cancel(d) == 0:
        return True
    try:
        if sp.cancel(_on_simplex(d, K, V)) == 0:
            return True
        # simplify is slow and only useful beyond rational functions (powers with symbolic exponents).
        return not is_rational((d,)) and sp.simplify(_on_simplex(d, K, V)) == 0
    except (sp.PolynomialError, TypeError, ValueError):
        return False


def same_as_builtin(q: tuple[sp.Expr, ...], name: str, K: int, V: int) -> bool:
    """Is the traced ``q`` identical (sympy, exactly) to the built-in ``name`` at this size?

    ``linear``: term by term. ``geometric``: two positive vectors on the simplex coincide iff they
    sum to 1 and have the same ratios to token 0; the log-ratios are compared after splitting the
    logs (valid for positive quantities).
    """
    ref = ox.operator_expr(name, {}, K, V)
    if name == "linear":
        return is_rational(q) and all(equal(a, b, K, V) for a, b in zip(q, ref))
    if any(e.has(TracedMax) for e in q):
        return False
    total = sp.Add(*q) - 1
    if not (sp.cancel(total) == 0 or sp.simplify(total) == 0):
        return False
    for i in range(1, V):
        gap = (sp.expand_log(sp.log(q[i]) - sp.log(q[0]), force=True)
               - sum(ox.w[k] * (sp.log(ox.Q[k, i]) - sp.log(ox.Q[k, 0])) for k in range(K)))
        if not (sp.expand(gap) == 0 or sp.simplify(gap) == 0):
            return False
    return True


def is_rational(q: tuple[sp.Expr, ...]) -> bool:
    """Only ``+ - * /``, integer powers and ``max``: a z3 polynomial encoding exists."""
    for e in q:
        for node in sp.preorder_traversal(e):
            if isinstance(node, (sp.exp, sp.log)) or (isinstance(node, sp.Pow) and not node.exp.is_Integer):
                return False
            if isinstance(node, sp.Function) and not isinstance(node, TracedMax):
                return False
    return True


def _permuted(q: tuple[sp.Expr, ...], tokens: Mapping[int, int], teachers: Mapping[int, int],
              K: int, V: int) -> tuple[sp.Expr, ...]:
    sub = {ox.Q[k, i]: ox.Q[teachers.get(k, k), tokens.get(i, i)] for k in range(K) for i in range(V)}
    sub.update({ox.w[k]: ox.w[teachers.get(k, k)] for k in range(K)})
    return tuple(e.xreplace(sub) for e in q)


def symmetries(q: tuple[sp.Expr, ...], K: int, V: int) -> tuple[bool, bool]:
    """``(neutral, anonymous)``: does permuting tokens permute ``q`` the same way, and does
    permuting teachers together with their weights leave ``q`` unchanged? Checked exactly on a
    generating set of each group (a transposition and a full cycle)."""
    def perms(n: int) -> list[dict[int, int]]:
        return [{0: 1, 1: 0}, {i: (i + 1) % n for i in range(n)}] if n > 1 else []
    neutral = all(equal(a, q[g.get(i, i)], K, V)
                  for g in perms(V) for i, a in enumerate(_permuted(q, g, {}, K, V)))
    anonymous = all(equal(a, b, K, V) for g in perms(K) for a, b in zip(_permuted(q, {}, g, K, V), q))
    return neutral, anonymous


@dataclass
class Analysis:
    """Everything the engines need about one operator's traced formula (built lazily, cached)."""

    precise: Callable[..., Any]
    form: str
    """``"hand-written precise form"`` or ``"derived form"``: which code the formula came from."""
    formulas: dict[tuple[int, int], tuple[sp.Expr, ...]] = field(default_factory=dict)
    declined: dict[tuple[int, int], str] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict)
    """Per-size facts derived from the formulas (symmetries, domain lemmas), computed once."""

    def formula(self, K: int, V: int) -> tuple[sp.Expr, ...]:
        """The traced ``q`` at ``(K, V)``; raises :class:`TraceDeclined` (remembered) when there is none."""
        if (K, V) in self.declined:
            raise TraceDeclined(self.declined[(K, V)])
        if (K, V) not in self.formulas:
            try:
                self.formulas[(K, V)] = trace_formula(self.precise, K, V)
            except TraceDeclined as exc:
                self.declined[(K, V)] = str(exc)
                raise
        return self.formulas[(K, V)]

    def pattern(self, sizes: tuple[tuple[int, int], ...]) -> str | None:
        """The built-in whose formula the trace equals at every size in ``sizes``, if any."""
        for name in BUILTIN_PATTERNS:
            if all(same_as_builtin(self.formula(K, V), name, K, V) for K, V in sizes):
                return name
        return None


_CACHE: dict[tuple[str, int], tuple[Any, Analysis]] = {}


def analysis_for(spec: str, precise: Callable[..., Any], form: str) -> Analysis:
    """The (cached) :class:`Analysis` of one operator's precise form."""
    key = (spec, id(precise))
    hit = _CACHE.get(key)
    if hit is None or hit[0] is not precise:
        hit = (precise, Analysis(precise, form))
        _CACHE[key] = hit
    return hit[1]
