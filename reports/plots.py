"""One figure per refutation, as inline SVG (matplotlib, optional extra ``[plots]``).

Each figure shows the failure the way the statement is phrased, around the counterexample:

* ``axiom3``: ``q(i)`` as weight moves from teacher ``k'`` to ``k`` (it should rise);
* ``prop-IV.11``: ``q`` against ``max_k Q_k`` per token (``q`` should stay below);
* ``thm-IV.7``: both sides of the bound, ``KL(q||s)`` and ``sum_k w_k KL(Q_k||s)``, for students
  on the segment from the uniform vector to the witness ``s``;
* ``axiom5``: (a) the single-teacher pool against the teacher; (b) the distance to the limit
  pool as ``T_k`` grows (or shrinks) (it should go to 0);
* ``axiom4``: ``|G(x + eps d) - G(x)|`` as ``eps -> 0`` (it should go to 0: a plateau is the jump);
* anything else: the property's margin along the segment from a neutral input to the
  counterexample (it crosses below 0).

Figures evaluate the operator in float64 (the certificate, in the table, is what is exact). The
SVG is deterministic for the same input (fixed hash salt, no date), so reports stay reproducible.
"""

from __future__ import annotations

import io
from typing import Any, Callable

import numpy as np

from mtkd.errors import OperatorFailure
from mtkd.operators import Operator
from mtkd.operators.temperature import tau
from mtkd.results import Result
from mtkd.theorems import Batch, ExactPoint, get_property

MISSING = ("Figures need matplotlib: pip install \"mtkd-verify[plots]\". The verdicts and counterexample "
           "tables below are complete without them.")


