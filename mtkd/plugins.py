"""Plug-ins: properties and operators from other packages or files, without forking the project.

Two ways in, both registering into the same catalogues the built-ins use
(:func:`mtkd.theorems.register`, :func:`mtkd.operators.register_builtin`):

* **entry points** of an installed distribution, in the groups ``mtkd.properties`` and
  ``mtkd.operators``; each names a module (every property / operator class defined in it is
  registered) or one class;
* **a file**: ``mtkd verify OP --property-module my_axiom.py`` (also ``--operator-module``, and on
  ``mtkd report`` and ``mtkd list``).

A plug-in property is a :class:`~mtkd.theorems.Property` subclass: an id, a title, a wording and
the two margins; everything else (sympy statement, z3 encoding, symbolic proofs) is optional and
declared absent by default. A plug-in operator is a
:class:`~mtkd.operators.builtin.BuiltinOperator` subclass (name, formula, source, ``scores`` and
``pool_precise``). See the README ("Plug-ins") for a complete example.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from mtkd.errors import PluginError
from mtkd.operators import BUILTINS, register_builtin
from mtkd.operators.builtin import BuiltinOperator
from mtkd.theorems import PROPERTIES, Property, register

PROPERTY_GROUP = "mtkd.properties"
OPERATOR_GROUP = "mtkd.operators"

PLUGIN_OPERATORS: list[str] = []
"""Names of the operators plug-ins registered, in order (``mtkd report`` includes them by default)."""

_loaded: set[str] = set()
"""Modules and entry points already registered (loading twice is a no-op, not a duplicate id)."""


def register_from(obj: Any, origin: str) -> list[str]:
    """Register every property and operator ``obj`` provides; return their ids / names.

    ``obj`` is a module (every concrete :class:`Property` / :class:`BuiltinOperator` subclass
    *defined in it* is registered), one such class, or a property instance.
    """
    if isinstance(obj, ModuleType):
        found = [v for v in vars(obj).values() if inspect.isclass(v) and v.__module__ == obj.__name__
                 and issubclass(v, (Property, BuiltinOperator)) and not inspect.isabstract(v)]
        if not found:
            raise PluginError(f"Plug-in {origin!r} defines no Property or BuiltinOperator subclass. Define one "
                              "(see the README, section 'Plug-ins') or point at the module that does.")
        return [name for cls in found for name in register_from(cls, origin)]
    if isinstance(obj, Property):
        return [_register_property(obj, origin)]
    if inspect.isclass(obj) and issubclass(obj, Property) and not inspect.isabstract(obj):
        return [_register_property(obj(), origin)]
    if inspect.isclass(obj) and issubclass(obj, BuiltinOperator) and not inspect.isabstract(obj):
        if obj.name in BUILTINS and BUILTINS[obj.name] is not obj:
            raise PluginError(f"Plug-in {origin!r}: operator name {obj.name!r} is already taken by "
                              f"{BUILTINS[obj.name].__module__}. Rename the operator.")
        if obj.name not in BUILTINS:
            register_builtin(obj)
            PLUGIN_OPERATORS.append(obj.name)
        return [obj.name]
    raise PluginError(f"Plug-in {origin!r} gave a {type(obj).__name__}, not a Property or BuiltinOperator "
                      "subclass, a property instance, or a module defining them.")


def _register_property(prop: Property, origin: str) -> str:
    existing = PROPERTIES.get(prop.id)
    if existing is not None:
        if type(existing) is type(prop):
            return prop.id  # the same class loaded again
        raise PluginError(f"Plug-in {origin!r}: property id {prop.id!r} is already taken by "
                          f"{type(existing).__module__}.{type(existing).__name__}. Choose another id.")
    register(prop)
    return prop.id


def load_module_file(path: str) -> list[str]:
    """Import a plug-in file and register what it defines; :class:`PluginError` explains any failure."""
    file = Path(path)
    key = str(file.resolve())
    if key in _loaded:
        return []
    if not file.is_file():
        raise PluginError(f"Plug-in file {path!r} does not exist.")
    name = f"_mtkd_plugin_{file.stem}_{abs(hash(key))}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise PluginError(f"Plug-in file {path!r} is not a Python module (expected a .py file).")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - any import-time failure is the plug-in author's to fix
        del sys.modules[name]
        raise PluginError(f"Importing plug-in file {path!r} failed with {type(exc).__name__}: {exc}. "
                          "Fix the file so that it imports cleanly.") from None
    _loaded.add(key)
    return register_from(module, path)


def loaded() -> frozenset[str]:
    """What is registered so far: resolved plug-in file paths and entry-point keys (workers replay them)."""
    return frozenset(_loaded)


def load_entry_points() -> list[str]:
    """Register everything the installed distributions declare in the two entry-point groups."""
    names: list[str] = []
    for group in (PROPERTY_GROUP, OPERATOR_GROUP):
        for ep in importlib.metadata.entry_points(group=group):
            key = f"{group}:{ep.name}={ep.value}"
            if key in _loaded:
                continue
            try:
                obj = ep.load()
            except Exception as exc:  # noqa: BLE001 - a broken plug-in is reported, never a traceback
                raise PluginError(f"Loading entry point {ep.name!r} ({ep.value}) in group {group!r} failed with "
                                  f"{type(exc).__name__}: {exc}. Fix or uninstall the distribution that declares it.") from None
            _loaded.add(key)
            names += register_from(obj, f"entry point {ep.name} ({ep.value})")
    return names
