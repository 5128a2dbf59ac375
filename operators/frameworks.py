"""Operators written in numpy, PyTorch (CPU) or JAX: outputs converted back to float64.

The search works on float64 numpy arrays. An operator may return anything array-like: a numpy
array of any float precision, a torch tensor (even one that tracks gradients, or lives on another
device), a JAX array. :func:`convert_output` turns it into a :class:`Returned`: the values as
float64 plus the precision the operator *actually* computed in, because every round-off allowance
of the suite scales with that precision (a float32 pool is judged by float32's epsilon, not by
float64 bounds).

Conversion runs where the operator runs (its worker process, through
:func:`float_output`), so tensors never cross processes; only the float64
values and the dtype's name come back. Inputs are always read-only float64 numpy arrays (an
operator that wants tensors converts them itself, e.g. ``torch.from_numpy(P)``). torch and jax are
imported only when an operator returns their arrays.

>>> r = convert_output(np.array([0.25, 0.75], dtype=np.float32))
>>> r.values.dtype, r.dtype, r.framework.value
(dtype('float64'), 'float32', 'numpy')
>>> r.eps == 2.0 ** -23
True
>>> convert_output([0.5, 0.5]).dtype
'float64'
>>> convert_output("a string")  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
...
OutputConversionError: returned str, not an array of numbers
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from enum import Enum
from typing import Any

import numpy as np


class Framework(str, Enum):
    """The array library an operator's inputs and outputs belong to."""

    NUMPY = "numpy"
    """numpy arrays (also lists, tuples and anything with ``__array__``)."""

    TORCH = "torch"
    """PyTorch tensors, CPU or not, with or without ``requires_grad``; moved to the CPU and detached."""

    JAX = "jax"
    """``jax.Array``; note JAX computes in float32 unless ``jax_enable_x64`` is set, and that is recorded."""


EPSILON: dict[str, float] = {
    "float16": 2.0 ** -10,
    "bfloat16": 2.0 ** -7,
    "float32": 2.0 ** -23,
    "float64": 2.0 ** -52,
    "longdouble": float(np.finfo(np.longdouble).eps),
}
"""Machine epsilon of every precision an operator may compute in."""

TINY: dict[str, float] = {
    "float16": 2.0 ** -14,
    "bfloat16": 2.0 ** -126,
    "float32": 2.0 ** -126,
    "float64": 2.0 ** -1022,
    "longdouble": 2.0 ** -1022,  # its values are read back as float64, whose range then applies
}
"""Smallest normal number of each precision: below it, values have underflowed."""

HUGE: dict[str, float] = {
    "float16": 65504.0,
    "bfloat16": 3.3895313892515355e38,
    "float32": float(np.finfo(np.float32).max),
    "float64": float(np.finfo(np.float64).max),
    "longdouble": float(np.finfo(np.float64).max),
}
"""Largest finite number of each precision: above it, values overflow to infinity."""


class OutputConversionError(Exception):
    """The operator's return value is not an array of real numbers the suite can read."""


@dataclass(frozen=True)
class Returned:
    """What one operator call returned: float64 values plus the precision actually computed in."""

    values: np.ndarray
    dtype: str
    """``float16``, ``bfloat16``, ``float32``, ``float64`` or ``longdouble`` (integers count as float64)."""
    framework: Framework

    @property
    def eps(self) -> float:
        return EPSILON[self.dtype]

    @property
    def tiny(self) -> float:
        return TINY[self.dtype]


def _dtype_name(name: str) -> str:
    name = name.removeprefix("torch.")
    if name in EPSILON:
        return name
    if name in ("float128", "float96"):
        return "longdouble"
    if name in ("half",):
        return "float16"
    if name in ("float", "double"):
        return "float64" if name == "double" else "float32"
    if name.startswith("complex"):
        raise OutputConversionError(f"returned complex numbers ({name}), not real probabilities")
    if name == "object":
        return "float64"
    # Integers and booleans are exact in float64; anything else is a precision we cannot judge.
    if name.startswith(("int", "uint", "bool")):
        return "float64"
    raise OutputConversionError(f"returned an array of {name}, not of floating-point numbers")


def _module_of(out: Any) -> str:
    return type(out).__module__.split(".")[0]