def available() -> bool:
    """Is matplotlib importable? (Checked at call time, so tests can hide it.)"""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _point(r: Result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    assert r.counterexample is not None
    cx = r.counterexample
    return ExactPoint.from_strings(cx.P, cx.T, cx.w).floats()


def _q(op: Operator, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Pools of a batch in which any of ``P`` (3-d), ``T`` or ``w`` (2-d) varies; the others broadcast."""
    n = max(P.shape[0] if P.ndim == 3 else 1, T.shape[0] if T.ndim == 2 else 1, w.shape[0] if w.ndim == 2 else 1)
    Pb = np.broadcast_to(P if P.ndim == 3 else P[None], (n, *P.shape[-2:]))
    Tb = np.broadcast_to(T if T.ndim == 2 else T[None], (n, T.shape[-1]))
    wb = np.broadcast_to(w if w.ndim == 2 else w[None], (n, w.shape[-1]))
    return op.evaluate(np.ascontiguousarray(Pb), np.ascontiguousarray(Tb), np.ascontiguousarray(wb))


def _axiom3(ax: Any, op: Operator, r: Result) -> str:
    P, T, w = _point(r)
    wit = r.counterexample.witness  # type: ignore[union-attr]
    k, k2, i = int(wit["k"]), int(wit["k2"]), int(wit["token"])
    deltas = np.linspace(-w[k], w[k2], 121)
    W = np.repeat(w[None], len(deltas), axis=0)
    W[:, k] += deltas
    W[:, k2] -= deltas
    W = np.clip(W, 0.0, 1.0)
    q = _q(op, P, T, W)[:, i]
    ax.plot(deltas, q, color="#b2182b", lw=2, label=f"q({i})")
    ax.axvline(0.0, color="grey", lw=0.8, ls=":")
    ax.plot([0.0], [_q(op, P, T, w[None])[0, i]], "o", color="black", label="counterexample (delta = 0)")
    ax.set_xlabel(f"delta: weight moved from teacher {k2} to teacher {k}")
    ax.set_ylabel(f"q({i})")
    return f"Axiom 3 expects q({i}) to increase with delta at delta = 0; here it decreases."


def _prop_iv11(ax: Any, op: Operator, r: Result) -> str:
    P, T, w = _point(r)
    i = int(r.counterexample.witness.get("token", 0))  # type: ignore[union-attr]
    Q = tau(P[None], T[None])[0]
    q = _q(op, P, T, w[None])[0]
    tokens = np.arange(P.shape[1])
    ax.bar(tokens - 0.2, Q.max(axis=0), width=0.4, color="#92c5de", label="max_k Q_k(i)")
    ax.bar(tokens + 0.2, q, width=0.4, color="#b2182b", label="q(i)")
    ax.set_xticks(tokens)
    ax.set_xlabel("token i")
    ax.set_ylabel("probability")
    return f"Prop. IV.11 expects q(i) <= max_k Q_k(i) at every token; token {i} exceeds it."


def _kl(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(a > 0, a * (np.log(a) - np.log(b)), 0.0)
    return terms.sum(axis=-1)


def _thm_iv7(ax: Any, op: Operator, r: Result) -> str:
    P, T, w = _point(r)
    wit = r.counterexample.witness  # type: ignore[union-attr]
    if "log_s" in wit:
        ls = np.array([float(v) for v in wit["log_s"]])
        s = np.exp(ls - ls.max())
    else:
        s = np.array([float(v) for v in wit["s"]])
    s = s / s.sum()
    Q = tau(P[None], T[None])[0]
    q = _q(op, P, T, w[None])[0]
    ts = np.linspace(0.0, 1.0, 101)
    uniform = np.full_like(s, 1.0 / len(s))
    # Geometric path: keeps tiny witness entries resolvable (a straight line would hide them).
    S = np.exp((1 - ts)[:, None] * np.log(uniform) + ts[:, None] * np.log(s))
    S /= S.sum(axis=1, keepdims=True)
    lhs = _kl(q[None], S)
    rhs = (w[None, :] * np.stack([_kl(Q[k][None], S) for k in range(len(w))], axis=1)).sum(axis=1)
    ax.plot(ts, lhs, color="#b2182b", lw=2, label="KL(q || s)")
    ax.plot(ts, rhs, color="#2166ac", lw=2, ls="--", label="sum_k w_k KL(Q_k || s)")
    ax.set_xlabel("student s: from uniform (0) to the witness (1)")
    ax.set_ylabel("KL divergence (nats)")
    # The two sides are often close in absolute terms: an inset shows their difference.
    inset = ax.inset_axes((0.58, 0.5, 0.38, 0.3))
    inset.plot(ts, rhs - lhs, color="black", lw=1.2)
    inset.axhline(0.0, color="grey", lw=0.6, ls=":")
    inset.set_title("bound - KL(q||s) (>= 0 holds)", fontsize=7)
    inset.tick_params(labelsize=6)
    return "Thm IV.7 expects the red curve below the blue one for every student; at the witness it is above."


def _axiom5(ax: Any, op: Operator, r: Result) -> str:
    P, T, w = _point(r)
    wit = r.counterexample.witness  # type: ignore[union-attr]
    k, part = int(wit["k"]), str(wit["part"])
    if part == "a":
        e = np.zeros_like(w)
        e[k] = 1.0
        g = _q(op, P, T, e[None])[0]
        Qk = tau(P[None], T[None])[0][k]
        tokens = np.arange(P.shape[1])
        ax.bar(tokens - 0.2, Qk, width=0.4, color="#92c5de", label=f"tau_T{k}(p_{k})")
        ax.bar(tokens + 0.2, g, width=0.4, color="#b2182b", label=f"G(P, T, e_{k})")
        ax.set_xticks(tokens)
        ax.set_xlabel("token i")
        ax.set_ylabel("probability")
        return f"Axiom 5 (a) expects the pool with all weight on teacher {k} to equal that teacher; it does not."
    from mtkd.theorems.axioms import Axiom5

    P_lim = P.copy()
    P_lim[k] = Axiom5.limit_teacher(P[k], part)
    T_lim = T.copy()
    T_lim[k] = 1.0
    target = _q(op, P_lim, T_lim, w[None])[0]
    temps = np.logspace(0, 12, 61) if part == "b-inf" else np.logspace(0, -12, 61)
    Ts = np.repeat(T[None], len(temps), axis=0)
    Ts[:, k] = temps
    dist = np.abs(_q(op, P, Ts, w) - target).max(axis=1)
    ax.loglog(temps, np.maximum(dist, 1e-300), color="#b2182b", lw=2, label="max_i |q(i) - limit pool(i)|")
    ax.set_xlabel(f"T_{k}" + (" (growing)" if part == "b-inf" else " (shrinking)"))
    ax.set_ylabel("distance to the limit pool")
    where = "uniform" if part == "b-inf" else "one-hot"
    return f"Axiom 5 (b) expects the distance to go to 0 as teacher {k} becomes {where}; it levels off."


def _axiom4(ax: Any, op: Operator, r: Result) -> str:
    P, T, w = _point(r)
    wit = r.counterexample.witness  # type: ignore[union-attr]
    rP = np.array([[float(v) for v in row] for row in wit["P_rate"]])
    rT = np.array([float(v) for v in wit["T_rate"]])
    rw = np.array([float(v) for v in wit["w_rate"]])
    eps = np.logspace(-1, -14, 53)
    Ps = P[None] * (1 + eps[:, None, None] * rP[None])
    Ps /= Ps.sum(axis=-1, keepdims=True)
    Ws = w[None] * (1 + eps[:, None] * rw[None])
    Ws /= Ws.sum(axis=-1, keepdims=True)
    change = np.abs(_q(op, Ps, T[None] * (1 + eps[:, None] * rT[None]), Ws) - _q(op, P, T, w[None])[0]).max(axis=1)
    ax.loglog(eps, np.maximum(change, 1e-300), color="#b2182b", lw=2, label="max_i |G(x + eps d) - G(x)|")
    ax.invert_xaxis()
    ax.set_xlabel("eps (step along the direction d)")
    ax.set_ylabel("change of q")
    return "Axiom 4 expects the change to vanish as eps -> 0; a plateau is a jump."


def _generic(ax: Any, op: Operator, r: Result) -> str:
    P, T, w = _point(r)
    prop = get_property(r.property)
    ts = np.linspace(0.0, 1.0, 51)
    U = np.full_like(P, 1.0 / P.shape[1])
    Ps = (1 - ts)[:, None, None] * U[None] + ts[:, None, None] * P[None]
    Ts = np.exp(ts[:, None] * np.log(T)[None])
    Ws = (1 - ts)[:, None] * np.full_like(w, 1.0 / len(w))[None] + ts[:, None] * w[None]
    margins = prop.margins(op, Batch(Ps, Ts, Ws), np.random.default_rng(0)).values
    ax.plot(ts, margins, color="#b2182b", lw=2, label=f"{prop.id} margin")
    ax.axhline(0.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("0: uniform teachers, T = 1, equal weights; 1: the counterexample")
    ax.set_ylabel("margin (>= 0 holds)")
    return f"The margin of {prop.id} is >= 0 where the statement holds; it ends below 0 at the counterexample."


FIGURES: dict[str, Callable[[Any, Operator, Result], str]] = {
    "axiom3": _axiom3,
    "prop-IV.11": _prop_iv11,
    "thm-IV.7": _thm_iv7,
    "axiom5": _axiom5,
    "axiom4": _axiom4,
}


def figure(op: Operator, r: Result) -> tuple[str, str] | None:
    """``(svg, caption)`` for a refutation with a counterexample; None without matplotlib.

    A figure the operator cannot be evaluated for (it raised on a nearby input) falls back to
    the generic margin plot, and if that fails too, to a caption saying so.
    """
    if r.counterexample is None or not available():
        return None
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    draw = FIGURES.get(r.property, _generic)
    with rc_context({"svg.hashsalt": "mtkd", "font.size": 9}), np.errstate(all="ignore"):
        for attempt in (draw, _generic):
            fig = Figure(figsize=(6.0, 3.2))
            ax = fig.add_subplot()
            try:
                caption = attempt(ax, op, r)
            except (OperatorFailure, ValueError, KeyError, IndexError) as exc:
                caption = f"(no figure: evaluating the operator near the counterexample failed: {exc})"
                continue
            ax.grid(True, lw=0.3, alpha=0.6)
            ax.legend(loc="best", fontsize=8)
            ax.set_title(f"{op.spec}: {r.property}", fontsize=10)
            fig.tight_layout()
            buf = io.StringIO()
            fig.savefig(buf, format="svg", metadata={"Date": None})
            svg = buf.getvalue()
            return svg[svg.index("<svg"):], caption
    return "", caption
