"""The catalogue of checkable properties, by stable id (FORMALIZATION.md's table)."""

from __future__ import annotations

from mtkd.errors import UnknownPropertyError

from .axioms import Axiom1, Axiom1Hull, Axiom2, Axiom3, Axiom4, Axiom5
from .bounds import CorIV12, PropIV11, ThmIV7, ThmIV9
from .linearity import AssumptionL, AssumptionLSeparable, DefIV1, ThmIV2
from .property import Property

PROPERTIES: dict[str, Property] = {
    p.id: p
    for p in (Axiom1(), Axiom1Hull(), Axiom2(), Axiom3(), Axiom4(), Axiom5(), AssumptionL(),
              AssumptionLSeparable(), DefIV1(), ThmIV2(), ThmIV7(), ThmIV9(), PropIV11(), CorIV12())
}

FAMILY_IDS: dict[str, str] = {
    "thm-III.1": "Theorem III.1 (existence): some operator satisfies axiom1..axiom5 — checked by 'mtkd report'.",
    "thm-III.2": "Theorem III.2 (non-uniqueness): two distinct operators satisfy axiom1..axiom5 — checked by 'mtkd report'.",
    "prop-V.2": "Proposition V.2 (a free-logit student matches q exactly) — a demonstration in 'mtkd report'.",
}

AXIOMS = ("axiom1", "axiom2", "axiom3", "axiom4", "axiom5")


def get_property(pid: str) -> Property:
    try:
        return PROPERTIES[pid]
    except KeyError:
        raise UnknownPropertyError(
            f"Unknown property id {pid!r}. Valid ids: {', '.join(PROPERTIES)}"
            f" (and, in 'mtkd report' only, {', '.join(FAMILY_IDS)})."
        ) from None


def resolve(ids: list[str] | tuple[str, ...] | None) -> list[Property]:
    """The properties to check, in catalogue order; all of them when ``ids`` is empty."""
    if not ids:
        return list(PROPERTIES.values())
    wanted = {get_property(i).id for i in ids}
    return [p for p in PROPERTIES.values() if p.id in wanted]
