"""Polynomial encodings of operators for z3, over the temperature-scaled teachers ``Q``.

By the bijection lemma (docs/formalization.md) a property that only looks at ``Q = tau_T(P)`` may
quantify over ``Q`` directly, so temperatures never appear here. An operator's encoder (an
:class:`Encoder`, defined in the operator's own module and returned by its ``smt_encoder``) provides

* a *teacher parameterisation* (:class:`Teachers`): the free z3 variables from which ``Q`` is
  built, chosen so that every root the operator takes becomes a polynomial identity;
* ``aggregate``: ``q`` as z3 terms plus defining constraints, using auxiliary variables instead
  of divisions (``q(i) * Z == M(i)``) and roots (``r**a == S**b``);
* ``exact_q``: the same operator evaluated exactly in sympy, used to re-check every model.

Operators that raise ``Q`` to the weights (geometric, entropic) are only algebraic for fixed
rational weights; they share :class:`GeometricFamily`, which encodes ``Q_k(i) = R_k(i)**D / N_k``
(``D`` the common denominator of the exponents), making ``Q_k(i)**(w_k s)`` proportional to the
monomial ``R_k(i)**(w_k s D)``; the per-teacher factor ``N_k**(-w_k s)`` cancels in the normalisation.

>>> GeometricFamily(Fraction(1), "geometric", [(Fraction(1, 2), Fraction(1, 2))]).label
'geometric'
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from fractions import Fraction
from typing import Any, Mapping, Sequence, Union

import sympy
import z3

from .smt_exact import normalise, snap, snap_positive, to_fraction

Weight = Union[z3.ArithRef, Fraction]
"""A weight is a z3 variable (weights quantified) or a fixed rational."""


def zval(ctx: z3.Context, x: Weight | int) -> z3.ArithRef:
    """A z3 term for a weight or number, in ``ctx``."""
    if isinstance(x, z3.ArithRef):
        return x
    x = Fraction(x)
    return z3.Q(x.numerator, x.denominator, ctx) if x.denominator != 1 else z3.RealVal(x.numerator, ctx)


def zpow(x: z3.ArithRef, n: int) -> z3.ArithRef:
    """``x**n`` as an explicit product (nlsat sees a plain monomial), ``n >= 0``."""
    out: z3.ArithRef | None = None
    for _ in range(n):
        out = x if out is None else out * x
    return out if out is not None else zval(x.ctx, 1)


def as_rational(x: Any) -> Fraction | None:
    """A parameter as an exact rational, or None when it is not (close to) a small rational.

    Floats such as ``0.5`` or ``1/3`` round-trip; ``math.pi`` does not, so it is not encodable.
    """
    if isinstance(x, Fraction):
        return x
    if isinstance(x, str):
        return Fraction(x)
    f = Fraction(float(x)).limit_denominator(1000)
    return f if float(f) == float(x) else None


# --------------------------------------------------------------------------- teachers


class Teachers(ABC):
    """The K x V temperature-scaled teachers of one query, as z3 terms over free variables."""

    def __init__(self, ctx: z3.Context, K: int, V: int) -> None:
        self.ctx, self.K, self.V = ctx, K, V
        self.constraints: list[z3.BoolRef] = []

    @property
    @abstractmethod
    def Q(self) -> list[list[z3.ArithRef]]:
        """``Q[k][i]``: rows on the open simplex."""

    @abstractmethod
    def snap(self, model: z3.ModelRef, max_den: int | None) -> list[list[Fraction]]:
        """Exact rational teachers on the open simplex near the model's (``None``: as read)."""


