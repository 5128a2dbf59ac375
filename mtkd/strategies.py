"""Hypothesis strategies for testing aggregation operators in your own test suite.

Needs Hypothesis (``pip install "mtkd-verify[strategies]"``); the rest of ``mtkd`` does not.

* :func:`teachers` — a ``(K, V)`` float64 matrix whose rows lie on the open simplex (every entry
  ``> 0``) or the closed one (exact zeros allowed, never an all-zero row);
* :func:`temperatures` — ``(K,)`` temperatures, log-uniform-ish over ``[t_min, t_max]``;
* :func:`weights` — ``(K,)`` weights on the simplex (faces and vertices included);
* :func:`inputs` — ``(P, T, w)`` together, sizes drawn or fixed;
* :func:`exact_inputs` — the same as exact :class:`~fractions.Fraction` tuples whose rows sum to
  exactly one (for precise forms and exact arithmetic).

>>> from hypothesis import given, settings
>>> @settings(max_examples=20, derandomize=True)
... @given(inputs(k=3, v=4))
... def test_rows_are_distributions(x):
...     P, T, w = x
...     assert P.shape == (3, 4) and (P > 0).all() and abs(w.sum() - 1) < 1e-12
>>> test_rows_are_distributions()
"""

from __future__ import annotations

from fractions import Fraction

try:
    from hypothesis import strategies as st
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "mtkd.strategies needs Hypothesis, which is not installed. Install it with "
        "'pip install \"mtkd-verify[strategies]\"' (or 'pip install hypothesis'). The rest of mtkd "
        "works without it.") from exc

import numpy as np

__all__ = ["teachers", "temperatures", "weights", "inputs", "exact_inputs", "simplex_row", "exact_simplex_row"]


def _normalise(values: list[float]) -> np.ndarray:
    row = np.asarray(values, dtype=np.float64)
    return row / row.sum()


def simplex_row(v: int, closed: bool = False, min_entry: float = 1e-6) -> st.SearchStrategy[np.ndarray]:
    """One probability vector of length ``v``: entries ``> 0`` (open) or with exact zeros (closed).

    Entries are drawn in ``[min_entry, 1]`` before normalising, so the open simplex's entries stay
    away from round-off underflow; closed rows also draw exact zeros (never all of them).
    """
    entry = st.floats(min_entry, 1.0)
    if closed:
        entry = st.one_of(st.just(0.0), entry)
    return (st.lists(entry, min_size=v, max_size=v).filter(lambda r: sum(r) > 0).map(_normalise)
            .filter(lambda r: bool((r > 0).all()) or closed))


def teachers(k: int | None = None, v: int | None = None, closed: bool = False, max_k: int = 5,
             max_v: int = 16) -> st.SearchStrategy[np.ndarray]:
    """A ``(K, V)`` teacher matrix; ``k``/``v`` fix the sizes, else drawn from ``1..max_k``/``2..max_v``."""

    @st.composite
    def build(draw: st.DrawFn) -> np.ndarray:
        kk = k if k is not None else draw(st.integers(1, max_k))
        vv = v if v is not None else draw(st.integers(2, max_v))
        return np.stack([draw(simplex_row(vv, closed)) for _ in range(kk)])

    return build()


def temperatures(k: int, t_min: float = 1e-3, t_max: float = 1e3) -> st.SearchStrategy[np.ndarray]:
    """``(k,)`` temperatures in ``[t_min, t_max]``, spread over orders of magnitude (drawn as ``10**x``)."""
    if not 0 < t_min <= t_max:
        raise ValueError(f"temperatures need 0 < t_min <= t_max, got t_min={t_min}, t_max={t_max}")
    exponent = st.floats(float(np.log10(t_min)), float(np.log10(t_max)))
    one = st.one_of(st.just(1.0), exponent.map(lambda x: float(np.clip(10.0 ** x, t_min, t_max))))
    return st.lists(one, min_size=k, max_size=k).map(lambda t: np.asarray(t, dtype=np.float64))


def weights(k: int) -> st.SearchStrategy[np.ndarray]:
    """``(k,)`` weights on the simplex, including vertices (one weight 1) and faces (some weights 0)."""
    vertex = st.integers(0, k - 1).map(lambda j: np.eye(k)[j])
    return st.one_of(vertex, simplex_row(k, closed=True)) if k > 1 else st.just(np.ones(1))


def inputs(k: int | None = None, v: int | None = None, closed: bool = False, max_k: int = 5, max_v: int = 16,
           t_min: float = 1e-3, t_max: float = 1e3) -> st.SearchStrategy[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(P, T, w)``: teachers, temperatures and weights of one drawn (or fixed) size."""

    @st.composite
    def build(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        P = draw(teachers(k, v, closed, max_k, max_v))
        K = P.shape[0]
        return P, draw(temperatures(K, t_min, t_max)), draw(weights(K))

    return build()


def exact_simplex_row(v: int, closed: bool = False, max_numerator: int = 40) -> st.SearchStrategy[tuple[Fraction, ...]]:
    """An exact point of the ``v``-simplex with small denominators (zeros only when ``closed``)."""
    lo = 0 if closed else 1
    return (st.lists(st.integers(lo, max_numerator), min_size=v, max_size=v).filter(lambda a: sum(a) > 0)
            .map(lambda a: tuple(Fraction(x, sum(a)) for x in a)))


def exact_inputs(k: int | None = None, v: int | None = None, closed: bool = False, max_k: int = 4,
                 max_v: int = 5) -> st.SearchStrategy[tuple[tuple[tuple[Fraction, ...], ...], tuple[Fraction, ...],
                                                             tuple[Fraction, ...]]]:
    """``(P, T, w)`` as exact Fractions: rows of ``P`` and ``w`` sum to exactly one, ``T`` positive rationals."""

    @st.composite
    def build(draw: st.DrawFn) -> tuple[tuple[tuple[Fraction, ...], ...], tuple[Fraction, ...], tuple[Fraction, ...]]:
        kk = k if k is not None else draw(st.integers(1, max_k))
        vv = v if v is not None else draw(st.integers(2, max_v))
        P = tuple(draw(exact_simplex_row(vv, closed)) for _ in range(kk))
        T = tuple(Fraction(draw(st.integers(1, 12)), draw(st.integers(1, 6))) for _ in range(kk))
        return P, T, draw(exact_simplex_row(kk, closed=True))

    return build()
