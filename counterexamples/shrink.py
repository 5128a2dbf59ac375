"""Shrink a counterexample while it still certifies: fewer teachers and tokens, short numbers.

Every candidate simplification is re-decided by :func:`~mtkd.counterexamples.certify.check_exact`
at the exact point, so a step can never turn a counterexample into a non-counterexample: a
wrong guess is simply not taken. The steps, greedily, until none applies or the check budget
is spent:

1. drop teachers (weights renormalised exactly) and tokens (rows renormalised exactly), largest
   chunks first;
2. set temperatures to 1, all at once, then one by one;
3. round ``P``, ``w`` to 1..6 decimals (rows still sum to exactly one; positive entries stay
   positive, zero weights stay zero) and ``T`` and the witness to 1..6 significant digits.

After a drop the witness's indices are remapped (a witness token or teacher that was dropped
cannot be); if the remapped witness does not certify, the property's own witness choice at the
new point is tried.

>>> from mtkd.operators import load_operator
>>> from mtkd.theorems import get_property
>>> from mtkd.results import Counterexample
>>> cx = Counterexample((("0.31", "0.69"), ("0.73", "0.27"), ("0.44", "0.56")), ("1", "1", "1"),
...                     ("0.2", "0.3", "0.5"), witness={"token": 0}, certified=True)
>>> small = shrink(load_operator("geometric"), get_property("def-IV.1"), cx)
>>> small.certified, size(small) <= size(cx)
(True, True)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from mtkd.errors import OperatorFailure
from mtkd.operators import Operator
from mtkd.results import Counterexample
from mtkd.theorems import Batch, ExactPoint, Property
from mtkd.theorems.parts import Axis, Role

from .certify import check_exact

DIGITS = (1, 2, 3, 4, 6)

Witness = dict[str, Any]
Candidate = tuple[ExactPoint, Witness | None]


def size(cx: Counterexample) -> tuple[int, int, int]:
    """What shrinking minimises, in order: teachers, tokens, characters of the numbers (witness too)."""
    chars = sum(len(v) for row in cx.P for v in row) + sum(map(len, cx.T)) + sum(map(len, cx.w))
    return (cx.K, cx.V, chars + len(repr(sorted(cx.witness.items()))))


MAX_CHECKS = 400
"""Candidate simplifications decided per shrink: the reproducible amount of work."""

SMALL_ENTRIES = 5000
"""Up to this many teacher entries (K * V) a shrink gets all :data:`MAX_CHECKS` within ``seconds``.
Beyond it each check costs more (certification is linear in K * V), so the check quota shrinks and
the time cap grows in proportion: ``MAX_CHECKS * SMALL_ENTRIES`` entries are checked in all (7
checks at K = 8, V = 32768), and the quota, not the clock, still ends the shrink."""


def shrink(op: Operator, prop: Property, cx: Counterexample, seconds: float = 4.0,
           max_checks: int = MAX_CHECKS) -> Counterexample:
    """A counterexample no larger than ``cx`` (by :func:`size`) that still fails ``prop`` as well.

    As well means: a certified ``cx`` only shrinks to certified ones. The work is bounded by
    ``max_checks`` decisions (fewer above :data:`SMALL_ENTRIES`), so the result depends on the seed
    only; ``seconds`` (scaled the same way) is a safety net for slow operators (when it ends a
    shrink, the result may vary between machines).
    """
    scale = max(1.0, cx.K * cx.V / SMALL_ENTRIES)
    max_checks = max(1, int(max_checks / scale))
    deadline = time.monotonic() + seconds * scale
    checks = 0
    best = cx
    x = ExactPoint.from_strings(cx.P, cx.T, cx.w)
    witness: Witness = dict(cx.witness)
    changed = True
    while changed and time.monotonic() < deadline:
        changed = False
        for step in (_drop_teachers, _drop_tokens, _unit_temperatures, _round_numbers, _round_witness):
            for cand_x, cand_w in step(prop, x, witness):
                checks += 1
                if time.monotonic() > deadline or checks > max_checks:
                    return best
                got = _decide(op, prop, cand_x, cand_w, need_certified=cx.certified)
                if got is not None and size(got) < size(best):
                    best, x, witness, changed = got, cand_x, dict(got.witness), True
                    break
    return best


def _decide(op: Operator, prop: Property, x: ExactPoint, witness: Witness | None,
            need_certified: bool) -> Counterexample | None:
    """The counterexample at ``x`` with the given witness, else with the property's own choice."""
    tries: list[tuple[Witness, float | None]] = []
    if witness is not None and op.precise_func is not None:
        tries.append((witness, None))
    own = _own_witness(op, prop, x)
    if own is not None:
        tries.append(own)
    for wit, margin in tries:
        try:
            out = check_exact(op, prop, x, wit, margin)
        except OperatorFailure:
            return None
        cx = out.counterexample
        if cx is not None and (cx.certified or not need_certified):
            return cx
    return None


def _own_witness(op: Operator, prop: Property, x: ExactPoint) -> tuple[Witness, float] | None:
    P, T, w = x.floats()
    try:
        # A fixed generator: the same point always gets the same witness.
        m = prop.margins(op, Batch(P[None], T[None], w[None], "shrink"), np.random.default_rng(0))
    except OperatorFailure:
        return None
    return m.witness_at(0), float(m.values[0])


# ---- steps: each yields candidate (point, remapped witness or None) pairs, most ambitious first --

