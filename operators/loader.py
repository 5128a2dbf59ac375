"""Turn an operator spec from the command line into an :class:`Operator`.

Three forms are accepted:

* a built-in name with optional parameters: ``linear``, ``power:alpha=2``, ``entropic:beta=0.5``;
* an importable attribute: ``my_pkg.pools:confidence_pool``;
* a file and attribute: ``./my_op.py:pool``.

>>> load_operator("power:alpha=0.5").spec
'power:alpha=0.5'
>>> load_operator("nonsense")
Traceback (most recent call last):
...
mtkd.errors.OperatorLoadError: Unknown operator 'nonsense'. ...
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
import sys
from functools import partial
from pathlib import Path
from typing import Any, Callable

from mtkd.errors import OperatorLoadError

from .builtin import BuiltinOperator
from .derive import derive_precise
from .protocol import DeadlineExceeded, Operator, deadline
from .registry import BUILTINS


def load_operator(spec: str, time_limit: float = 5.0) -> Operator:
    """Resolve ``spec``; raise :class:`OperatorLoadError` with a one-paragraph explanation."""
    head, _, tail = spec.partition(":")
    if head in BUILTINS:
        return _from_builtin(spec, head, tail, time_limit)
    if not tail:
        raise OperatorLoadError(
            f"Unknown operator {spec!r}. Give a built-in name ({', '.join(BUILTINS)}), "
            "'package.module:attribute', or 'path/to/file.py:attribute'. Run 'mtkd list' to see "
            "the built-ins and their parameters."
        )
    module = _import_file(head, spec) if head.endswith(".py") else _import_module(head, spec)
    if not hasattr(module, tail):
        public = sorted(n for n in vars(module) if not n.startswith("_") and callable(getattr(module, n)))
        raise OperatorLoadError(
            f"Module {head!r} has no attribute {tail!r} (operator spec {spec!r}). Callables it "
            f"does define: {', '.join(public) or 'none'}."
        )
    return wrap_callable(getattr(module, tail), spec, time_limit)


def wrap_callable(obj: Any, spec: str, time_limit: float = 5.0, derive: bool = True) -> Operator:
    """Wrap any object following the protocol, detecting its optional forms.

    Without an ``obj.precise`` attribute a precise form is derived from the code, and used only if
    it agrees with the float form (:func:`mtkd.operators.derive.derive_precise`); ``derive=False``
    or ``obj.precise = None`` opt out (float64 evidence only).
    """
    if inspect.isclass(obj):
        raise OperatorLoadError(
            f"{spec!r} is a class, not an operator. Point the spec at an instance or function "
            "with signature op(P, T, w) -> q.")
    if not callable(obj):
        raise OperatorLoadError(
            f"{spec!r} is a {type(obj).__name__}, not callable. An operator is a function "
            "op(P, T, w) -> q taking a (K, V) array, a (K,) array and a (K,) array.")
    _check_signature(obj, spec)
    batched = getattr(obj, "batched", None)
    precise = getattr(obj, "precise", None)
    algebraic = None
    if isinstance(obj, BuiltinOperator) and obj.shape is not None:
        algebraic = (obj.name, dict(obj.params))
    note = getattr(obj, "undefined_note", "")
    derived = None
    # ``op.precise = None`` says "no precise form, do not derive one"; an absent attribute does not.
    if algebraic is None and not hasattr(obj, "precise") and derive:
        derived = derive_precise(obj, spec, partial(_guarded_call, spec, time_limit))
        precise = derived.adapter
    return Operator(
        spec=spec,
        func=obj,
        batched_func=batched if callable(batched) else None,
        precise_func=precise if callable(precise) else None,
        time_limit=time_limit,
        algebraic=algebraic,
        undefined_note=note if isinstance(note, str) else "",
        derived_note=derived.reason if derived is not None and derived.adapter is not None else "",
        derive_failure=derived.reason if derived is not None and derived.adapter is None else "",
    )


def _guarded_call(spec: str, time_limit: float, thunk: Callable[[], Any]) -> Any:
    """Run user code for the derivation check under the per-call time limit."""
    try:
        with deadline(time_limit):
            return thunk()
    except DeadlineExceeded:
        raise TimeoutError(f"no answer within {time_limit:.1f} s (--call-timeout)") from None


def _check_signature(obj: Callable[..., Any], spec: str) -> None:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return  # builtins and C callables: nothing to check up front
    try:
        sig.bind(None, None, None)
    except TypeError:
        raise OperatorLoadError(
            f"{spec!r} cannot be called as op(P, T, w): its signature is {sig}. An operator takes "
            "exactly the teachers P, temperatures T and weights w.") from None


def _from_builtin(spec: str, name: str, tail: str, time_limit: float) -> Operator:
    cls = BUILTINS[name]
    params: dict[str, float] = {}
    for item in filter(None, tail.split(",")):
        key, eq, value = item.partition("=")
        if not eq or key not in cls.param_doc:
            allowed = ", ".join(f"{k} ({v})" for k, v in cls.param_doc.items()) or "none"
            raise OperatorLoadError(
                f"Operator {spec!r}: {item!r} is not a parameter of {name}. Parameters: {allowed}. "
                f"Write them as {name}:key=value.")
        try:
            params[key] = float(value)
        except ValueError:
            raise OperatorLoadError(f"Operator {spec!r}: parameter {key}={value!r} is not a number.") from None
        if not math.isfinite(params[key]):
            raise OperatorLoadError(f"Operator {spec!r}: parameter {key}={value!r} must be a finite number.")
    try:
        instance = cls(**params)
    except ValueError as exc:
        raise OperatorLoadError(f"Operator {spec!r}: {exc}.") from None
    return wrap_callable(instance, instance.spec, time_limit)


def _import_module(name: str, spec: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception as exc:  # noqa: BLE001 - any import-time failure is the user's to fix
        raise OperatorLoadError(
            f"Could not import module {name!r} for operator {spec!r}: {type(exc).__name__}: {exc}. "
            "Check that the package is installed in this environment (or use a file path, "
            "'path/to/file.py:attribute').") from None


def _import_file(path: str, spec: str) -> Any:
    file = Path(path)
    if not file.is_file():
        raise OperatorLoadError(f"Operator file {path!r} does not exist (operator spec {spec!r}).")
    mod_name = f"_mtkd_user_{file.stem}_{abs(hash(file.resolve()))}"
    loader_spec = importlib.util.spec_from_file_location(mod_name, file)
    assert loader_spec is not None and loader_spec.loader is not None
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[mod_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001
        del sys.modules[mod_name]
        raise OperatorLoadError(
            f"Executing {path!r} failed with {type(exc).__name__}: {exc} (operator spec {spec!r}). "
            "Fix the file so that it imports cleanly.") from None
    return module
