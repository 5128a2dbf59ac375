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
from dataclasses import dataclass, replace
from functools import cache, partial
from pathlib import Path
from typing import Any, Callable

import numpy as np

from mtkd.errors import OperatorFailure, OperatorLoadError

from .builtin import BuiltinOperator
from .derive import derive_precise
from .frameworks import Returned
from .protocol import DeadlineExceeded, Operator, RemoteForm, deadline
from .registry import BUILTINS
from .sandbox import CallTimedOut, Loaded, Sandbox, SandboxFailure, Target, TransportError

IMPORT_SECONDS = 60.0
"""How long importing a user operator (in its worker) may take: room for torch or jax to load."""


FRAMEWORKS = ("auto", "numpy", "torch", "jax")
"""``--framework`` choices: whose vmap may build a missing batched form (``numpy``: none)."""


def load_operator(spec: str, time_limit: float = 5.0, import_timeout: float = IMPORT_SECONDS,
                  budget: float | None = None, framework: str = "auto") -> Operator:
    """Resolve ``spec``; raise :class:`OperatorLoadError` with a one-paragraph explanation.

    Built-ins run in this process (the tool's own code); anything else is imported and run in a
    killable worker process (:mod:`mtkd.operators.sandbox`), never in this one. ``budget`` (the
    run's ``--budget``) also caps deriving a precise form, which calls the operator: with an
    operator that hangs, ``--budget 2`` must not mean a 30 s wait before the run starts. A user
    operator without a batched form gets one built by ``framework``'s vmap where that works
    (:func:`auto_batched`).
    """
    head, _, tail = spec.partition(":")
    if head in BUILTINS:
        return _from_builtin(spec, head, tail, time_limit)
    _check_spec_shape(spec, head, tail)
    box = Sandbox(Target(spec, spec=spec), import_timeout=import_timeout)
    op, plain = _remote(box, spec, time_limit, budget)
    return auto_batched(op, framework, plain)


def auto_batched(op: Operator, framework: str = "auto", plain: Callable[[], PlainCall] | None = None) -> Operator:
    """``op`` with a batched form built by ``torch.func.vmap`` / ``jax.vmap`` of its single-input form.

    ``framework`` ``auto`` takes the framework of what the operator returns at a probe input
    (numpy: nothing to build); ``numpy`` never builds one. The built form is used only if it runs
    and agrees with the single-input form at the forms check's probe inputs (within the single
    form's measured error); otherwise the limitations say why it is not used. ``plain``: the load's
    probe call (:func:`_remote`), made here only if nothing asked for it yet (never twice).
    """
    from mtkd.counterexamples.forms import batched_problem

    from .frameworks import VMAP_ADAPTERS, VMAP_NAMES, Framework

    op = replace(op, framework=framework)
    if op.batched_func is not None or framework == "numpy" or not isinstance(op.func, RemoteForm):
        return op
    if framework == "auto":
        probe = plain() if plain is not None else _plain_call(op.func.sandbox, op.time_limit)
        if probe.returned is None:
            return op  # the properties report a failing operator, with the input
        chosen = Framework(probe.returned.framework)
    else:
        chosen = Framework(framework)
    if chosen not in VMAP_ADAPTERS:
        return op
    name = VMAP_NAMES[chosen]
    built = op.with_adapter("batched", VMAP_ADAPTERS[chosen])
    try:
        problem = batched_problem(built)
    except OperatorFailure as exc:
        problem = str(exc)
    if problem is not None:
        return replace(op, batched_failure=f"{name} of the single-input form was tried and not used: {problem}")
    return replace(built, batched_note=f"{name} of the single-input form, built by the tool; agrees with it at the "
                                       "probe inputs")


def _check_spec_shape(spec: str, head: str, tail: str) -> None:
    if not tail:
        raise OperatorLoadError(
            f"Unknown operator {spec!r}. Give a built-in name ({', '.join(BUILTINS)}), "
            "'package.module:attribute', or 'path/to/file.py:attribute'. Run 'mtkd list' to see "
            "the built-ins and their parameters."
        )
    if head.endswith(".py"):
        try:
            Path(head).is_file()
        except (OSError, ValueError) as exc:  # e.g. a name longer than the file system allows
            raise OperatorLoadError(f"Operator file {head[:80]!r}{'...' if len(head) > 80 else ''} cannot be "
                                    f"used (operator spec {spec[:80]!r}): {exc}.") from None
        if not Path(head).is_file():
            raise OperatorLoadError(f"Operator file {head!r} does not exist (operator spec {spec!r}).")


DERIVE_CALLS = 12
"""The derivation check calls the float and the derived form at 6 inputs: its limit is this many calls..."""
DERIVE_SECONDS = 30.0
"""... and at most this many seconds, and never more than the run's --budget."""


