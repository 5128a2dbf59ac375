"""The registry of checkable properties, by stable id (docs/formalization.md's table).

A property is registered once, here for the built-in ones (plug-ins call :func:`register`); every
engine, the CLI and the report find all its parts on the registered object.
"""

from __future__ import annotations

from mtkd.errors import UnknownPropertyError

from .axioms import Axiom1, Axiom1Hull, Axiom2, Axiom3, Axiom4, Axiom5
from .bounds import CorIV12, PropIV11, ThmIV7, ThmIV9
from .family import AXIOMS, FAMILY
from .linearity import AssumptionL, AssumptionLSeparable, DefIV1, ThmIV2
from .pool_anonymity import PoolAnonymity
from .pool_external_bayesianity import PoolExternalBayesianity
from .pool_marginalization import PoolMarginalization
from .pool_neutrality import PoolNeutrality
from .pool_unanimity import PoolUnanimity
from .pool_zero_preservation import PoolZeroPreservation
from .property import Property

__all__ = ["AXIOMS", "PROPERTIES", "DuplicatePropertyError", "get_property", "register", "resolve"]

PROPERTIES: dict[str, Property] = {}
"""Every registered property by id, in registration order (the order of reports)."""


class DuplicatePropertyError(ValueError):
    """Two properties claim the same id."""


def register(prop: Property) -> Property:
    """Add ``prop`` to the catalogue; its id must be new (also among the family statements)."""
    if prop.id in PROPERTIES or prop.id in FAMILY:
        raise DuplicatePropertyError(f"property id {prop.id!r} is already registered "
                                     f"(by {type(PROPERTIES.get(prop.id, prop)).__module__})")
    PROPERTIES[prop.id] = prop
    return prop


for _prop in (Axiom1(), Axiom1Hull(), Axiom2(), Axiom3(), Axiom4(), Axiom5(), AssumptionL(),
              AssumptionLSeparable(), DefIV1(), ThmIV2(), ThmIV7(), ThmIV9(), PropIV11(), CorIV12(),
              PoolUnanimity(), PoolZeroPreservation(), PoolAnonymity(), PoolNeutrality(), PoolMarginalization(),
              PoolExternalBayesianity()):
    register(_prop)


def get_property(pid: str) -> Property:
    try:
        return PROPERTIES[pid]
    except KeyError:
        raise UnknownPropertyError(
            f"Unknown property id {pid!r}. Valid ids: {', '.join(PROPERTIES)}"
            f" (and, in 'mtkd report' only, {', '.join(FAMILY)})."
        ) from None


def resolve(ids: list[str] | tuple[str, ...] | None) -> list[Property]:
    """The properties to check, in catalogue order; all of them when ``ids`` is empty."""
    if not ids:
        return list(PROPERTIES.values())
    wanted = {get_property(i).id for i in ids}
    return [p for p in PROPERTIES.values() if p.id in wanted]
