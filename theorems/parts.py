"""The optional parts a :class:`~mtkd.theorems.property.Property` carries next to its margins.

A property is one module: its margins, its sympy statement, the schema of its witness (from which
shrinking derives how to remap the witness when teachers or tokens are dropped), its z3 encoding
and its symbolic proof plans all live on the property class. A part the property does not offer is
an :class:`Absent` with the reason, which the engines report instead of failing.

>>> Absent("continuity is a limit statement").reason
'continuity is a limit statement'
>>> WitnessKind.TOKEN.role(Axis.TOKEN), WitnessKind.TOKEN.role(Axis.TEACHER)
(<Role.INDEX: 'index'>, None)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Mapping, Protocol, Union

from .smt_properties import Setup, Stage


@dataclass(frozen=True)
class Absent:
    """A part a property (or operator) deliberately does not provide, and why (shown in reports)."""

    reason: str


class Axis(str, Enum):
    """The two dimensions of an input that shrinking can cut."""

    TEACHER = "teacher"
    TOKEN = "token"


class Role(str, Enum):
    """How a witness entry depends on an axis, i.e. how it is remapped when indices are dropped."""

    INDEX = "index"
    """One index on the axis (``-1`` means "not an index": ``axiom1``'s sum)."""

    VECTOR = "vector"
    """One entry per index on the axis (the list's first dimension)."""

    COLUMNS = "columns"
    """A teacher x token matrix: one column per token."""

    PERMUTATION = "permutation"
    """A permutation of the axis' indices."""


class WitnessKind(str, Enum):
    """What one witness entry holds; validation of saved files and shrinking both read it."""

    TOKEN = "token"
    """A token index ``0 <= i < V``."""

    TOKEN_OR_SUM = "token-or-sum"
    """A token index, or ``-1`` for "the sum over tokens"."""

    TEACHER = "teacher"
    """A teacher index ``0 <= k < K``."""

    PER_TOKEN = "V"
    """``V`` numbers."""

    PER_TEACHER = "K"
    """``K`` numbers."""

    MATRIX = "KxV"
    """A ``K x V`` matrix of numbers."""

    NUMBER = "number"
    """One number."""

    TOKEN_PERMUTATION = "perm-V"
    """A permutation of ``0..V-1``."""

    TEACHER_PERMUTATION = "perm-K"
    """A permutation of ``0..K-1``."""

    def role(self, axis: Axis) -> Role | None:
        """How this entry is remapped when indices on ``axis`` are dropped (``None``: unaffected)."""
        return _ROLES.get((self, axis))


_ROLES: Mapping[tuple[WitnessKind, Axis], Role] = {
    (WitnessKind.TOKEN, Axis.TOKEN): Role.INDEX,
    (WitnessKind.TOKEN_OR_SUM, Axis.TOKEN): Role.INDEX,
    (WitnessKind.TEACHER, Axis.TEACHER): Role.INDEX,
    (WitnessKind.PER_TOKEN, Axis.TOKEN): Role.VECTOR,
    (WitnessKind.PER_TEACHER, Axis.TEACHER): Role.VECTOR,
    (WitnessKind.MATRIX, Axis.TEACHER): Role.VECTOR,
    (WitnessKind.MATRIX, Axis.TOKEN): Role.COLUMNS,
    (WitnessKind.TOKEN_PERMUTATION, Axis.TOKEN): Role.PERMUTATION,
    (WitnessKind.TEACHER_PERMUTATION, Axis.TEACHER): Role.PERMUTATION,
}

WitnessField = Union[WitnessKind, tuple[str, ...]]
"""A witness entry's kind, or the tuple of strings it may take (``axiom5``'s ``part``)."""


class Relaxation(str, Enum):
    """Proof-only over-approximations of the power means tried before the exact encoding."""

    POSITIVE = "positive"
    """``q = M / sum M`` with ``M > 0`` (enough for ``axiom1``/``axiom2``)."""

    COLUMN0 = "column0"
    """Column 0 only, plus the power-mean inequality for the other columns (a z3-proved lemma)."""


@dataclass(frozen=True)
class SmtEncoding:
    """How z3 checks a property of an operator at one size (K, V, fixed weights if needed).

    ``build`` turns a :class:`~mtkd.theorems.smt_properties.Setup` into the violation queries.
    """

    build: Callable[[Setup], list[Stage]]
    reduction: str = ""
    """The symmetry reduction the encoding uses, stated in the proof scope."""
    token0: bool = False
    """The violation query mentions token 0 only (after the neutrality reduction)."""
    min_teachers: int = 1
    """Smallest K at which the statement is not vacuous or trivial."""
    own_weights: bool = False
    """The query fixes its own weights (``axiom5``: ``w = e_0``), whatever the operator's restriction."""
    needs_derivative: bool = False
    """The encoding needs the operator's weight-derivative sign (``Encoder.derivative_sign``)."""
    vertex_probe: int | None = None
    """For operators only decidable at fixed weights, the vertex ``e_k`` tried before uniform weights."""
    relaxation: Relaxation | None = None
    partial: str = ""
    """Non-empty when the encoding covers only part of the statement: what is left to search."""
    fixed_weight_note: str = ""
    """Added to the scope when the operator is only encoded at fixed weights."""
    witness: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    """Translates a model's witness into the property's own schema (the keys ``precise_margin`` reads)."""


@dataclass(frozen=True)
class SmtOperatorFree:
    """An operator-independent statement: one query per number of teachers ``K``."""

    build: Callable[[int], list[Stage]]
    scope: str
    """What the proof quantifies over, appended to the K range."""
    note: str
    """Appended to the proof message (how the statement bears on an operator)."""


SmtPart = Union[SmtEncoding, SmtOperatorFree, Absent]


class CheckedStep(Protocol):
    """What a proof step offers (a :class:`~mtkd.theorems.derivations.Derivation` is one)."""

    @property
    def title(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def conclusion(self) -> str: ...
    @property
    def checked(self) -> bool: ...


@dataclass(frozen=True)
class SymbolicProof:
    """A symbolic proof of the property for one built-in operator, assembled from checked derivations.

    ``steps`` name the operator's :class:`~mtkd.theorems.derivations.Derivation` ``prop_id``s the
    proof uses; a property may instead carry its own derivation (``derive``). The verdict is
    issued only if every step was checked by sympy.
    """

    scope: str
    steps: tuple[str, ...]
    caveat: str = ""
    derive: Callable[[], CheckedStep] | None = None
    """The property's own derivation for this operator (then ``steps`` only name it)."""


ALL_SIZES = "all K >= 1, V >= 2, open domain"
