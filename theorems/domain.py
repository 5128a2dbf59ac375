"""The two input domains of docs/formalization.md, whose results are reported separately.

* **open** (the default): every teacher entry ``> 0``. All symbolic and SMT proofs live here.
* **closed**: zeros allowed. Several statements change there (temperature limits, continuity,
  positivity), so results on it are a separate matrix.

The open domain is part of the closed one, so an open-domain counterexample also refutes a
statement on the closed domain; the closed-domain *search* therefore draws only inputs with
exact zeros (the part the open search never visits).

>>> Domain("closed").admits([[0.5, 0.5], [1.0, 0.0]]), Domain.OPEN.admits([[1.0, 0.0]])
(True, False)
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Iterable

from .property import Property


class Domain(str, Enum):
    """Where the teachers ``P`` range (temperatures ``> 0`` and weights on the simplex in both)."""

    OPEN = "open"
    """Every teacher entry strictly positive: the paper's default and the provers' domain."""

    CLOSED = "closed"
    """Teachers may put exact zeros on tokens (each row keeps at least one positive entry)."""

    def __str__(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        """How scopes and reports name the domain."""
        return "open domain" if self is Domain.OPEN else "closed domain (teachers with exact zeros)"

    def admits(self, P: Iterable[Iterable[Any]]) -> bool:
        """Does a teacher matrix lie in this domain? (Rows are assumed to be probability vectors.)"""
        return self is Domain.CLOSED or all(v > 0 for row in P for v in row)


def unstated_reason(prop: Property, domain: Domain) -> str | None:
    """Why ``prop`` has no statement on ``domain`` (verdict ``unknown``), or ``None`` if it has one."""
    if prop.open_only and domain is Domain.CLOSED:
        return (f"{prop.id} is stated for the open domain only ({prop.wording}); with zeros allowed a "
                "teacher may rule a token out, so it is not checked on the closed domain.")
    if prop.closed_only and domain is Domain.OPEN:
        return (f"{prop.id} is a statement about exact zeros ({prop.wording}); on the open domain no entry is zero, "
                "so it is vacuous there and checked on the closed domain only.")
    return None
