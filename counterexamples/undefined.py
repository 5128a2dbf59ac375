"""Inputs where the operator is undefined (NaN, inf, an exception) are recorded, not fatal.

An operator may be undefined on part of the admissible inputs (``P ** (1 / T)`` underflows to
``0 / 0`` at ``T = 1e-6``). One such input must not end a property's search: the batch is split
until the undefined inputs are isolated, they are counted (with the first one kept for the
report), and the search goes on with the defined ones. The verdict is then ``refuted`` if a
counterexample was found on the defined inputs, else ``error`` naming the undefined inputs.
Hangs, wrong shapes and writes to the inputs are not "undefined": they still end the search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtkd.errors import OperatorUndefined
from mtkd.operators import Operator
from mtkd.theorems import Batch, Margins, Property


@dataclass
class UndefinedLog:
    """How many inputs the operator was undefined at, and the first one (its failure message)."""

    count: int = 0
    first: str = ""

    def add(self, failure: OperatorUndefined) -> None:
        self.count += 1
        if not self.first:
            self.first = str(failure)

    def merge(self, count: int, first: str) -> None:
        if count and not self.first:
            self.first = first
        self.count += count


@dataclass
class TolerantProperty:
    """``prop`` whose :meth:`margins` survive undefined inputs: those get margin ``+inf``.

    The batch keeps its shape (the guided search relies on it); an undefined row borrows a
    defined row's witness, which is never used because ``+inf`` is never a candidate. If no row
    is defined the failure propagates.
    """

    prop: Property
    log: UndefinedLog = field(default_factory=UndefinedLog)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.prop, name)

    def margins(self, op: Operator, x: Batch, rng: np.random.Generator) -> Margins:
        defined, m = self._split(op, x, rng, np.arange(len(x.P)))
        if m is None:
            raise self._last  # every input undefined: nothing to search here
        if len(defined) == len(x.P):
            return m
        full = np.full(len(x.P), np.inf)
        full[defined] = m.values
        strict = np.zeros(len(x.P), bool)
        strict[defined] = m.strict
        witness = {}
        for k, v in m.witness.items():
            v = np.asarray(v)
            out = np.repeat(v[:1], len(x.P), axis=0)
            out[defined] = v
            witness[k] = out
        return Margins(full, strict, witness)

    def _split(self, op: Operator, x: Batch, rng: np.random.Generator,
               idx: np.ndarray) -> tuple[np.ndarray, Margins | None]:
        try:
            return idx, self.prop.margins(op, x.take(idx), rng)
        except OperatorUndefined as failure:
            if len(idx) == 1:
                self.log.add(failure)
                self._last = failure
                return idx[:0], None
        half = len(idx) // 2
        parts: list[tuple[np.ndarray, Margins]] = []
        for part in (idx[:half], idx[half:]):
            i, m = self._split(op, x, rng, part)
            if m is not None:
                parts.append((i, m))
        if not parts:
            return idx[:0], None
        if len(parts) == 1:
            return parts[0]
        (ia, ma), (ib, mb) = parts
        return np.concatenate([ia, ib]), ma.joined(mb)


def undefined_message(count: int, first: str, inputs: int) -> str:
    """One sentence for the report: how often, and the first failure (which names its input)."""
    return (f"The operator was undefined (NaN, inf or an exception) at {count} of the {inputs} admissible inputs "
            f"tried; the search went on with the others. First: {first}")
