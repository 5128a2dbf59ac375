"""The built-in aggregation operators as exact sympy expressions at concrete sizes.

Every symbolic derivation starts here. Each operator owns its formula
(``BuiltinOperator.score_expr`` in its own module); this module assembles the normalised
expressions. Following the tau-bijection lemma of docs/formalization.md the expressions are
written in the temperature-scaled teachers ``Q[k, i]`` (positive: the open domain) and the
weights ``w[k]``, with 0-based integer indices so that they line up with numpy arrays.

>>> operator_expr("linear", {}, 2, 2)[0]
Q[0, 0]*w[0] + Q[1, 0]*w[1]
>>> canonical_operator("power", {"alpha": 1.0})
('linear', ())
"""

from __future__ import annotations

from functools import lru_cache
from typing import Mapping

import sympy as sp

from mtkd.operators.builtin import BuiltinOperator
from mtkd.operators.formula import Q as Q
from mtkd.operators.formula import w as w
from mtkd.operators.registry import BUILTINS

CanonicalOp = tuple[str, tuple[tuple[str, sp.Rational], ...]]
"""An operator name with its parameters as exact rationals: hashable, so it can key caches."""


def symbolic_class(op_name: str) -> type[BuiltinOperator]:
    """The registered built-in with a sympy formula named ``op_name``; ``KeyError`` otherwise."""
    cls = BUILTINS.get(op_name)
    if cls is None or cls.shape is None:
        known = ", ".join(n for n, c in BUILTINS.items() if c.shape is not None)
        raise KeyError(f"unknown operator {op_name!r}; built-in operators with a formula: {known}")
    return cls


def canonical_operator(op_name: str, params: Mapping[str, float]) -> CanonicalOp:
    """Validate ``(op_name, params)`` and map degenerate parameter values to the operator they equal.

    Parameters become exact rationals through their shortest decimal form (``0.1 -> 1/10``), so
    the symbolic layer reasons about the value the user wrote, not its binary approximation.
    Each operator says which parameter values make it another one (``BuiltinOperator.canonical``:
    ``power`` with ``alpha = 1`` *is* ``linear`` on the simplex, ``entropic`` with ``beta = 0`` is
    ``geometric``); collapsing them lets a proof for the named operator apply.

    >>> canonical_operator("entropic", {"beta": 0.0})
    ('geometric', ())
    >>> canonical_operator("power", {})
    ('power', (('alpha', 2),))
    """
    cls = symbolic_class(op_name)
    allowed = cls.defaults
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"operator {op_name!r} takes parameters {sorted(allowed)}, got {unknown}")
    exact = {name: sp.Rational(repr(float(params.get(name, default)))) for name, default in allowed.items()}
    name, canon = cls.canonical(exact)
    return (name, tuple(sorted(canon.items())))


def unnormalised_expr(op: CanonicalOp, K: int, i: int) -> sp.Expr:
    """The score ``m(i)`` with ``q(i) = m(i) / sum_j m(j)`` (for ``linear`` the sum is 1 on the simplex)."""
    return symbolic_class(op[0]).score_expr(dict(op[1]), K, i)


@lru_cache(maxsize=None)
def _operator_expr(op: CanonicalOp, K: int, V: int) -> tuple[sp.Expr, ...]:
    scores = [unnormalised_expr(op, K, i) for i in range(V)]
    if symbolic_class(op[0]).self_normalised:
        # Already normalised whenever w is on the simplex and each Q_k sums to 1.
        return tuple(scores)
    total = sp.Add(*scores)
    return tuple(score / total for score in scores)


def operator_expr(op_name: str, params: Mapping[str, float], K: int, V: int) -> list[sp.Expr]:
    """``q(0), ..., q(V-1)`` of a built-in operator for ``K`` teachers, in ``Q[k, i]`` and ``w[k]``.

    The expressions are exact for positive ``Q`` whose rows sum to 1 and ``w`` on the simplex;
    neither constraint is substituted, so callers add them (e.g. as SMT assertions).

    >>> [str(e) for e in operator_expr("max", {}, 2, 2)][0]
    'Max(Q[0, 0], Q[1, 0])/(Max(Q[0, 0], Q[1, 0]) + Max(Q[0, 1], Q[1, 1]))'
    """
    if K < 1 or V < 1:
        raise ValueError(f"need K >= 1 and V >= 1, got K={K}, V={V}")
    return list(_operator_expr(canonical_operator(op_name, params), K, V))
