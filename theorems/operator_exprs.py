"""The built-in aggregation operators as exact sympy expressions at concrete sizes.

Every symbolic derivation, and any engine that needs the operators as formulas (SMT encodings,
exact certification), starts here. Following the tau-bijection lemma of ``FORMALIZATION.md``
the expressions are written in the temperature-scaled teachers ``Q[k, i]`` (positive: the open
domain) and the weights ``w[k]``, with 0-based integer indices so that they line up with numpy
arrays.

>>> operator_expr("linear", {}, 2, 2)[0]
Q[0, 0]*w[0] + Q[1, 0]*w[1]
>>> canonical_operator("power", {"alpha": 1.0})
('linear', ())
"""

from __future__ import annotations

from functools import lru_cache
from typing import Mapping

import sympy as sp

Q = sp.IndexedBase("Q", positive=True)
"""Temperature-scaled teachers ``Q[k, i] = tau_{T_k}(p_k)(i)``; positive (open domain)."""

w = sp.IndexedBase("w", nonnegative=True)
"""Teacher weights ``w[k]`` (a point of the simplex; the sum constraint is imposed by callers)."""

OPERATOR_NAMES: tuple[str, ...] = ("linear", "geometric", "power", "entropic", "max")

DEFAULT_PARAMS: Mapping[str, Mapping[str, float]] = {
    "linear": {},
    "geometric": {},
    "power": {"alpha": 2.0},
    "entropic": {"beta": 0.5},
    "max": {},
}

CanonicalOp = tuple[str, tuple[tuple[str, sp.Rational], ...]]
"""An operator name with its parameters as exact rationals: hashable, so it can key caches."""


def canonical_operator(op_name: str, params: Mapping[str, float]) -> CanonicalOp:
    """Validate ``(op_name, params)`` and map degenerate parameter values to the operator they equal.

    Parameters become exact rationals through their shortest decimal form (``0.1 -> 1/10``), so
    the symbolic layer reasons about the value the user wrote, not its binary approximation.
    ``power`` with ``alpha = 1`` *is* ``linear`` on the simplex (its normaliser
    ``sum_j sum_k w_k Q_k(j)`` equals 1), ``power`` with ``alpha = 0`` and ``entropic`` with
    ``beta = 0`` are ``geometric``; collapsing them lets a proof for the named operator apply.

    >>> canonical_operator("entropic", {"beta": 0.0})
    ('geometric', ())
    >>> canonical_operator("power", {})
    ('power', (('alpha', 2),))
    """
    if op_name not in DEFAULT_PARAMS:
        raise KeyError(f"unknown operator {op_name!r}; built-in operators: {', '.join(OPERATOR_NAMES)}")
    allowed = DEFAULT_PARAMS[op_name]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"operator {op_name!r} takes parameters {sorted(allowed)}, got {unknown}")
    exact = {name: sp.Rational(repr(float(params.get(name, default)))) for name, default in allowed.items()}
    if op_name == "power" and exact["alpha"] == 1:
        return ("linear", ())
    if op_name == "power" and exact["alpha"] == 0:
        return ("geometric", ())
    if op_name == "entropic":
        if exact["beta"] <= -1:
            raise ValueError(f"entropic needs beta > -1 (the objective is not convex otherwise), got {exact['beta']}")
        if exact["beta"] == 0:
            return ("geometric", ())
    return (op_name, tuple(sorted(exact.items())))


def unnormalised_expr(op: CanonicalOp, K: int, i: int) -> sp.Expr:
    """The score ``m(i)`` with ``q(i) = m(i) / sum_j m(j)`` (for ``linear`` the sum is 1 on the simplex)."""
    name, params = op
    p = dict(params)
    if name == "linear":
        return sp.Add(*(w[k] * Q[k, i] for k in range(K)))
    if name == "geometric":
        return sp.Mul(*(Q[k, i] ** w[k] for k in range(K)))
    if name == "power":
        alpha = p["alpha"]
        return sp.Add(*(w[k] * Q[k, i] ** alpha for k in range(K))) ** (1 / alpha)
    if name == "entropic":
        # (prod_k Q^w)^(1/(1+beta)) written factor by factor: equal for Q > 0, and sympy
        # differentiates the factored form without needing to pull the outer power apart.
        return sp.Mul(*(Q[k, i] ** (w[k] / (1 + p["beta"])) for k in range(K)))
    if name == "max":
        return sp.Max(*(Q[k, i] for k in range(K)))
    raise KeyError(name)


@lru_cache(maxsize=None)
def _operator_expr(op: CanonicalOp, K: int, V: int) -> tuple[sp.Expr, ...]:
    scores = [unnormalised_expr(op, K, i) for i in range(V)]
    if op[0] == "linear":
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
