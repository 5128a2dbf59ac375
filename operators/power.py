"""``power``: the power-mean family ``q ∝ (sum_k w_k Q_k^alpha)^{1/alpha}``.

``alpha = 1`` is ``linear``, ``alpha -> 0`` is ``geometric``, ``alpha -> inf`` approaches ``max``.
Amari's alpha-integration (Amari, "Integration of stochastic models by minimizing
alpha-divergence", Neural Comput. 19, 2007); the paper's "Rényi / power means" witnesses.
For ``alpha < 0`` a zero from a positive-weight teacher forces the mean to zero (closed domain).

>>> import numpy as np
>>> P = np.array([[0.5, 0.5], [0.9, 0.1]])
>>> np.allclose(PowerPool(alpha=1.0)(P, np.ones(2), np.array([0.3, 0.7])), [0.78, 0.22])
True
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping, Sequence

import numpy as np
import sympy
import z3

from .builtin import BuiltinOperator, geometric_precise, log_weight_gradient, weighted_log_sum
from .formula import K as Ks
from .formula import Q as Qs
from .formula import Shape, j, k, k2, l
from .formula import w as ws
from .precision import Arithmetic
from .smt_encoding import (
    DirectTeachers,
    Encoder,
    RootTeachers,
    Teachers,
    Weight,
    as_rational,
    geometric_family,
    normalised_q,
    small_exponent,
    zpow,
    zval,
)


class PowerPool(BuiltinOperator):
    name = "power"
    token_local = True
    formula = "q(i) ∝ (sum_k w_k Q_k(i)^alpha)^{1/alpha}"
    source = "Amari (2007), alpha-integration; power / Rényi means"
    param_doc = {"alpha": "exponent (default 2); 1 = linear, 0 = geometric"}
    defaults = {"alpha": 2.0}
    shape = Shape.NORMALISED
    # alpha = 1 *is* linear on the simplex (the normaliser sum_j sum_k w_k Q_k(j) is 1);
    # alpha = 0 is the geometric pool.
    same_as = {("alpha", 1): "linear", ("alpha", 0): "geometric"}

    @classmethod
    def score_expr(cls, params: Mapping[str, sympy.Rational], K: int, i: int) -> sympy.Expr:
        alpha = params["alpha"]
        return sympy.Add(*(ws[kk] * Qs[kk, i] ** alpha for kk in range(K))) ** (1 / alpha)

    @classmethod
    def log_rate(cls, params: Mapping[str, sympy.Rational]) -> sympy.Expr:
        alpha = params["alpha"]
        return (Qs[k, j] ** alpha - Qs[k2, j] ** alpha) / (alpha * sympy.Sum(ws[l] * Qs[l, j] ** alpha, (l, 1, Ks)))

    @classmethod
    def smt_encoder(cls, params: Mapping[str, Any], max_k: int) -> Encoder | None:
        alpha = as_rational(params.get("alpha", cls.defaults["alpha"]))
        if alpha is None or alpha < 0 or not small_exponent(alpha):
            return None
        if alpha == 0:
            return geometric_family(Fraction(1), "power(alpha=0)=geometric", params, max_k)
        return PowerEncoder(alpha)

    def __init__(self, alpha: float = 2.0) -> None:
        super().__init__(alpha=alpha)

    @property
    def zero_forcing(self) -> bool:
        # alpha > 0 ignores a teacher's zero (the other terms stay); alpha <= 0 is forced to zero by it.
        return self.params["alpha"] <= 0

    def scores(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        a = self.params["alpha"]
        if a == 0:
            return weighted_log_sum(logQ, w)
        active = w[..., None] > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(active, np.log(np.where(w > 0, w, 1.0))[..., None] + a * logQ, -np.inf)
        if a < 0:
            # A zero (logQ = -inf) from an active teacher makes the term +inf and the mean 0.
            dead = (active & np.isneginf(logQ)).any(axis=-2)
            terms = np.where(np.isposinf(terms), -np.inf, terms)
        top = terms.max(axis=-2)
        safe_top = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(divide="ignore"):
            lse = safe_top + np.log(np.exp(terms - safe_top[..., None, :]).sum(axis=-2))
        out = lse / a
        if a < 0:
            out = np.where(dead, -np.inf, out)
        return out

    def score_gradient(self, logQ: np.ndarray, w: np.ndarray, s: np.ndarray) -> np.ndarray:
        # s = log(sum_k w_k Q_k^a) / a, so ds/dw_k = Q_k^a / (a e^{a s}) = e^{a (log Q_k - s)} / a.
        a = self.params["alpha"]
        if a == 0:
            return log_weight_gradient(logQ)
        return np.exp(a * (logQ - s[..., None, :])) / a

    def pool_precise(self, Q: list[list[Any]], w: list[Any], ctx: Arithmetic) -> list[Any]:
        a = Fraction(self.params["alpha"]).limit_denominator(10**6)
        if a == 0:
            return geometric_precise(Q, w, ctx)
        alpha, inv = ctx.num(a), ctx.num(1 / a)
        out = []
        for i in range(len(Q[0])):
            active = [(row[i], wk) for row, wk in zip(Q, w) if not ctx.is_zero(wk)]
            if any(ctx.is_zero(x) for x, _ in active):
                if a < 0:
                    out.append(Q[0][i] * 0)
                    continue
                active = [(x, wk) for x, wk in active if not ctx.is_zero(x)]
            s = sum((wk * ctx.exp(alpha * ctx.log(x)) for x, wk in active), ctx.num(0))
            out.append(ctx.exp(inv * ctx.log(s)) if active else s)
        return out


class PowerEncoder(Encoder):
    """``q ∝ (sum_k w_k Q_k**alpha)**(1/alpha)`` for rational ``alpha = a/b > 0``.

    ``Q**alpha = R**a`` with ``R = Q**(1/b)`` a variable; ``M = S**(b/a)`` is a fresh
    ``r > 0`` with ``r**a == S**b`` (no aux when ``a == 1``).
    """

    relaxable = True

    def __init__(self, alpha: Fraction) -> None:
        self.alpha = alpha
        self.a, self.b = alpha.numerator, alpha.denominator
        self.label = f"power(alpha={alpha})"

    def teachers(self, ctx, K, V, weight_vectors):
        return DirectTeachers(ctx, K, V) if self.b == 1 else RootTeachers(ctx, K, V, self.b)

    def _roots(self, t: Teachers) -> list[list[z3.ArithRef]]:
        return t.R if isinstance(t, RootTeachers) else t.Q

    def _S(self, t: Teachers, w: Sequence[Weight]) -> list[z3.ArithRef]:
        R = self._roots(t)
        return [z3.Sum([zval(t.ctx, w[k]) * zpow(R[k][i], self.a) for k in range(t.K)])
                for i in range(len(R[0]))]

    def _means(self, ctx: z3.Context, S: list[z3.ArithRef], tag: str
               ) -> tuple[list[z3.ArithRef], list[z3.BoolRef]]:
        """The unnormalised power means ``M = S**(b/a)``: a fresh ``r > 0`` with ``r**a == S**b``.

        Every input extends to these variables (``S > 0`` on the open domain), so an unsat
        answer is not an artefact of the encoding.
        """
        if self.a == 1:
            return [zpow(x, self.b) for x in S], []
        r = [z3.Real(f"r{tag}_{i}", ctx) for i in range(len(S))]
        return r, [x > 0 for x in r] + [zpow(x, self.a) == zpow(y, self.b) for x, y in zip(r, S)]

    def aggregate(self, t, w, tag):
        M, cons = self._means(t.ctx, self._S(t, w), tag)
        q, norm = normalised_q(t.ctx, M, tag)
        return q, cons + norm

    def derivative_sign(self, t, w, i, k, k2):
        # log q(i) = (1/alpha) log S(i) - log Z with Z = sum_j M(j), M(j) = S(j)**(1/alpha), so
        # with D(j) = dS(j)/d delta = R_k(j)**a - R_k2(j)**a:
        #   d q(i)/d delta = q(i)/(alpha Z) * (Z D(i)/S(i) - sum_j M(j) D(j)/S(j)).
        # The bracket has the derivative's sign; 1/S(j) is a variable v(j) with v(j) S(j) == 1,
        # which avoids the normalised q and its V extra equations.
        R, S = self._roots(t), self._S(t, w)
        M, cons = self._means(t.ctx, S, "")
        v = [z3.Real(f"v_{j}", t.ctx) for j in range(t.V)]
        cons += [v[j] * S[j] == 1 for j in range(t.V)]
        D = [zpow(R[k][j], self.a) - zpow(R[k2][j], self.a) for j in range(t.V)]
        return (z3.Sum(M) * D[i] * v[i] - z3.Sum([M[j] * D[j] * v[j] for j in range(t.V)]), cons)

    def column0_teachers(self, ctx: z3.Context, K: int, V: int) -> Teachers:
        """Teachers with column 0 only, for :meth:`relaxed_q0`."""
        return DirectTeachers(ctx, K, V, True) if self.b == 1 else RootTeachers(ctx, K, V, self.b, True)

    def relaxed_q0(self, t: Teachers, w: Sequence[Weight]
                   ) -> tuple[z3.ArithRef, list[z3.BoolRef]]:
        """An over-approximation of ``q(0)`` that needs column 0 only.

        ``q(0) = M(0) / (M(0) + Rest)`` with ``Rest = sum_{j>0} M(j)``; the columns j > 0 are
        replaced by the power-mean inequality (:meth:`mean_lemma`): ``M(j) >= A(j)`` for
        ``alpha >= 1`` and ``<=`` for ``alpha <= 1``, ``A(j) = sum_k w_k Q_k(j)``, and
        ``sum_{j>0} A(j) = 1 - A(0)``. Every true input satisfies the relaxation, so its unsat
        proves the property; its sat proves nothing.
        """
        (M0,), cons = self._means(t.ctx, self._S(t, w), "0")
        A0 = z3.Sum([zval(t.ctx, w[k]) * t.Q[k][0] for k in range(t.K)])
        rest, q0 = z3.Real("rest", t.ctx), z3.Real("q_0", t.ctx)
        cons += [rest > 0, q0 * (M0 + rest) == M0,
                 rest >= 1 - A0 if self.alpha >= 1 else rest <= 1 - A0]
        return q0, cons

    def mean_lemma(self, K: int) -> list[z3.BoolRef]:
        """The negation of the power-mean inequality for one column (to be shown unsat)."""
        ctx = z3.Context()
        t = DirectTeachers(ctx, K, 2, True) if self.b == 1 else RootTeachers(ctx, K, 2, self.b, True)
        w = [z3.Real(f"w_{k}", ctx) for k in range(K)]
        (M,), cons = self._means(ctx, self._S(t, w), "")
        A = z3.Sum([w[k] * t.Q[k][0] for k in range(K)])
        return cons + t.constraints + [x >= 0 for x in w] + [z3.Sum(w) == 1,
                                                             M < A if self.alpha >= 1 else M > A]

    def exact_q(self, Q, w):
        alpha = sympy.Rational(self.a, self.b)
        M = [sympy.Add(*[w[k] * Q[k][i] ** alpha for k in range(len(Q))]) ** (1 / alpha)
             for i in range(len(Q[0]))]
        Z = sympy.Add(*M)
        return [x / Z for x in M]
