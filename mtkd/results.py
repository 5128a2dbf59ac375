"""Verdicts, counterexamples and per-property results: the immutable values every engine returns.

The vocabulary is fixed by ``docs/formalization.md``; scripts parse the JSON form, so field names
are part of the public contract (see :func:`Result.to_json`).

>>> r = Result("axiom1", Verdict.NOT_REFUTED, method="search", scope="K<=5, V<=64",
...            message="4096 inputs")
>>> r.to_json()["verdict"]
'not-refuted'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Mapping, Sequence


class Verdict(str, Enum):
    """What is known about one property for one operator."""

    PROVED = "proved"
    """Established for every input in the stated scope (SMT unsat or a sympy-checked argument)."""

    REFUTED = "refuted"
    """A counterexample exists; ``certified`` says whether its sign was established rigorously."""

    NOT_REFUTED = "not-refuted"
    """The search budget was spent without a counterexample; the message says how much."""

    UNKNOWN = "unknown"
    """A solver gave up, or the property cannot be checked for this operator."""

    ERROR = "error"
    """The operator raised, hung, or returned a wrong shape, NaN or infinity."""

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Counterexample:
    """A concrete input at which a property fails.

    Numbers are stored as strings (decimal or exact ``p/q`` rationals) so that a file round-trips
    without loss. ``witness`` holds the property's own quantified variables (token ``i``, teacher
    pair ``k``/``k2``, student ``s``...), ``margin`` the signed violation (``< 0``).
    """

    P: tuple[Sequence[str], ...]
    """Rows of strings (a row rounded from float64 may be written only when first read: ``RowStrings``)."""
    T: tuple[str, ...]
    w: tuple[str, ...]
    witness: Mapping[str, Any] = field(default_factory=dict)
    margin: str = ""
    precision: str = "float64"
    certified: bool = False
    certificate: str = ""
    explanation: str = ""

    @property
    def K(self) -> int:
        return len(self.P)

    @property
    def V(self) -> int:
        return len(self.P[0]) if self.P else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "P": [list(row) for row in self.P],
            "T": list(self.T),
            "w": list(self.w),
            "witness": dict(self.witness),
            "margin": self.margin,
            "precision": self.precision,
            "certified": self.certified,
            "certificate": self.certificate,
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class ProofScope:
    """What a ``proved`` covers: whether it settles the property in its scope, and at which sizes.

    >>> ProofScope(complete=True, sizes=((2, 3),)).covers(2, 3), ProofScope(complete=True).covers(9, 9)
    (True, True)
    """

    complete: bool
    """False when the proof leaves part of the property open (``gaps`` says which)."""
    gaps: tuple[str, ...] = ()
    sizes: tuple[tuple[int, int | None], ...] | None = None
    """The ``(K, V)`` sizes proved (``V`` None: every V); ``None`` when the proof covers all sizes."""

    def covers(self, K: int, V: int) -> bool:
        """Does the proof cover inputs with ``K`` teachers and ``V`` tokens?"""
        return self.sizes is None or any(k == K and v in (None, V) for k, v in self.sizes)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"complete": self.complete, "partial": list(self.gaps)}
        if self.sizes is not None:
            out["proved_sizes"] = [[k, v] for k, v in self.sizes]
        return out


@dataclass(frozen=True)
class Result:
    """The verdict on one property for one operator, with its evidence and scope."""

    property: str
    verdict: Verdict
    certified: bool = False
    method: str = ""
    scope: str = ""
    counterexample: Counterexample | None = None
    message: str = ""
    seconds: float = 0.0
    extra: Mapping[str, Any] = field(default_factory=dict)
    proof: ProofScope | None = None
    """For a ``proved`` (or a partial proof behind another verdict): what the proof covers."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "property": self.property,
            "verdict": self.verdict.value,
            "certified": self.certified,
            "method": self.method,
            "scope": self.scope,
            "counterexample": None if self.counterexample is None else self.counterexample.to_json(),
            "message": self.message,
            "seconds": round(self.seconds, 3),
        }
        extra = {**self.extra, **(self.proof.to_json() if self.proof is not None else {})}
        if extra:
            out["extra"] = extra
        return out
