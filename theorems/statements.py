"""Every property id as a sympy statement, and its rendering.

Each property owns its statement (:meth:`~mtkd.theorems.property.Property.statement`, written in
the vocabulary of :mod:`mtkd.theorems.symbols`); the family statements live in
:mod:`mtkd.theorems.family`. This module looks them up by id and prints them.

>>> "Σ_{k=1..K}" in render("thm-IV.9", "unicode")
True
>>> render("axiom2", "latex").startswith(r"\\forall")
True
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import sympy as sp

from mtkd.theorems.notation import to_latex, to_unicode

from .catalogue import PROPERTIES
from .family import FAMILY
from .parts import Absent
from .symbols import LATEX_NAMES


def property_ids() -> tuple[str, ...]:
    """Every id that has a statement: the registered properties, then the family statements."""
    return (*PROPERTIES, *FAMILY)


PROPERTY_IDS: tuple[str, ...] = property_ids()
"""The ids known when this module was imported (plug-ins registered later: :func:`property_ids`)."""


@lru_cache(maxsize=None)
def statement(prop_id: str) -> sp.Basic | Absent:
    """The sympy statement of ``prop_id``, or :class:`Absent` if it has none; ``KeyError`` lists the valid ids.

    >>> statement("thm-IV.9").body.body.rel_op
    '<='
    """
    if prop_id in PROPERTIES:
        return PROPERTIES[prop_id].statement()
    if prop_id in FAMILY:
        return FAMILY[prop_id].statement()
    raise KeyError(f"unknown property id {prop_id!r}; valid ids: {', '.join(property_ids())}")


@lru_cache(maxsize=None)
def render(prop_id: str, fmt: Literal["unicode", "latex"]) -> str:
    """``statement(prop_id)`` printed as one line of Unicode or as LaTeX (the wording if it has none)."""
    expr = statement(prop_id)
    if fmt not in ("unicode", "latex"):
        raise ValueError(f"fmt must be 'unicode' or 'latex', got {fmt!r}")
    if isinstance(expr, Absent):
        wording = PROPERTIES[prop_id].wording
        return wording if fmt == "unicode" else r"\text{" + wording.replace("_", r"\_") + "}"
    return to_unicode(expr) if fmt == "unicode" else to_latex(expr, LATEX_NAMES)
