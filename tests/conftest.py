"""Shared fixtures: independent mpmath references and a user-operator file written to tmp_path.

The references here are deliberately written from docs/formalization.md's formulas, without importing
anything from ``mtkd``: a bug shared by the product and its test would otherwise go unnoticed.
"""

from __future__ import annotations

import compileall
import sys
import textwrap
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace
from typing import Sequence

import mpmath
import pytest

TOOL_FOLDERS = ("mtkd", "operators", "theorems", "counterexamples", "reports")
"""The package's source folders (pyproject's package-dir), compiled once per session below."""


def pytest_configure(config: pytest.Config) -> None:
    """Bytecode for the tool's own modules, once, where ``PYTHONDONTWRITEBYTECODE`` keeps Python from caching it.

    The suite starts hundreds of interpreters (``mtkd`` runs, sandbox workers and their restarts, process
    pools), and each imports the tool. Installed dependencies come with their bytecode, but an editable
    install's sources get theirs only on import, which the variable forbids: every interpreter would
    compile the tool's ~100 modules again (0.13 of its 0.74 CPU-s to import ``mtkd.cli``). This writes
    the ``__pycache__`` folders (git-ignored) a first import would have written; the controller only,
    not each xdist worker. Stale files are never used (each records its source's size and mtime).
    """
    if sys.dont_write_bytecode and not hasattr(config, "workerinput"):
        root = Path(__file__).resolve().parent.parent
        for folder in TOOL_FOLDERS:
            compileall.compile_dir(root / folder, quiet=1)


MP = mpmath.MPContext()
MP.dps = 50


def _mp(x: object) -> mpmath.mpf:
    """An exact mpf for floats, ints, Fractions and decimal/``p/q`` strings."""
    if isinstance(x, (str, Fraction)):
        f = Fraction(x)
        return MP.mpf(f.numerator) / f.denominator
    return MP.mpf(x)


def mp_tau(p: Sequence[object], T: object) -> list[mpmath.mpf]:
    """``tau_T(p)(i) = p(i)^(1/T) / sum_j p(j)^(1/T)`` at 50 digits, zeros kept zero."""
    p = [_mp(v) for v in p]
    inv = 1 / _mp(T)
    logs = [MP.log(v) * inv for v in p if v != 0]
    top = max(logs)
    powered = [MP.exp(MP.log(v) * inv - top) if v != 0 else MP.mpf(0) for v in p]
    total = MP.fsum(powered)
    return [v / total for v in powered]


def mp_log_tau(p: Sequence[object], T: object) -> list[mpmath.mpf]:
    """``log tau_T(p)`` at 50 digits (``-inf`` at zeros): finite even where tau underflows."""
    p = [_mp(v) for v in p]
    inv = 1 / _mp(T)
    logs = [MP.log(v) * inv if v != 0 else None for v in p]
    finite = [v for v in logs if v is not None]
    top = max(finite)
    lse = top + MP.log(MP.fsum(MP.exp(v - top) for v in finite))
    return [v - lse if v is not None else MP.ninf for v in logs]


def mp_pool(name: str, params: dict[str, float], P: Sequence[Sequence[object]], T: Sequence[object],
            w: Sequence[object]) -> list[mpmath.mpf]:
    """The documented formula of each built-in, in 50-digit mpmath."""
    Q = [mp_tau(row, t) for row, t in zip(P, T)]
    w = [_mp(v) for v in w]
    V = len(Q[0])
    active = [k for k in range(len(Q)) if w[k] != 0]
    if name == "linear":
        raw = [MP.fsum(w[k] * Q[k][i] for k in range(len(Q))) for i in range(V)]
    elif name in ("geometric", "entropic"):
        scale = 1 / (1 + _mp(params.get("beta", 0.0))) if name == "entropic" else MP.mpf(1)
        raw = []
        for i in range(V):
            if any(Q[k][i] == 0 for k in active):
                raw.append(MP.mpf(0))
            else:
                raw.append(MP.exp(scale * MP.fsum(w[k] * MP.log(Q[k][i]) for k in active)))
    elif name == "power":
        a = _mp(params["alpha"])
        raw = []
        for i in range(V):
            vals = [(w[k], Q[k][i]) for k in active]
            if a < 0 and any(v == 0 for _, v in vals):
                raw.append(MP.mpf(0))
                continue
            s = MP.fsum(wk * v ** a for wk, v in vals if v != 0)
            raw.append(s ** (1 / a) if s != 0 else MP.mpf(0))
    elif name == "max":
        raw = [max(Q[k][i] for k in range(len(Q))) for i in range(V)]
    else:  # pragma: no cover - a typo in a test
        raise KeyError(name)
    total = MP.fsum(raw)
    return [v / total for v in raw]


@pytest.fixture(scope="session")
def ref() -> SimpleNamespace:
    """Independent 50-digit references: ``ref.tau``, ``ref.log_tau``, ``ref.pool``, ``ref.mp``."""
    return SimpleNamespace(tau=mp_tau, log_tau=mp_log_tau, pool=mp_pool, mp=_mp, ctx=MP)


USER_OPERATORS = '''
"""Operators a user might write, good and bad, for the loader and CLI tests."""
import time

import numpy as np


def _lin(P, T, w):
    z = np.log(P) / T[:, None]
    Q = np.exp(z - z.max(axis=1, keepdims=True))
    Q /= Q.sum(axis=1, keepdims=True)
    return w @ Q


def good(P, T, w):
    """A plain linear pool, float64 only."""
    return _lin(P, T, w)


def raises(P, T, w):
    raise RuntimeError("boom from user code")


def wrong_shape(P, T, w):
    return _lin(P, T, w)[:-1]


def returns_nan(P, T, w):
    q = _lin(P, T, w)
    q[0] = np.nan
    return q


def hangs(P, T, w):
    time.sleep(30)
    return _lin(P, T, w)


def two_args(P, T):
    return P[0]


class NotAnInstance:
    def __call__(self, P, T, w):
        return _lin(P, T, w)


NOT_CALLABLE = 42


class _GeometricWithPrecise:
    """Geometric pool in float64 (batched) whose precise form misbehaves in a subclass."""

    def __call__(self, P, T, w):
        return self.batched(P[None], T[None], w[None])[0]

    def batched(self, P, T, w):
        z = np.log(P) / T[..., None]
        logQ = z - z.max(axis=-1, keepdims=True)
        logQ -= np.log(np.exp(logQ).sum(axis=-1, keepdims=True))
        s = np.einsum("nk,nkv->nv", w, logQ)
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)


class _PreciseRaises(_GeometricWithPrecise):
    def precise(self, P, T, w, ctx):
        raise RuntimeError("precise boom")


class _PreciseHangs(_GeometricWithPrecise):
    def precise(self, P, T, w, ctx):
        time.sleep(30)


precise_raises = _PreciseRaises()
precise_hangs = _PreciseHangs()
'''


@pytest.fixture()
def user_ops(tmp_path: Path) -> Path:
    """A file ``user_ops.py`` in ``tmp_path`` with the operators above (also importable by name)."""
    path = tmp_path / "user_ops.py"
    path.write_text(textwrap.dedent(USER_OPERATORS))
    (tmp_path / "broken_ops.py").write_text("import numpy as np\nraise ImportError('broken on purpose')\n")
    return path