class DirectTeachers(Teachers):
    """``Q`` itself is the variable: positive rows summing to 1 (all rational operators).

    ``column0_only``: model only ``Q[k][0]`` with ``0 < Q[k][0] < 1``. That is the exact
    projection of the open simplex onto one coordinate (V >= 2), so it is sound whenever the
    query mentions nothing but column 0; it removes ``K * (V - 1)`` variables, which is what
    keeps nlsat fast at K = V = 4. A model is completed with uniform remaining columns.
    """

    def __init__(self, ctx: z3.Context, K: int, V: int, column0_only: bool = False) -> None:
        super().__init__(ctx, K, V)
        cols = 1 if column0_only else V
        self._Q = [[z3.Real(f"Q_{k}_{i}", ctx) for i in range(cols)] for k in range(K)]
        for row in self._Q:
            self.constraints += [x > 0 for x in row]
            self.constraints += [row[0] < 1] if column0_only else [z3.Sum(row) == 1]

    @property
    def Q(self) -> list[list[z3.ArithRef]]:
        return self._Q

    def snap(self, model: z3.ModelRef, max_den: int | None) -> list[list[Fraction]]:
        out = []
        for row in self._Q:
            vals = [snap_positive(to_fraction(model.eval(x, True)), max_den) for x in row]
            if len(row) == 1:
                first = min(vals[0], 1 - Fraction(1, 10 * (max_den or 10**9)))
                vals = [first] + [(1 - first) / (self.V - 1)] * (self.V - 1)
            out.append(normalise(vals))
        return out


class RootTeachers(Teachers):
    """``Q = R**b`` with ``R > 0`` on the unit ``b``-sphere, so ``Q**(1/b) = R`` is a variable.

    Used by the power mean with ``alpha = a/b``: ``Q**alpha = R**a`` is then a monomial.
    """

    def __init__(self, ctx: z3.Context, K: int, V: int, b: int, column0_only: bool = False
                 ) -> None:
        """``column0_only``: only ``R[k][0]`` in ``(0, 1)``, as in :class:`DirectTeachers`."""
        super().__init__(ctx, K, V)
        self.b = b
        self.R = [[z3.Real(f"R_{k}_{i}", ctx) for i in range(1 if column0_only else V)]
                  for k in range(K)]
        for row in self.R:
            self.constraints += [x > 0 for x in row]
            self.constraints += [row[0] < 1] if column0_only else \
                [z3.Sum([zpow(x, b) for x in row]) == 1]

    @property
    def Q(self) -> list[list[z3.ArithRef]]:
        return [[zpow(x, self.b) for x in row] for row in self.R]

    def snap(self, model: z3.ModelRef, max_den: int | None) -> list[list[Fraction]]:
        out = []
        for row in self.R:
            r = [to_fraction(model.eval(x, True)) for x in row]
            # For b = 2, snap through the stereographic projection: it lands on a *rational*
            # point of the sphere, so Q = R**2 has rational square roots and q stays rational.
            point = _rational_sphere_point(r, max_den) if self.b == 2 else None
            if point is None:
                out.append(normalise([snap_positive(x, max_den) ** self.b for x in r]))
            else:
                out.append([x * x for x in point])
        return out


def _rational_sphere_point(r: list[Fraction], max_den: int | None) -> list[Fraction] | None:
    """A positive rational point of the unit sphere near ``r`` (stereographic projection)."""
    t = [snap(x / (1 + r[0]), max_den) for x in r[1:]]
    n = sum((x * x for x in t), Fraction(0))
    point = [(1 - n) / (1 + n)] + [2 * x / (1 + n) for x in t]
    return point if all(x > 0 for x in point) else None


