"""The engines that decide a property, behind one small interface (one backend per engine).

``symbolic`` and ``smt`` can *prove* within a scope: built-ins by their formulas, other operators
through the formula traced from their precise form (:mod:`mtkd.theorems.traced`);
``search`` works on any operator but can only refute. :func:`mtkd.verify.verify` asks them in
that order and keeps the most informative answer.
"""

from __future__ import annotations

from enum import Enum
from typing import Callable, Protocol

from mtkd.counterexamples import SearchConfig, search_property
from mtkd.operators import Operator
from mtkd.results import Result, Verdict
from mtkd.theorems import Absent, Property
from mtkd.theorems.smt import smt_check
from mtkd.theorems.smt_runner import RLIMIT
from mtkd.theorems.symbolic_verdicts import symbolic_check
from mtkd.theorems.traced import analysis_of, traced_smt_check, traced_symbolic_check


class Engine(str, Enum):
    """Which engines ``mtkd verify --engine`` runs."""

    ALL = "all"
    """Symbolic and SMT first, then search for whatever is still open (and as a soundness check)."""

    SYMBOLIC = "symbolic"
    """sympy derivations; proofs for all K, V where every step was checked."""

    SMT = "smt"
    """z3 on polynomial encodings, bounded K and V."""

    SEARCH = "search"
    """Vectorised random search with certification; refutes, never proves."""


class Backend(Protocol):
    def __call__(self, op: Operator, prop: Property) -> Result | None: ...


def symbolic_backend(op: Operator, prop: Property, max_k: int = 4, max_v: int = 4) -> Result | None:
    """Built-ins by name; other operators through the formula traced from their precise form
    (``max_k``/``max_v``: the traced sizes, see :mod:`mtkd.theorems.traced`)."""
    if op.algebraic is None:
        analysis = analysis_of(op)
        return None if analysis is None else traced_symbolic_check(analysis, prop.id, max_k=max_k, max_v=max_v)
    name, params = op.algebraic
    return symbolic_check(name, params, prop.id)


def smt_backend(max_k: int, max_v: int, time_limit: float, rlimit: int = RLIMIT) -> Backend:
    """z3 on built-ins by name and on other operators' traced formulas; ``rlimit`` (z3 resource
    units) decides each query, ``time_limit`` (seconds) is its safety net (:mod:`mtkd.theorems.smt_runner`)."""
    def run(op: Operator, prop: Property) -> Result | None:
        analysis = analysis_of(op) if op.algebraic is None else None
        if op.algebraic is None and analysis is None:
            return None
        # Say why z3 is silent rather than staying silent: the report shows the reason.
        if isinstance(prop.smt, Absent):
            return Result(prop.id, Verdict.UNKNOWN, method="smt (z3)", message=prop.smt.reason)
        if analysis is not None:
            return traced_smt_check(analysis, prop.id, max_k=max_k, max_v=max_v, time_limit=time_limit,
                                    rlimit=rlimit)
        assert op.algebraic is not None  # the analysis is only made for operators without a known formula
        name, params = op.algebraic
        return smt_check(name, params, prop.id, max_k=max_k, max_v=max_v, time_limit=time_limit, rlimit=rlimit)

    return run


def search_backend(config: SearchConfig, progress: Callable[[int, float], None] | None = None) -> Backend:
    def run(op: Operator, prop: Property) -> Result:
        return search_property(op, prop, config, progress)

    return run
