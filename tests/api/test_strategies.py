"""``mtkd.strategies``: what each strategy draws, and the import error without Hypothesis."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import numpy as np
from hypothesis import given, settings

from mtkd import strategies

SETTINGS = settings(max_examples=25, derandomize=True, deadline=None)


@SETTINGS
@given(strategies.inputs(max_k=4, max_v=6))
def test_inputs_are_admissible_on_the_open_domain(x: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    P, T, w = x
    K, V = P.shape
    assert 1 <= K <= 4 and 2 <= V <= 6 and T.shape == w.shape == (K,)
    assert (P > 0).all() and np.allclose(P.sum(axis=1), 1, atol=1e-12)
    assert ((T >= 1e-3) & (T <= 1e3)).all()
    assert (w >= 0).all() and abs(w.sum() - 1) < 1e-12


@SETTINGS
@given(strategies.teachers(k=2, v=3, closed=True))
def test_closed_teachers_have_rows_on_the_simplex(P: np.ndarray) -> None:
    assert P.shape == (2, 3) and (P >= 0).all() and (P.sum(axis=1) > 0.999).all()


def test_closed_teachers_do_draw_zeros() -> None:
    seen: list[bool] = []

    @settings(max_examples=40, derandomize=True, deadline=None)
    @given(strategies.teachers(k=2, v=4, closed=True))
    def collect(P: np.ndarray) -> None:
        seen.append(bool((P == 0).any()))

    collect()
    assert any(seen)


@SETTINGS
@given(strategies.exact_inputs(k=3, v=4))
def test_exact_inputs_sum_to_exactly_one(x: tuple) -> None:
    P, T, w = x
    assert all(sum(row) == 1 and all(isinstance(v, Fraction) and v > 0 for v in row) for row in P)
    assert sum(w) == 1 and all(t > 0 for t in T)


def test_mtkd_imports_without_hypothesis_and_strategies_says_how_to_install() -> None:
    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "import mtkd\n"
            "try:\n    import mtkd.strategies\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert 'pip install "mtkd-verify[strategies]"' in out.stdout
