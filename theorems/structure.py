"""Structural facts about a formula, read off its sympy tree: positivity and continuity certificates.

A certificate is built bottom-up from a small set of rules, each a classical fact about one kind
of node (a finite sum of continuous functions is continuous; ``log`` is continuous on
``(0, inf)``; a quotient is continuous where its denominator is non-zero...). A node that no rule
covers makes the certificate fail with the node named, so a formula containing a ``Piecewise``,
``floor`` or a division by something not shown positive is never certified continuous.

Domain conventions (the open domain of ``FORMALIZATION.md``): ``Q[k, i]``, ``P[k, i]`` and ``T[k]``
are positive, ``w[k]`` is non-negative and the weights sum to one (the simplex). Integer index
symbols (``k``, ``i``...) are fixed integers, not variables.

>>> import sympy as sp
>>> from mtkd.theorems.symbols import K, Q, l, w, i
>>> c = certify_continuous(sp.Sum(w[l] * Q[l, i], (l, 1, K)) ** sp.Rational(1, 2))
>>> c.ok, c.failure
(True, '')
>>> certify_continuous(sp.Heaviside(Q[1, i] - sp.Rational(1, 2))).ok
False
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from mtkd.theorems.notation import IndexedMax
from mtkd.theorems.symbols import K, P, Q, T, w

POSITIVE_BASES = (Q, P, T)
"""Indexed bases positive on the open domain (teachers, raw teachers, temperatures)."""


@dataclass(frozen=True)
class Certificate:
    """Whether a rule covered every node, the rules used (in words), and the first node none covered."""

    ok: bool
    rules: tuple[str, ...]
    failure: str = ""

    def text(self) -> str:
        if not self.ok:
            return f"no certificate: {self.failure}"
        return "; ".join(self.rules)


SIMPLEX_LEMMA = ("Σ_l w_l g_l > 0 when every g_l > 0 and w is on the simplex (sympy: Σ_l w_l g_l − c·Σ_l w_l "
                 "= Σ_l w_l (g_l − c), each term ≥ 0 for c = min_l g_l > 0, and c·Σ_l w_l = c)")


def simplex_lemma_checked() -> bool:
    """The identity behind :data:`SIMPLEX_LEMMA`, checked by sympy for generic ``K``."""
    from mtkd.theorems.finite_sums import canonical_sums

    g = sp.IndexedBase("g", positive=True)
    c = sp.Symbol("c", positive=True)
    lk = sp.Symbol("l", integer=True, positive=True)
    lhs = sp.Sum(w[lk] * g[lk], (lk, 1, K)) - c * sp.Sum(w[lk], (lk, 1, K))
    return canonical_sums(lhs - sp.Sum(w[lk] * (g[lk] - c), (lk, 1, K))) == 0


def _is_domain_indexed(e: sp.Basic, bases: tuple[sp.IndexedBase, ...]) -> bool:
    return isinstance(e, sp.Indexed) and e.base in bases


def is_real(e: sp.Basic) -> bool:
    if e.is_number:
        return bool(e.is_real)
    if isinstance(e, sp.Symbol):
        return bool(e.is_integer)
    if isinstance(e, sp.Indexed):
        return _is_domain_indexed(e, POSITIVE_BASES + (w,))
    if isinstance(e, (sp.Add, sp.Mul)):
        return all(is_real(a) for a in e.args)
    if isinstance(e, sp.Pow):
        b, x = e.args
        return (is_positive(b) and is_real(x)) or (x.is_Integer and x >= 0 and is_real(b))
    if isinstance(e, sp.exp):
        return is_real(e.args[0])
    if isinstance(e, sp.log):
        return is_positive(e.args[0])
    if isinstance(e, sp.Sum):
        return is_real(e.function)
    return False


def is_nonnegative(e: sp.Basic) -> bool:
    if e.is_number:
        return bool(e.is_nonnegative)
    if _is_domain_indexed(e, (w,)):
        return True
    if isinstance(e, (sp.Add, sp.Mul)):
        return all(is_nonnegative(a) for a in e.args)
    if isinstance(e, sp.Sum):
        return is_nonnegative(e.function)
    return is_positive(e)


def is_positive(e: sp.Basic) -> bool:
    """Positive on the whole open domain, by the rules above (``False`` means "not shown")."""
    if e.is_number:
        return bool(e.is_positive)
    if _is_domain_indexed(e, POSITIVE_BASES):
        return True
    if isinstance(e, sp.Add):
        return all(is_nonnegative(a) for a in e.args) and any(is_positive(a) for a in e.args)
    if isinstance(e, sp.Mul):
        return all(is_positive(a) for a in e.args)
    if isinstance(e, sp.Pow):
        return is_positive(e.args[0]) and is_real(e.args[1])
    if isinstance(e, sp.exp):
        return is_real(e.args[0])
    if isinstance(e, IndexedMax):
        return is_positive(e.args[0])
    if isinstance(e, sp.Sum):
        if is_positive(e.function):
            return True  # a non-empty finite sum (K >= 1, V >= 2) of positive terms
        (index, lo, hi), = e.limits
        if hi != K or lo != 1:
            return False
        # Σ_l w_l g_l with g_l > 0: positive on the simplex (SIMPLEX_LEMMA).
        factors = sp.Mul.make_args(e.function)
        weight = [f for f in factors if f == w[index]]
        rest = sp.Mul(*(f for f in factors if f != w[index]))
        return len(weight) == 1 and is_positive(rest)
    return False


def certify_continuous(e: sp.Basic) -> Certificate:
    """A continuity certificate for ``e`` on the open domain, or the first node no rule covers."""
    rules: dict[str, None] = {}
    failure = _walk(e, rules)
    return Certificate(failure is None, tuple(rules), failure or "")


def _walk(e: sp.Basic, rules: dict[str, None]) -> str | None:  # noqa: C901 - one rule per node kind
    if e.is_number:
        if not e.is_finite:
            return f"the constant {e} is not finite"
        return None
    if isinstance(e, sp.Symbol):
        return None if e.is_integer else f"the free symbol {e} is not a known domain variable"
    if isinstance(e, sp.Indexed):
        if _is_domain_indexed(e, POSITIVE_BASES + (w,)):
            return None
        return f"{e} is not a domain variable (P, T, Q or w)"
    if isinstance(e, (sp.Add, sp.Mul)):
        rules["sums and products of continuous functions are continuous"] = None
        return _first(e.args, rules)
    if isinstance(e, sp.Pow):
        b, x = e.args
        if x.is_Integer and x >= 0:
            rules["x ↦ x^n (n a non-negative integer) is continuous"] = None
            return _walk(b, rules)
        if not is_positive(b):
            return f"the base of {e} is not shown positive (a power with a negative or non-integer exponent)"
        if not is_real(x):
            return f"the exponent of {e} is not shown real"
        rules["(b, x) ↦ b^x = exp(x log b) is continuous where b > 0 (every base shown positive)"] = None
        return _first((b, x), rules)
    if isinstance(e, sp.exp):
        rules["exp is continuous"] = None
        return _walk(e.args[0], rules)
    if isinstance(e, sp.log):
        if not is_positive(e.args[0]):
            return f"the argument of {e} is not shown positive"
        rules["log is continuous on (0, ∞) (every argument shown positive)"] = None
        return _walk(e.args[0], rules)
    if isinstance(e, IndexedMax):
        rules["a maximum of finitely many continuous functions is continuous"] = None
        return _walk(e.args[0], rules)
    if isinstance(e, (sp.Max, sp.Min)):
        rules["a maximum of finitely many continuous functions is continuous"] = None
        return _first(e.args, rules)
    if isinstance(e, sp.Sum):
        for _, lo, hi in e.limits:
            if (lo.free_symbols | hi.free_symbols) - {K, sp.Symbol("V", integer=True, positive=True)}:
                return f"the bounds of {e} are not constants"
        rules["a finite sum (bounds 1..K or 1..V, fixed per input size) of continuous functions is continuous"] = None
        return _walk(e.function, rules)
    return f"no continuity rule for {type(e).__name__} node {e}"


def _first(args: tuple[sp.Basic, ...], rules: dict[str, None]) -> str | None:
    for a in args:
        failure = _walk(a, rules)
        if failure is not None:
            return failure
    return None