def convert_output(out: Any) -> Returned:
    """Read an operator's return value (numpy, torch, JAX or nested lists) as float64.

    Raises :class:`OutputConversionError` (message: what was returned) when it is not an array
    of real numbers. The operator's tensors are detached and copied to the CPU first, so a
    gradient-tracking or CUDA tensor is read like any other.
    """
    if type(out) is np.ndarray and out.dtype == np.float64:
        # The common case, on the hot path of a single-input form's worker loop: a plain copy.
        return Returned(out.copy(), "float64", Framework.NUMPY)
    framework = Framework.NUMPY
    module = _module_of(out)
    if module == "torch" and "torch" in sys.modules and isinstance(out, sys.modules["torch"].Tensor):
        torch = sys.modules["torch"]
        framework = Framework.TORCH
        if out.is_complex():
            raise OutputConversionError(f"returned complex numbers ({str(out.dtype).removeprefix('torch.')}), "
                                        "not real probabilities")
        dtype = _dtype_name(str(out.dtype))
        out = out.detach().to(device="cpu", dtype=torch.float64).numpy()
        return Returned(np.array(out, dtype=np.float64), dtype, framework)
    if module in ("jax", "jaxlib"):
        framework = Framework.JAX
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            arr = np.asarray(out)
    except np.exceptions.ComplexWarning:
        raise OutputConversionError("returned complex numbers, not real probabilities") from None
    except Exception as exc:  # noqa: BLE001 - a user object's __array__ may raise anything
        raise OutputConversionError(
            f"returned {type(out).__name__}, not an array of numbers "
            f"(converting it raised {type(exc).__name__}: {exc})") from None
    if arr.dtype.kind in "USV" or arr.dtype.kind == "O" and not _all_real_numbers(arr):
        if np.iscomplexobj(arr) or any(isinstance(v, complex) for v in np.ravel(arr)):
            raise OutputConversionError("returned complex numbers, not real probabilities")
        raise OutputConversionError(f"returned {type(out).__name__}, not an array of numbers")
    dtype = _dtype_name(arr.dtype.name)
    try:
        values = np.array(arr, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise OutputConversionError(f"returned {type(out).__name__}, not an array of numbers ({exc})") from None
    return Returned(values, dtype, framework)


class OutputNotNumbers(Exception):
    """What the operator returned is not an array of real numbers (the message says what it was)."""


def float_output(out: Any) -> Returned:
    """The operator's result as float64 values plus its dtype, or :class:`OutputNotNumbers` saying what it was.

    Runs where the operator runs (in its worker), so framework objects (torch / JAX tensors) never
    cross processes: :func:`convert_output` reads them there.

    >>> r = float_output(np.array([0.25, 0.75], dtype=np.float32))
    >>> r.values, r.dtype
    (array([0.25, 0.75]), 'float32')
    >>> try:
    ...     float_output([1j, 0.5])
    ... except OutputNotNumbers as exc:
    ...     print(exc)
    returned complex numbers (complex128), not real probabilities,
    """
    try:
        return convert_output(out)
    except OutputConversionError as exc:
        raise OutputNotNumbers(f"{exc},") from None
    except BaseException as exc:  # noqa: BLE001 - e.g. a custom BaseException from __array__
        raise OutputNotNumbers(f"returned {type(out).__name__}, not an array of numbers (converting it raised "
                               f"{type(exc).__name__}: {safe_str(exc)}),") from None


def safe_str(exc: BaseException) -> str:
    """``str(exc)``, or a placeholder when the exception's ``__str__`` itself raises."""
    try:
        return str(exc)
    except BaseException:  # noqa: BLE001 - a hostile __str__
        return "<unprintable>"


def _all_real_numbers(arr: np.ndarray) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
               for v in np.ravel(arr))


# ---- automatic batched forms ----------------------------------------------------------------------

VMAP_ADAPTERS = {Framework.TORCH: "mtkd.operators.frameworks:torch_vmap",
                 Framework.JAX: "mtkd.operators.frameworks:jax_vmap"}
"""Tool-side batched forms built from a single-input form (``Operator.with_adapter``), per framework."""

VMAP_NAMES = {Framework.TORCH: "torch.func.vmap", Framework.JAX: "jax.vmap"}


def torch_vmap(obj: Any, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> Any:
    """``obj`` mapped over the batch axis by ``torch.func.vmap``; its inputs become float64 tensors.

    Runs in the operator's worker (an adapter). An operator that only works on numpy arrays, or
    that leaves the tensor world (``.numpy()``, ``torch.tensor(t)`` on a batched tensor), raises
    here, and the loader then keeps the single-input form alone.
    """
    import torch
    from torch.func import vmap

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # vmap's fallbacks warn about speed, not about results
        return vmap(obj)(*(torch.from_numpy(np.array(a, dtype=np.float64)) for a in (P, T, w)))


def jax_vmap(obj: Any, P: np.ndarray, T: np.ndarray, w: np.ndarray) -> Any:
    """``obj`` mapped over the batch axis by ``jax.vmap`` (see :func:`torch_vmap`)."""
    import jax
    import jax.numpy as jnp

    return jax.vmap(obj)(*(jnp.asarray(a) for a in (P, T, w)))
