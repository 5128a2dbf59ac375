"""Operators: the protocol a candidate follows, the loader, and the built-ins."""

from .loader import load_operator, wrap_callable
from .protocol import Operator
from .registry import BUILTINS, builtin_names, register_builtin

__all__ = ["BUILTINS", "Operator", "builtin_names", "load_operator", "register_builtin", "wrap_callable"]
