"""Operators: the protocol a candidate follows, the loader, and the built-ins."""

from .loader import BUILTINS, builtin_names, load_operator, wrap_callable
from .protocol import Operator

__all__ = ["BUILTINS", "Operator", "builtin_names", "load_operator", "wrap_callable"]
