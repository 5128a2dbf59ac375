"""Theorems: every axiom and theorem of the paper as a checkable property."""

from .catalogue import AXIOMS, FAMILY_IDS, PROPERTIES, get_property, resolve
from .domain import Domain, unstated_reason
from .property import Batch, ExactPoint, Kind, Margins, PreciseKind, PreciseMargin, Property

__all__ = ["AXIOMS", "FAMILY_IDS", "PROPERTIES", "Batch", "Domain", "ExactPoint", "Kind", "Margins", "PreciseKind",
           "PreciseMargin", "Property", "get_property", "resolve", "unstated_reason"]
