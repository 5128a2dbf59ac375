"""Shipping an operator and a property to a worker by name, so that any backend can run a task.

A task never carries the user's callable: it carries a :class:`Shipped` reference (the operator
spec, the client's working directory for relative file specs, the per-call time limit, the
property id) and the worker loads the operator itself (cached per process). A worker that cannot
load it reports the reason, which becomes an ``error`` verdict. Operators without a spec that
names them (in-memory callables from the Python API) and properties outside the catalogue cannot
be shipped: :func:`ship` says why, and the caller runs them in-process instead.

>>> from mtkd.operators import load_operator, wrap_callable
>>> from mtkd.theorems import get_property
>>> ship(load_operator("power:alpha=2"), get_property("axiom3")).load()[0].spec
'power:alpha=2'
>>> ship(wrap_callable(lambda P, T, w: w @ P, "my_lambda"), get_property("axiom3"))
"operator spec 'my_lambda' names no built-in, module or file that a worker could load"
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace
from pathlib import Path

from mtkd import plugins
from mtkd.errors import MtkdError
from mtkd.operators import BUILTINS, Operator, load_operator
from mtkd.theorems import PROPERTIES, Property, get_property


class ShippedLoadError(MtkdError):
    """A worker could not load the operator or property a task names."""


@dataclass(frozen=True)
class Shipped:
    """An operator and a property by name: what a task carries instead of the objects."""

    spec: str
    base: str
    """The client's working directory: a relative ``file.py:attr`` spec is resolved against it."""
    time_limit: float
    prop_id: str
    plugin_files: tuple[str, ...] = ()
    framework: str = "auto"
    """The client's ``--framework``: the worker builds (or does not build) the same batched form."""
    """Plug-in files the client registered (``--property-module``, ``--operator-module``): a worker
    registers them too (and the installed entry points) before looking the names up."""

    def load(self) -> tuple[Operator, Property]:
        """The operator and property, loaded in this process (raises :class:`ShippedLoadError`)."""
        try:
            plugins.load_entry_points()
            for path in self.plugin_files:
                plugins.load_module_file(path)
            prop = get_property(self.prop_id)
        except MtkdError as exc:
            raise ShippedLoadError(f"a worker could not load property {self.prop_id!r}: {exc}") from None
        return _load(self.spec, self.base, self.time_limit, self.framework), prop


def ship(op: Operator, prop: Property) -> Shipped | str:
    """A :class:`Shipped` reference to ``(op, prop)``, or why they must stay in this process."""
    if PROPERTIES.get(prop.id) is not prop:
        return f"property {prop.id!r} is not the catalogue's, so a worker cannot look it up by id"
    head, _, tail = op.spec.partition(":")
    if head not in BUILTINS and not (tail and (head.endswith(".py") or head.replace(".", "").isidentifier())):
        return f"operator spec {op.spec!r} names no built-in, module or file that a worker could load"
    files = tuple(sorted(key for key in plugins.loaded() if Path(key).is_absolute()))
    return Shipped(op.spec, os.getcwd(), op.time_limit, prop.id, files, op.framework)


@functools.lru_cache(maxsize=16)
def _load(spec: str, base: str, time_limit: float, framework: str) -> Operator:
    head, _, tail = spec.partition(":")
    where = spec
    if head.endswith(".py") and not Path(head).is_absolute():
        where = f"{Path(base) / head}:{tail}"
    try:
        op = load_operator(where, time_limit=time_limit, framework=framework)
    except MtkdError as exc:
        raise ShippedLoadError(f"a worker could not load operator {spec!r}: {exc}") from None
    # Messages name the operator as the user did, wherever it was loaded.
    return op if op.spec == spec else replace(op, spec=spec)