def _remote(box: Sandbox, spec: str, time_limit: float,
            budget: float | None = None) -> tuple[Operator, Callable[[], PlainCall]]:
    """The operator in its worker, and what it does with a plain input (its framework; a hang): a call
    made at most once, and only when asked (deriving a precise form, or learning the framework of a
    missing batched form, asks; an operator with both forms is never called at load)."""
    info = box.load()
    cap = min(DERIVE_CALLS * time_limit, DERIVE_SECONDS, budget or DERIVE_SECONDS)
    plain = cache(partial(_plain_call, box, min(time_limit, cap)))
    if box.target.derive and not info.has_precise and not info.derived_note and not info.derive_failure:
        timed_out = plain().timed_out
        info = (replace(info, derive_failure="deriving a precise form was not tried: the operator did not return "
                                             f"within {timed_out:g} s on a plain input")
                if timed_out else box.derive(cap))
    return Operator(
        spec=spec,
        func=RemoteForm(box, "func", time_limit),
        batched_func=RemoteForm(box, "batched", time_limit) if info.has_batched else None,
        precise_func=(RemoteForm(box, "precise", time_limit) if info.has_precise else
                      RemoteForm(box, "precise", time_limit, DERIVED_ADAPTER) if info.derived_note else None),
        time_limit=time_limit,
        undefined_note=info.undefined_note,
        derived_note=info.derived_note,
        derive_failure=info.derive_failure,
        isolation="worker process",
    ), plain


@dataclass(frozen=True)
class PlainCall:
    """The single-input form at one plain input, called once at load."""

    returned: Returned | None
    """What it returned (its framework decides the vmap); ``None`` if it failed or hung."""
    timed_out: float = 0.0
    """The limit it did not return within (0: it answered or failed)."""


_PLAIN_INPUT = (np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]]), np.array([0.7, 1.3]), np.array([0.4, 0.6]))


def _plain_call(box: Sandbox, limit: float) -> PlainCall:
    """One ordinary call before anything that calls the operator many times in one request.

    Deriving runs the operator under a limit of many calls; an operator that hangs would hold every
    load for that whole limit (and for ``--call-timeout``, outside ``--budget``). Other failures are
    left to the derivation and to the search, which reports them with their input.
    """
    try:
        return PlainCall(box.call("func", _PLAIN_INPUT, limit=limit))
    except CallTimedOut:
        return PlainCall(None, limit)
    except SandboxFailure:
        return PlainCall(None)


def resolve_spec(spec: str) -> Any:
    """The object a ``module:attr`` or ``file.py:attr`` spec names (imports user code: worker only)."""
    head, _, tail = spec.partition(":")
    _check_spec_shape(spec, head, tail)
    module = _import_file(head, spec) if head.endswith(".py") else _import_module(head, spec)
    if not hasattr(module, tail):
        public = sorted(n for n in vars(module) if not n.startswith("_") and callable(getattr(module, n)))
        raise OperatorLoadError(
            f"Module {head!r} has no attribute {tail!r} (operator spec {spec!r}). Callables it "
            f"does define: {', '.join(public) or 'none'}."
        )
    return getattr(module, tail)


def inspect_object(obj: Any, spec: str) -> Loaded:
    """Check ``obj`` follows the protocol and detect its optional forms (runs where ``obj`` lives)."""
    if inspect.isclass(obj):
        raise OperatorLoadError(
            f"{spec!r} is a class, not an operator. Point the spec at an instance or function "
            "with signature op(P, T, w) -> q.")
    if not callable(obj):
        raise OperatorLoadError(
            f"{spec!r} is a {type(obj).__name__}, not callable. An operator is a function "
            "op(P, T, w) -> q taking a (K, V) array, a (K,) array and a (K,) array.")
    _check_signature(obj, spec)
    forms = {}
    for name in ("batched", "precise", "undefined_note"):
        try:
            forms[name] = getattr(obj, name, None)
        except BaseException as exc:  # noqa: BLE001 - a property of user code that raises
            raise OperatorLoadError(
                f"Reading {spec!r}.{name} raised {type(exc).__name__}: {exc}. The optional forms (batched, "
                "precise) and undefined_note must be plain attributes that can be read at load time.") from None
    note = forms["undefined_note"]
    return Loaded(callable(forms["batched"]), callable(forms["precise"]), note if isinstance(note, str) else "")


DERIVED_ADAPTER = "mtkd.operators.derive:derived_precise"
"""The tool-side adapter that runs a derived precise form (in the operator's worker)."""


