"""``reweighted``: the linear pool with the two weights reshaped at ``K = 2`` (thm-III.2's second witness).

At ``K = 2``: ``q = f(w_1) Q_1 + f(w_2) Q_2`` with ``f(z) = z + c z (1 - z)(1 - 2z)``; at every
other ``K`` the linear pool. ``f(0) = 0``, ``f(1) = 1`` and ``f(z) + f(1 - z) = 1``, so
``(f(w_1), f(w_2))`` is again a point of the simplex, and ``f' = 1 + c (1 - 6z + 6z^2)`` lies in
``[1 - c/2, 1 + c]``: strictly increasing exactly when ``-1 < c < 2`` (the default ``c = 1``).
Built to answer the paper's Theorem III.2 (two *different* operators satisfying Axioms 1-5),
which none of the paper's own witnesses does; the suite proves its axioms for all K, V
(:mod:`mtkd.theorems.proofs_general`) and checks Section IV's guarantees on it.

>>> import numpy as np
>>> P = np.array([[0.6, 0.4], [0.5, 0.5]])
>>> ReweightedPool()(P, np.ones(2), np.array([0.75, 0.25]))  # f(3/4) = 21/32
array([0.565625, 0.434375])
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Mapping

import numpy as np
import sympy

from .builtin import BuiltinOperator
from .formula import Shape
from .formula import w as ws
from .mixture import mixture, mixture_expr, mixture_precise
from .precision import Arithmetic


class ReweightedPool(BuiltinOperator):
    name = "reweighted"
    token_local = True
    formula = "q(i) = f(w_1) Q_1(i) + f(w_2) Q_2(i) at K = 2, f(z) = z + c z(1-z)(1-2z); linear for K != 2"
    source = "constructed for the paper's Thm III.2 (a conforming operator other than linear)"
    param_doc = {"c": "reshaping strength (default 1); -1 < c < 2 keeps f strictly increasing"}
    defaults = {"c": 1.0}
    shape = Shape.MIXTURE
    self_normalised = True
    same_as = {("c", 0): "linear"}

    @classmethod
    def score_expr(cls, params: Mapping[str, sympy.Rational], K: int, i: int) -> sympy.Expr:
        weights = [ws[k] for k in range(K)]
        # The linear pool at every K but 2.
        return mixture_expr(cls._coefficients(weights, params["c"]) if K == 2 else weights, i)

    def __init__(self, c: float = 1.0) -> None:
        super().__init__(c=c)

    @staticmethod
    def _coefficients(w: Any, c: Any) -> list[Any]:
        """``(f(w_1), f(w_2))`` for numpy columns or ``ctx`` numbers."""
        return [z + c * z * (1 - z) * (1 - 2 * z) for z in w]

    def pool_of_scaled(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        lam = w if w.shape[-1] != 2 else np.stack(self._coefficients([w[:, 0], w[:, 1]], self.params["c"]), axis=-1)
        return mixture(lam, np.exp(logQ))

    def scores(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.pool_of_scaled(logQ, w))

    def pool_precise(self, Q: list[list[Any]], w: list[Any], ctx: Arithmetic) -> list[Any]:
        # c as the exact decimal the user wrote, so interval and exact arithmetic see that value.
        lam = self._coefficients(w, ctx.num(Fraction(repr(float(self.params["c"]))))) if len(w) == 2 else w
        return mixture_precise(Q, lam, ctx)
