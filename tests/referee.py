"""An independent 60-digit referee for reported counterexamples of the zoo operators.

Written from FORMALIZATION.md and the zoo's own formulas, with mpmath only: nothing here imports
``mtkd``, so a bug shared by the tool's margins and this check cannot hide. :func:`margin` returns
the property's margin at the counterexample's exact point and witness (negative: violated; for a
strict statement, zero also violates).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable, Sequence

import mpmath

MP = mpmath.MPContext()
MP.dps = 60


def num(x: object) -> mpmath.mpf:
    f = Fraction(str(x))
    return MP.mpf(f.numerator) / f.denominator


def tau(p: Sequence[mpmath.mpf], T: mpmath.mpf) -> list[mpmath.mpf]:
    logs = [MP.log(v) / T for v in p]
    top = max(logs)
    e = [MP.exp(v - top) for v in logs]
    s = MP.fsum(e)
    return [v / s for v in e]


def _linear(Q: list[list[Any]], w: list[Any]) -> list[Any]:
    return [MP.fsum(w[k] * Q[k][i] for k in range(len(Q))) for i in range(len(Q[0]))]


def _normalise(v: list[Any]) -> list[Any]:
    s = MP.fsum(v)
    return [x / s for x in v]


def _geometric(Q, w):
    return _normalise([MP.exp(MP.fsum(w[k] * MP.log(Q[k][i]) for k in range(len(Q)) if w[k] != 0))
                       for i in range(len(Q[0]))])


def _reweighted(score: Callable[[list[Any]], Any]) -> Callable[[list[list[Any]], list[Any]], list[Any]]:
    def pool(Q, w):
        a = [w[k] * score(Q[k]) for k in range(len(Q))]
        s = MP.fsum(a)
        return _linear(Q, [x / s for x in a])
    return pool


def _entropy_weight(row):
    return MP.exp(MP.fsum(v * MP.log(v) for v in row if v > 0))


def _topk(Q, w):
    kept = []
    for row in Q:
        order = sorted(range(len(row)), key=lambda i: (-row[i], i))[:2]
        kept.append([row[i] if i in order else MP.mpf(0) for i in range(len(row))])
    return _normalise(_linear(kept, w))


def _max(Q, w):
    return _normalise([max(Q[k][i] for k in range(len(Q))) for i in range(len(Q[0]))])


POOLS: dict[str, Callable[[list[list[Any]], list[Any]], list[Any]]] = {
    "mean_logits": _geometric, "mean_logits_batched": _geometric, "geometric_tiny_weight": _geometric,
    "confidence_pool": _reweighted(max), "entropy_pool": _reweighted(_entropy_weight), "topk_fusion": _topk,
    "logsumexp_linear": _linear, "readme_pool": _linear, "linear_with_precise": _linear, "torch_linear": _linear,
    "weight_blind_max": _max,
}


def pool(name: str, P: Sequence[Sequence[Any]], T: Sequence[Any], w: Sequence[Any]) -> list[mpmath.mpf]:
    Q = [tau([num(v) for v in row], num(t)) for row, t in zip(P, T)]
    return POOLS[name](Q, [num(v) if not isinstance(v, mpmath.mpf) else v for v in w])


def margin(name: str, prop: str, cx: dict[str, Any]) -> tuple[mpmath.mpf, bool]:
    """``(margin, strict)`` of ``prop`` at the counterexample ``cx`` (its JSON form), at 60 digits."""
    P, T, w, wit = cx["P"], cx["T"], cx["w"], cx["witness"]
    Q = [tau([num(v) for v in row], num(t)) for row, t in zip(P, T)]
    W = [num(v) for v in w]
    q = pool(name, P, T, w)
    V, K = len(q), len(Q)
    if prop == "axiom1":
        i = wit["token"]
        return (q[i], False) if i >= 0 else (-abs(MP.fsum(q) - 1), False)
    if prop == "axiom2":
        return q[wit["token"]], True
    if prop == "axiom3":
        k, k2, i = wit["k"], wit["k2"], wit["token"]
        assert Q[k][i] > Q[k2][i] and W[k2] > 0, "hypothesis of axiom3 fails at the reported point"

        def qi(d: mpmath.mpf) -> mpmath.mpf:
            moved = [W[j] + (d if j == k else -d if j == k2 else 0) for j in range(K)]
            return pool(name, P, T, moved)[i]
        return MP.diff(qi, MP.mpf(0), direction=1), True
    if prop == "assumption-L":
        w2 = [num(v) for v in wit["w2"]]
        w2[max(range(K), key=lambda j: w2[j])] += 1 - MP.fsum(w2)
        lam, i = num(wit["lam"]), wit["token"]
        mid = pool(name, P, T, [lam * a + (1 - lam) * b for a, b in zip(W, w2)])[i]
        return -abs(mid - lam * q[i] - (1 - lam) * pool(name, P, T, w2)[i]), False
    if prop == "def-IV.1":
        i = wit.get("token", 0)
        return MP.fsum(W[k] * Q[k][i] ** 2 for k in range(K)) - q[i] ** 2, False
    if prop == "thm-IV.7":
        a = [num(v) for v in wit["log_s"]]
        z = MP.log(MP.fsum(MP.exp(v) for v in a))
        logs = [v - z for v in a]

        def kl(p: list[Any]) -> Any:
            return MP.fsum(pi * (MP.log(pi) - ls) for pi, ls in zip(p, logs) if pi > 0)
        return MP.fsum(W[k] * kl(Q[k]) for k in range(K)) - kl(q), False
    if prop == "thm-IV.9":
        y = wit["token"]
        return -MP.fsum(W[k] * MP.log(Q[k][y]) for k in range(K) if W[k] > 0) + MP.log(q[y]), False
    if prop == "prop-IV.11":
        i = wit["token"]
        top = max(Q[k][i] for k in range(K))
        return top - q[i], any(W[k] > 0 and Q[k][i] < top for k in range(K))
    if prop == "cor-IV.12":
        k, i = wit["k"], wit["token"]
        others = max((Q[j][i] for j in range(K) if j != k), default=MP.mpf(0))
        return (1 - W[k]) * others + W[k] * Q[k][i] - q[i], False
    if prop == "axiom1-hull":
        c = [num(v) for v in wit["direction"]]
        return max(MP.fsum(ci * x for ci, x in zip(c, row)) for row in Q) - MP.fsum(ci * x for ci, x in zip(c, q)), False
    raise KeyError(f"the referee has no margin for {prop}")


def violated(name: str, prop: str, cx: dict[str, Any]) -> bool:
    m, strict = margin(name, prop, cx)
    return m < 0 or (strict and m == 0)
