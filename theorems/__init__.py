"""Theorems: every axiom and theorem of the paper as a checkable property."""

from .catalogue import AXIOMS, PROPERTIES, get_property, register, resolve
from .domain import Domain, unstated_reason
from .family import FAMILY
from .parts import Absent, SmtEncoding, SmtOperatorFree, SymbolicProof, WitnessKind
from .property import Batch, ExactPoint, Margins, PreciseKind, PreciseMargin, Property

__all__ = ["AXIOMS", "FAMILY", "PROPERTIES", "Absent", "Batch", "Domain", "ExactPoint", "Margins", "PreciseKind",
           "PreciseMargin", "Property", "SmtEncoding", "SmtOperatorFree", "SymbolicProof", "WitnessKind",
           "get_property", "register", "resolve", "unstated_reason"]