class ProjectiveTeachers(Teachers):
    """``Q_k(i) = R_k(i)**D / N_k`` with ``N_k = sum_j R_k(j)**D`` and ``R_k(0) = 1``.

    Fixing ``R_k(0) = 1`` loses nothing (``Q`` is invariant under scaling a row of ``R``) and
    removes a free variable per teacher. ``Q`` gets auxiliary variables only when a property
    asks for it, because ``q`` of a geometric-type operator is a function of ``R`` alone.
    """

    def __init__(self, ctx: z3.Context, K: int, V: int, D: int) -> None:
        super().__init__(ctx, K, V)
        self.D = D
        self.R = [[zval(ctx, 1)] + [z3.Real(f"R_{k}_{i}", ctx) for i in range(1, V)]
                  for k in range(K)]
        self.constraints += [x > 0 for row in self.R for x in row[1:]]
        self._Q: list[list[z3.ArithRef]] | None = None

    @property
    def Q(self) -> list[list[z3.ArithRef]]:
        if self._Q is None:
            self._Q = [[z3.Real(f"Q_{k}_{i}", self.ctx) for i in range(self.V)]
                       for k in range(self.K)]
            for Qrow, Rrow in zip(self._Q, self.R):
                N = z3.Sum([zpow(x, self.D) for x in Rrow])
                self.constraints += [Qk * N == zpow(x, self.D) for Qk, x in zip(Qrow, Rrow)]
                self.constraints += [Qk > 0 for Qk in Qrow]
        return self._Q

    def snap(self, model: z3.ModelRef, max_den: int | None) -> list[list[Fraction]]:
        return [normalise([Fraction(1)] + [snap_positive(to_fraction(model.eval(x, True)),
                                                         max_den) ** self.D for x in row[1:]])
                for row in self.R]


# --------------------------------------------------------------------------- operators


class Encoder(ABC):
    """One operator's z3 encoding and exact evaluator."""

    label: str
    free_weights: bool = True
    """False when only fixed rational weights are algebraic (geometric, entropic)."""
    column_local: bool = False
    """True when ``q(i)`` depends on column ``i`` of ``Q`` only (no normalisation across tokens)."""
    uses_weights: bool = True
    """False when ``q`` ignores ``w``: one ``q`` then serves every weight vector of a query."""
    relaxable: bool = False
    """True for :class:`Power`, which offers ``column0_teachers``/``relaxed_q0``/``mean_lemma``."""

    @abstractmethod
    def teachers(self, ctx: z3.Context, K: int, V: int,
                 weight_vectors: Sequence[Sequence[Fraction]]) -> Teachers:
        """Teacher variables for a query that evaluates ``q`` at ``weight_vectors`` (fixed ones)."""

    @abstractmethod
    def aggregate(self, t: Teachers, w: Sequence[Weight], tag: str
                  ) -> tuple[list[z3.ArithRef], list[z3.BoolRef]]:
        """``q`` and its defining constraints; ``tag`` keeps auxiliary names distinct."""

    def derivative_sign(self, t: Teachers, w: Sequence[Weight], i: int, k: int, k2: int
                        ) -> tuple[z3.ArithRef, list[z3.BoolRef]] | None:
        """A term with the sign of ``d q(i) / d delta`` (weight ``delta`` moved from k2 to k)."""
        return None

    @abstractmethod
    def exact_q(self, Q: Sequence[Sequence[sympy.Expr]], w: Sequence[sympy.Expr]) -> list[sympy.Expr]:
        """``q`` in exact sympy arithmetic (``w`` may contain symbols, for derivatives)."""


def normalised_q(ctx: z3.Context, M: list[z3.ArithRef], tag: str
                ) -> tuple[list[z3.ArithRef], list[z3.BoolRef]]:
    """``q(i) = M(i) / sum_j M(j)`` without division: fresh ``q(i)`` with ``q(i) * Z == M(i)``."""
    Z = z3.Sum(M)
    q = [z3.Real(f"q{tag}_{i}", ctx) for i in range(len(M))]
    return q, [qi * Z == Mi for qi, Mi in zip(q, M)]