def _drop_teachers(prop: Property, x: ExactPoint, witness: Witness) -> Iterator[Candidate]:
    for keep in _subsets(x.K, minimum=1):
        rest = sum((x.w[k] for k in keep), Fraction(0))
        if rest == 0:
            continue
        y = ExactPoint(tuple(x.P[k] for k in keep), tuple(x.T[k] for k in keep),
                       tuple(x.w[k] / rest for k in keep))
        yield y, _remap(prop, witness, keep, Axis.TEACHER)


def _drop_tokens(prop: Property, x: ExactPoint, witness: Witness) -> Iterator[Candidate]:
    for keep in _subsets(x.V, minimum=2):
        totals = [sum((row[i] for i in keep), Fraction(0)) for row in x.P]
        if any(t == 0 for t in totals):
            continue  # a teacher would keep only zeros (closed domain): not a probability vector
        rows = tuple(tuple(row[i] / t for i in keep) for row, t in zip(x.P, totals))
        yield ExactPoint(rows, x.T, x.w), _remap(prop, witness, keep, Axis.TOKEN)


def _subsets(n: int, minimum: int) -> Iterator[list[int]]:
    """Index lists that drop a chunk of ``range(n)``: halves first, then quarters, ... then singles."""
    chunk = n // 2
    while chunk >= 1:
        for lo in range(0, n, chunk):
            keep = [i for i in range(n) if not lo <= i < lo + chunk]
            if len(keep) >= minimum and len(keep) < n:
                yield keep
        chunk //= 2


def _unit_temperatures(prop: Property, x: ExactPoint, witness: Witness) -> Iterator[Candidate]:
    one = Fraction(1)
    if any(t != one for t in x.T):
        yield ExactPoint(x.P, tuple(one for _ in x.T), x.w), witness
    for k, t in enumerate(x.T):
        if t != one:
            yield ExactPoint(x.P, tuple(one if j == k else s for j, s in enumerate(x.T)), x.w), witness


def _round_numbers(prop: Property, x: ExactPoint, witness: Witness) -> Iterator[Candidate]:
    for d in DIGITS:
        rows = tuple(round_simplex(row, d) for row in x.P)
        w = round_simplex(x.w, d)
        T = tuple(_round_sig(t, d) for t in x.T)
        if all(r is not None for r in rows) and w is not None:
            yield ExactPoint(rows, T, w), witness  # type: ignore[arg-type]
    for k in range(x.K):
        for d in DIGITS:
            row = round_simplex(x.P[k], d)
            if row is not None and row != x.P[k]:
                yield ExactPoint(tuple(row if j == k else r for j, r in enumerate(x.P)), x.T, x.w), witness
    for d in DIGITS:
        w = round_simplex(x.w, d)
        if w is not None and w != x.w:
            yield ExactPoint(x.P, x.T, w), witness
        T = tuple(_round_sig(t, d) for t in x.T)
        if T != x.T:
            yield ExactPoint(x.P, T, x.w), witness


def _round_witness(prop: Property, x: ExactPoint, witness: Witness) -> Iterator[Candidate]:
    for d in DIGITS:
        rounded = {k: _map_numbers(v, lambda s: _round_sig_str(s, d)) for k, v in witness.items()}
        if rounded != witness:
            yield x, rounded


def round_simplex(vals: Sequence[Fraction], digits: int) -> tuple[Fraction, ...] | None:
    """``vals`` rounded to ``digits`` decimals, summing to exactly one, signs kept; ``None`` if impossible.

    >>> [str(v) for v in round_simplex((Fraction(1, 3), Fraction(2, 3)), 1)]
    ['3/10', '7/10']
    """
    unit = Fraction(1, 10**digits)
    out = [max(Fraction(round(v / unit)) * unit, unit) if v > 0 else Fraction(0) for v in vals]
    top = max(range(len(out)), key=lambda j: out[j])
    out[top] += 1 - sum(out)
    if out[top] <= 0 or (len(out) > 1 and out[top] < unit):
        return None
    return tuple(out)


def _round_sig(t: Fraction, digits: int) -> Fraction:
    r = Fraction(f"{float(t):.{digits}g}")
    return r if r > 0 else t


def _round_sig_str(s: str, digits: int) -> str:
    try:
        v = float(s)
    except ValueError:
        return s
    out = f"{v:.{digits}g}"
    return out if len(out) < len(s) else s


def _map_numbers(v: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(v, str):
        return fn(v)
    if isinstance(v, list):
        return [_map_numbers(u, fn) for u in v]
    return v


def _remap(prop: Property, witness: Mapping[str, Any], keep: list[int], axis: Axis) -> Witness | None:
    """The witness after keeping only indices ``keep`` on ``axis``; ``None`` if it referred to a dropped one.

    How each entry depends on the axis is the property's :meth:`~mtkd.theorems.Property.witness_role`.
    """
    new = {i: j for j, i in enumerate(keep)}
    out: Witness = {}
    for key, value in witness.items():
        role = prop.witness_role(witness, key, axis)
        if role is None:
            out[key] = value
        elif role is Role.INDEX:
            if value == -1:  # axiom1's "the sum" witness is not an index
                out[key] = value
            elif value not in new:
                return None
            else:
                out[key] = new[value]
        elif role is Role.PERMUTATION:
            out[key] = [new[v] for v in value if v in new]
        elif role is Role.VECTOR:
            out[key] = [value[i] for i in keep]
        else:  # Role.COLUMNS
            out[key] = [[row[i] for i in keep] for row in value]
    return out
