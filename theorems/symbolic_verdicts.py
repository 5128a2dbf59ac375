"""``proved`` verdicts from the symbolic layer: only where every step of the argument was checked.

A verdict is issued only when every :class:`~mtkd.theorems.derivations.Derivation` it rests on has
``checked=True``; cited classical theorems (Jensen's inequality, weighted AM-GM) are applied only
to sympy-verified convexity facts and are named in the message. Refutations are never issued
here: they need a concrete certified counterexample, which is the certifier's job.

>>> symbolic_check("linear", {}, "thm-IV.9").verdict.value
'proved'
>>> symbolic_check("max", {}, "axiom3") is None
True
"""

from __future__ import annotations

from functools import lru_cache
from typing import Mapping

from mtkd.results import Result, Verdict
from mtkd.theorems import operator_exprs as ox
from mtkd.theorems.derivations import Derivation, derivations
from mtkd.theorems.statements import PROPERTY_IDS

_ALL_SIZES = "all K >= 1, V >= 2, open domain"

# (canonical operator name, property id) -> (scope, derivation prop_ids the proof uses, caveat).
_PROOFS: Mapping[tuple[str, str], tuple[str, tuple[str, ...], str]] = {
    ("linear", "axiom3"): (_ALL_SIZES, ("axiom3",), ""),
    ("linear", "assumption-L"): (_ALL_SIZES, ("assumption-L",), ""),
    ("linear", "assumption-L-separable"): (_ALL_SIZES, ("assumption-L",), " The separable form holds with f_k = identity."),
    ("linear", "thm-IV.2"): (
        "all K >= 1 (weights on the simplex, s >= 0)", ("thm-IV.2", "assumption-L"),
        " thm-IV.2 is operator-independent; it applies to this operator because assumption-L "
        "(separable, f_k = identity) was proved for it."),
    ("linear", "thm-IV.7"): (_ALL_SIZES + ", students on the open simplex", ("thm-IV.7",), ""),
    ("linear", "thm-IV.9"): (_ALL_SIZES, ("thm-IV.9",), ""),
    ("geometric", "thm-IV.9"): (_ALL_SIZES, ("thm-IV.9",), ""),
}


@lru_cache(maxsize=None)
def _check(op: ox.CanonicalOp, requested: str, prop_id: str) -> Result | None:
    plan = _PROOFS.get((op[0], prop_id))
    if plan is None:
        return None
    scope, steps, caveat = plan
    by_prop: dict[str, Derivation] = {d.prop_id: d for d in derivations(op[0], dict(op[1]))}
    used = [by_prop[step] for step in steps]
    if not all(d.checked for d in used):
        return None
    alias = "" if requested == op[0] else f" ({requested} with these parameters is the {op[0]} operator.)"
    chain = " | ".join(f"{d.title}: {d.text}" for d in used)
    return Result(prop_id, Verdict.PROVED, method="symbolic (sympy)", scope=scope,
                  message=f"{used[0].conclusion}{caveat}{alias} Steps: {chain}")


def symbolic_check(op_name: str, params: Mapping[str, float], prop_id: str) -> Result | None:
    """A ``proved`` :class:`~mtkd.results.Result` for a built-in operator, or ``None``.

    ``None`` means "nothing proved symbolically", not "false". Unknown property ids raise
    ``KeyError`` listing the valid ones; unknown operators raise ``KeyError`` as well.
    """
    if prop_id not in PROPERTY_IDS:
        raise KeyError(f"unknown property id {prop_id!r}; valid ids: {', '.join(PROPERTY_IDS)}")
    return _check(ox.canonical_operator(op_name, params), op_name, prop_id)