class GeometricFamily(Encoder):
    """``q ∝ prod_k Q_k**(w_k * s)`` at fixed rational weights.

    ``s = 1`` is the normalised geometric mean; ``s = 1/(1+beta)`` is the closed form of the
    entropic operator. The weight derivative involves ``log Q``, outside z3's theory.
    """

    free_weights = False

    def __init__(self, s: Fraction, label: str, default_weights: Sequence[Sequence[Fraction]]
                 ) -> None:
        self.s, self.label = s, label
        self.default_weights = [tuple(v) for v in default_weights]

    def teachers(self, ctx, K, V, weight_vectors):
        D = math.lcm(1, *[(Fraction(x) * self.s).denominator for v in weight_vectors for x in v])
        return ProjectiveTeachers(ctx, K, V, D)

    def aggregate(self, t, w, tag):
        assert isinstance(t, ProjectiveTeachers)
        exps = [Fraction(x) * self.s * t.D for x in w]
        assert all(e.denominator == 1 for e in exps), "teachers built for other weights"
        M = [z3.Product([zpow(t.R[k][i], int(exps[k])) for k in range(t.K)]) for i in range(t.V)]
        return normalised_q(t.ctx, M, tag)

    def exact_q(self, Q, w):
        # Divide each row by its first entry before taking powers: q is invariant under that
        # scaling, and ratios of a ProjectiveTeachers row are exact D-th powers, so sympy's
        # perfect-power extraction keeps the result rational.
        s = sympy.Rational(self.s.numerator, self.s.denominator)
        M = [sympy.Mul(*[(Q[k][i] / Q[k][0]) ** (w[k] * s) for k in range(len(Q))])
             for i in range(len(Q[0]))]
        Z = sympy.Add(*M)
        return [x / Z for x in M]


def default_fixed_weights(max_k: int) -> list[tuple[Fraction, ...]]:
    """Uniform weights and weights ∝ (1, ..., K) for each K <= max_k (K=2: (1/2,1/2), (1/3,2/3))."""
    out: list[tuple[Fraction, ...]] = []
    for K in range(1, max_k + 1):
        for v in ([Fraction(1, K)] * K, [Fraction(2 * (k + 1), K * (K + 1)) for k in range(K)]):
            if tuple(v) not in out:
                out.append(tuple(v))
    return out


def parse_weights(spec: Any) -> list[tuple[Fraction, ...]] | None:
    """``params["weights"]``: a sequence of numbers or a string like ``"1/3,2/3"``."""
    if spec is None:
        return None
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    v = [as_rational(x) for x in items]
    exact = [x for x in v if x is not None]
    if len(exact) != len(v) or any(x < 0 for x in exact) or sum(exact) != 1:
        raise ValueError(f"weights must be exact rationals on the simplex, got {spec!r}")
    return [tuple(exact)]


MAX_EXPONENT_PART = 64
"""Largest numerator or denominator of a rational exponent that is encoded.

``alpha = a/b`` becomes monomials of degree ``a`` and ``b`` (:func:`zpow` builds them as explicit
products), so ``power:alpha=1e300`` would build a product of 10**300 factors and never return.
Beyond this size nlsat has no chance anyway: such parameters get no encoding (None) and the
search decides the property.
"""


def small_exponent(x: Fraction) -> bool:
    return abs(x.numerator) <= MAX_EXPONENT_PART and x.denominator <= MAX_EXPONENT_PART


def _small_projective(s: Fraction, weights: Sequence[Sequence[Fraction]]) -> bool:
    """Fixed weights times ``s`` give monomial degrees up to ``lcm`` of their denominators."""
    return small_exponent(s) and all(
        math.lcm(1, *[(Fraction(x) * s).denominator for x in v]) <= MAX_EXPONENT_PART ** 2 for v in weights)


def geometric_family(s: Fraction, label: str, params: Mapping[str, Any], max_k: int) -> GeometricFamily | None:
    """The encoding ``q ∝ prod_k Q_k**(w_k s)`` at ``params["weights"]`` (else :func:`default_fixed_weights`).

    ``None`` when the monomial degrees would be too large to build (see :data:`MAX_EXPONENT_PART`).
    """
    fixed = parse_weights(params.get("weights")) or default_fixed_weights(max_k)
    return GeometricFamily(s, label, fixed) if _small_projective(s, fixed) else None
