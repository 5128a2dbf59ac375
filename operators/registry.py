"""The registry of built-in operators, by name: each is one module, registered here once.

>>> sorted(BUILTINS)[:3]
['entropic', 'geometric', 'linear']
"""

from __future__ import annotations

from .builtin import BuiltinOperator
from .entropic import EntropicPool
from .geometric import GeometricPool
from .linear import LinearPool
from .maxpool import MaxPool
from .power import PowerPool
from .reweighted import ReweightedPool

BUILTINS: dict[str, type[BuiltinOperator]] = {}
"""Every built-in operator class by name, in registration order (the order of ``mtkd list``)."""


class DuplicateOperatorError(ValueError):
    """Two built-in operators claim the same name."""


def register_builtin(cls: type[BuiltinOperator]) -> type[BuiltinOperator]:
    """Add a built-in operator class (usable as a decorator); its name must be new."""
    if cls.name in BUILTINS:
        raise DuplicateOperatorError(f"operator name {cls.name!r} is already registered by {BUILTINS[cls.name].__module__}")
    BUILTINS[cls.name] = cls
    return cls


for _cls in (LinearPool, GeometricPool, PowerPool, EntropicPool, MaxPool, ReweightedPool):
    register_builtin(_cls)


def builtin_names() -> list[str]:
    return list(BUILTINS)