def derivation(obj: Any, spec: str, info: Loaded, call: Callable[[Callable[[], Any]], Any]) -> Loaded:
    """``info`` plus a precise form derived from the code, when ``obj`` has no ``precise`` attribute.

    ``op.precise = None`` says "no precise form, do not derive one"; an absent attribute does not.
    Runs where ``obj`` lives (its worker), since it calls the user's code.
    """
    if isinstance(obj, BuiltinOperator) or hasattr(obj, "precise"):
        return info
    derived = derive_precise(obj, spec, call)
    if derived.adapter is None:
        return replace(info, derive_failure=derived.reason)
    return replace(info, derived_note=derived.reason)


def wrap_callable(obj: Any, spec: str, time_limit: float = 5.0, derive: bool = True) -> Operator:
    """Wrap any object following the protocol, detecting its optional forms.

    Built-ins are the tool's own code and run here. Other objects are pickled by reference into a
    worker process when possible (their module is importable there and yields the same forms);
    otherwise (lambdas, closures, ``__main__``) they run in this process with signal time limits
    only, which the operator's limitations then state.

    Without an ``obj.precise`` attribute a precise form is derived from the code, and used only if
    it agrees with the float form (:func:`mtkd.operators.derive.derive_precise`); ``derive=False``
    or ``obj.precise = None`` opt out (float64 evidence only).
    """
    info = inspect_object(obj, spec)
    if isinstance(obj, BuiltinOperator):
        # Only the tool's own formulas are trusted (no call limit); a plug-in's built-in keeps the guards.
        own = type(obj).__module__.startswith("mtkd.")
        return Operator(spec=spec, func=obj, batched_func=obj.batched, precise_func=obj.precise,
                        time_limit=time_limit,
                        algebraic=(obj.name, dict(obj.params)) if obj.shape is not None else None,
                        undefined_note=info.undefined_note, trusted=own)
    try:
        box = Sandbox(Target.by_reference(obj, spec, derive))
        remote, _ = _remote(box, spec, time_limit)
        assert box.loaded is not None
        if (box.loaded.has_batched, box.loaded.has_precise, box.loaded.undefined_note) == (
                info.has_batched, info.has_precise, info.undefined_note):
            return remote
        box.stop()  # the worker's copy differs (attributes set after import): use the object itself
    except (TransportError, OperatorLoadError):
        pass
    if derive:
        info = derivation(obj, spec, info, partial(_guarded_call, spec, time_limit))
    batched, precise = getattr(obj, "batched", None), getattr(obj, "precise", None)
    if info.derived_note:
        precise = partial(_import_adapter(DERIVED_ADAPTER), obj)
    return Operator(
        spec=spec,
        func=obj,
        batched_func=batched if info.has_batched else None,
        precise_func=precise if (info.has_precise or info.derived_note) else None,
        time_limit=time_limit,
        undefined_note=info.undefined_note,
        derived_note=info.derived_note,
        derive_failure=info.derive_failure,
    )


def _guarded_call(spec: str, time_limit: float, thunk: Callable[[], Any]) -> Any:
    """Run user code for the derivation check under the per-call time limit."""
    state = np.geterr()
    try:
        with deadline(time_limit):
            return thunk()
    except DeadlineExceeded:
        raise TimeoutError(f"no answer within {time_limit:.1f} s (--call-timeout)") from None
    finally:
        np.seterr(**state)  # what the user's code left behind must not reach the tool


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
        if key in params:
            raise OperatorLoadError(
                f"Operator {spec!r}: parameter {key!r} is given twice ({key}={params[key]:g} and {item}). "
                f"Give each parameter once, e.g. {name}:{key}={value}.")
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
    except BaseException as exc:  # noqa: BLE001 - any import-time failure (exit included) is the user's to fix
        raise OperatorLoadError(
            f"Could not import module {name!r} for operator {spec!r}: {_what(exc)}. "
            "Check that the package is installed in this environment (or use a file path, "
            "'path/to/file.py:attribute').") from None


def _import_file(path: str, spec: str) -> Any:
    file = Path(path)
    mod_name = f"_mtkd_user_{file.stem}_{abs(hash(file.resolve()))}"
    loader_spec = importlib.util.spec_from_file_location(mod_name, file)
    assert loader_spec is not None and loader_spec.loader is not None
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[mod_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - exceptions, SystemExit, KeyboardInterrupt at import
        del sys.modules[mod_name]
        raise OperatorLoadError(
            f"Executing {path!r} failed with {_what(exc)} (operator spec {spec!r}). "
            "Fix the file so that it imports cleanly.") from None
    return module


def _what(exc: BaseException) -> str:
    """``SystemExit(0)`` for an exit, ``Type: message`` otherwise."""
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r}) (a module must not exit at import)"
    return f"{type(exc).__name__}: {exc}"


def _import_adapter(name: str) -> Callable[..., Any]:
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)
