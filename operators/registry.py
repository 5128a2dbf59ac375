"""The registry of built-in operators, by name: each is one module, registered here once.

>>> list(BUILTINS)[:5]
['linear', 'geometric', 'power', 'entropic', 'max']
"""

from __future__ import annotations

from .builtin import BuiltinOperator
from .confidence import ConfidencePool
from .entropic import EntropicPool
from .entropy_weighted import EntropyWeightedPool
from .geometric import GeometricPool
from .linear import LinearPool
from .logit_mean import LogitMean
from .logit_mean_post_t import LogitMeanPostT
from .maxpool import MaxPool
from .power import PowerPool
from .reweighted import ReweightedPool
from .topk import TopKPool

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


# The pooling operators of the paper and the literature, then operators from distillation practice.
for _cls in (LinearPool, GeometricPool, PowerPool, EntropicPool, MaxPool, ReweightedPool, LogitMean, LogitMeanPostT,
             ConfidencePool, EntropyWeightedPool, TopKPool):
    register_builtin(_cls)


def builtin_names() -> list[str]:
    return list(BUILTINS)
