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

from mtkd.errors import UnknownPropertyError
from mtkd.results import ProofScope, Result, Verdict
from mtkd.theorems import operator_exprs as ox
from mtkd.theorems.derivations import Derivation, derivations

# Imported here, not where first needed: importing compiles the module, and CPython 3.11 can fail a
# compile with "SystemError: AST constructor recursion depth mismatch" when another thread compiles
# at the same moment (cpython#106905); report derivations run beside a dask client's threads.
# (derivations.py imports it lazily because of the cycle; by then it is already loaded from here.)
from mtkd.theorems.proofs_general import general_check

from .catalogue import get_property
from .parts import CheckedStep


@lru_cache(maxsize=None)
def _check(op: ox.CanonicalOp, requested: str, prop_id: str) -> Result | None:
    plan = get_property(prop_id).symbolic.get(op[0])
    if plan is None:
        return general_check(op, requested, prop_id)
    if plan.derive is not None:
        used: list[CheckedStep] = [plan.derive()]
    else:
        by_prop: dict[str, Derivation] = {d.prop_id: d for d in derivations(op[0], dict(op[1]))}
        used = [by_prop[step] for step in plan.steps]
    if not all(d.checked for d in used):
        return None
    alias = "" if requested == op[0] else f" ({requested} with these parameters is the {op[0]} operator.)"
    chain = " | ".join(f"{d.title}: {d.text}" for d in used)
    return Result(prop_id, Verdict.PROVED, method="symbolic (sympy)", scope=plan.scope,
                  message=f"{used[0].conclusion}{plan.caveat}{alias} Steps: {chain}", proof=ProofScope(complete=True),
                  extra={"scope_mark": "∀"})


def symbolic_check(op_name: str, params: Mapping[str, float], prop_id: str) -> Result | None:
    """A ``proved`` :class:`~mtkd.results.Result` for a built-in operator, or ``None``.

    ``None`` means "nothing proved symbolically", not "false". The proof plans live on the
    properties (``Property.symbolic``). Unknown property ids raise ``KeyError`` listing the valid
    ones; unknown operators raise ``KeyError`` as well.
    """
    try:
        get_property(prop_id)
    except UnknownPropertyError as exc:
        raise KeyError(str(exc)) from None
    return _check(ox.canonical_operator(op_name, params), op_name, prop_id)
