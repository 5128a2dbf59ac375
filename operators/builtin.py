"""Shared machinery of the built-in operators.

A built-in operator is one module holding one :class:`BuiltinOperator` subclass that owns its
formula in every form: float (``__call__``), batched (``batched``/``scores``), precise
(``precise``/``pool_precise``), sympy (``score_expr``, ``shape``, ``log_rate``) and z3
(``smt_encoder``). The symbolic and SMT parts are optional: an operator without them is checked
by search only (its ``shape`` is ``None``). Registration: :mod:`mtkd.operators.registry`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Mapping

import numpy as np
import sympy as sp

from .formula import Shape
from .precision import Arithmetic
from .smt_encoding import Encoder
from .temperature import log_tau, row_sum, softmax, tau_precise


class BuiltinOperator:
    """Base of the built-ins. Subclasses give ``scores`` (log of the unnormalised pool)."""

    name: ClassVar[str]
    formula: ClassVar[str]
    source: ClassVar[str]
    param_doc: ClassVar[Mapping[str, str]] = {}
    defaults: ClassVar[Mapping[str, float]] = {}
    """Default parameter values (the symbolic layer reads them when a parameter is not given)."""
    shape: ClassVar[Shape | None] = None
    """How ``q`` depends on ``w`` (which derivations apply); ``None``: no symbolic formula."""
    derivation_extras: ClassVar[tuple[str, ...]] = ()
    """Names of operator-specific derivations shown in the report (see :mod:`mtkd.theorems.derivations`)."""
    same_as: ClassVar[Mapping[tuple[str, int], str]] = {}
    """``{(parameter, value): built-in}``: where this operator *is* another one, whose proofs then apply."""

    @classmethod
    def canonical(cls, exact: Mapping[str, sp.Rational]) -> tuple[str, Mapping[str, sp.Rational]]:
        """The operator these exact parameters make this one (``power`` at ``alpha = 1`` is ``linear``).

        Raises ``ValueError`` for parameters outside the operator's range.
        """
        for (param, value), other in cls.same_as.items():
            if exact[param] == value:
                return other, {}
        return cls.name, exact

    @classmethod
    def score_expr(cls, params: Mapping[str, sp.Rational], K: int, i: int) -> sp.Expr:
        """The unnormalised score ``m(i)`` (``q(i) = m(i) / sum_j m(j)``) in ``formula.Q``/``formula.w``."""
        raise NotImplementedError(f"{cls.name} has no sympy formula (its shape is None)")

    token_local: ClassVar[bool] = False
    """True when :meth:`precise` computes token ``i`` of the pool from token ``i`` of each row only,
    apart from row sums taken with ``row_sum`` (temperature scaling, normalisation). Such a form
    runs unchanged on whole rows as single vectorised numbers: the cheap rigorous filter of
    certification (:mod:`~mtkd.operators.precision_float`). A pool that compares or sums tokens
    itself (``confidence``'s ``max_i Q_k(i)``) must leave it False."""

    self_normalised: ClassVar[bool] = False
    """True when the scores already sum to one on the simplex (``linear``): no normalisation."""

    @classmethod
    def log_rate(cls, params: Mapping[str, sp.Rational]) -> sp.Expr:
        """``d log m(j) / d delta`` at 0 (weight moved from ``k'`` to ``k``), general ``K``; NORMALISED shape only."""
        raise NotImplementedError(f"{cls.name} has no log-rate formula (its shape is {cls.shape})")

    @classmethod
    def smt_encoder(cls, params: Mapping[str, Any], max_k: int) -> Encoder | None:
        """The z3 encoding at these parameters, or ``None`` when it is not algebraic there."""
        return None

    def __init__(self, **params: float) -> None:
        self.params: dict[str, float] = dict(params)

    @property
    def zero_forcing(self) -> bool:
        """Does one positive-weight teacher's zero force the pooled token to zero (closed domain)?"""
        return False

    @property
    def undefined_note(self) -> str:
        """Where the pool is undefined, in words (the suite appends it to a NaN ``error``); "" if nowhere."""
        return ZERO_FORCING_UNDEFINED if self.zero_forcing else ""

    @property
    def spec(self) -> str:
        if not self.params:
            return self.name
        return self.name + ":" + ",".join(f"{k}={v:g}" for k, v in self.params.items())

    def __call__(self, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        return self.batched(np.asarray(P, float)[None], np.asarray(T, float)[None], np.asarray(w, float)[None])[0]

    def batched(self, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
        return self.pool_of_scaled(log_tau(P, T), w)

    def pool_of_scaled(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        """``q`` from the temperature-scaled teachers ``log Q = log tau_T(P)``, ``(N, K, V)``.

        :meth:`batched` is this after one temperature scaling, so a margin that needs the pool at
        several weights, or with one teacher's temperature changed, scales each row once
        (``Operator.evaluate_scaled``). An operator that treats temperature its own way
        overrides :meth:`batched` instead, and then this is not used.
        """
        return softmax(self.scores(logQ, w))

    @property
    def scales_then_pools(self) -> bool:
        """Is :meth:`batched` exactly :meth:`pool_of_scaled` after ``log_tau``?"""
        return type(self).batched is BuiltinOperator.batched

    def scores(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Log of the unnormalised pool, ``(N, V)``, from ``log Q`` ``(N, K, V)`` and ``w`` ``(N, K)``.

        An operator is either a pool of the temperature-scaled teachers (it overrides this and
        :meth:`pool_precise`) or treats temperature its own way (it overrides :meth:`batched` and
        :meth:`precise`, like ``logit-mean-post-t``).
        """
        raise NotImplementedError(f"{self.name} overrides batched() instead of scores()")

    def score_gradient(self, logQ: np.ndarray, w: np.ndarray, s: np.ndarray) -> np.ndarray | None:
        """``d scores(i) / d w_k``, ``(N, K, V)``, given ``s = scores(logQ, w)``; ``None`` if not derived."""
        return None

    def weight_gradient(self, logQ: np.ndarray, w: np.ndarray) -> np.ndarray | None:
        """``d q(i) / d w_k`` for every teacher at once, ``(N, K, V)``, analytically (float64).

        ``w`` is treated as free coordinates; only differences ``grad_k - grad_k2`` (moves along
        the simplex) are meaningful. One pass over ``log Q`` instead of ``1 + 2K(K-1)`` operator
        calls by finite differences. Entries are non-finite where the derivative is (a zero of a
        teacher whose weight moves); callers fall back to differences there, and everywhere when
        the pool gives no :meth:`score_gradient` (``None``).

        >>> from mtkd.operators.temperature import log_tau
        >>> from mtkd.operators.geometric import GeometricPool
        >>> P, T, w = np.array([[[0.2, 0.75, 0.05], [0.1, 0.15, 0.75]]]), np.ones((1, 2)), np.array([[0.9, 0.1]])
        >>> g = GeometricPool().weight_gradient(log_tau(P, T), w)
        >>> round(float(g[0, 0, 0] - g[0, 1, 0]), 10)  # README's flagship: dq(0)/d delta < 0
        -0.0851793683
        """
        try:
            s = self.scores(logQ, w)
        except NotImplementedError:
            return None  # temperature handled its own way (overrides batched()): callers use differences
        q = softmax(s)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            ds = self.score_gradient(logQ, w, s)
            if ds is None:
                return None
            return q[..., None, :] * (ds - np.einsum("nkv,nv->nk", ds, q)[..., None])

    def precise(self, P: list[list[Any]], T: list[Any], w: list[Any], ctx: Arithmetic) -> list[Any]:
        Q = [tau_precise(row, t, ctx) for row, t in zip(P, T)]
        return normalised(self.pool_precise(Q, w, ctx), ctx)

    def pool_precise(self, Q: list[list[Any]], w: list[Any], ctx: Arithmetic) -> list[Any]:
        """The unnormalised pool in ``ctx`` arithmetic (see :meth:`scores` for the alternative)."""
        raise NotImplementedError(f"{self.name} overrides precise() instead of pool_precise()")


ZERO_FORCING_UNDEFINED = (
    "The pool is undefined at such an input, not mis-computed: a token that any positive-weight "
    "teacher rules out (Q_k(i) = 0) gets pooled mass 0 here, and when the positive-weight teachers "
    "share no token with positive probability every token gets 0, so q = 0/0. This happens only "
    "on the closed domain (teachers with exact zeros).")


def normalised(pooled: list[Any], ctx: Arithmetic) -> list[Any]:
    """An unnormalised pool of ``ctx`` numbers divided by its sum (the precise counterpart of ``softmax``)."""
    total = row_sum(pooled, ctx)
    return [x / total for x in pooled]


def teacher_logits(P: np.ndarray) -> np.ndarray:
    """The teachers' logits as distillation code sees them, ``log P`` (``-inf`` at a zero, closed domain)."""
    with np.errstate(divide="ignore"):
        return np.log(P)


def weighted_log_sum(logQ: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``sum_k w_k log Q_k(i)`` with ``0 * log 0 = 0`` (a zero-weight teacher has no say)."""
    with np.errstate(invalid="ignore"):
        terms = np.where(w[..., None] > 0, w[..., None] * logQ, 0.0)
    return terms.sum(axis=-2)


def log_weight_gradient(logQ: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """``d/dw_k`` of ``scale * sum_k w_k log Q_k(i)``: ``scale * log Q_k(i)``."""
    return logQ * scale


def geometric_precise(Q: list[list[Any]], w: list[Any], ctx: Arithmetic, scale: Any = 1) -> list[Any]:
    """``prod_k Q_k(i)^(w_k * scale)`` in ``ctx``; a zero with positive weight gives zero."""
    if getattr(ctx, "vectorised", False):
        # Whole rows at once: log 0 = -inf (the float64 filter keeps exact zeros that way), and a
        # positive weight times -inf stays -inf, so a zero still gives zero without a branch per token.
        s = sum((wk * ctx.log(row[0]) for row, wk in zip(Q, w) if not ctx.is_zero(wk)), ctx.num(0))
        return [ctx.exp(s * scale)]
    out = []
    for i in range(len(Q[0])):
        if any(ctx.is_zero(row[i]) and not ctx.is_zero(wk) for row, wk in zip(Q, w)):
            out.append(Q[0][i] * 0)
            continue
        s = sum((wk * ctx.log(row[i]) for row, wk in zip(Q, w) if not ctx.is_zero(wk)), ctx.num(0))
        out.append(ctx.exp(s * scale))
    return out
