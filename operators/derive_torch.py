"""PyTorch code on ctx numbers: a tensor stand-in for :mod:`mtkd.operators.derive`.

torch tensors cannot hold Python objects, so while a derived precise form runs,
``torch.as_tensor`` / ``torch.tensor`` / ``torch.from_numpy`` / ``torch.asarray`` given a
:class:`~mtkd.operators.derive.CtxArray` return a :class:`TorchProxy` instead; the proxy answers
torch functions through ``__torch_function__`` and tensor methods directly, computing with the
numpy object array underneath (``dim`` -> ``axis``, ``keepdim`` -> ``keepdims``). Only the
operations pooling code uses are covered; anything else blocks the derivation with its name.
When torch is not installed nothing is patched.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Iterator

import numpy as np


def _a(x: Any) -> Any:
    return x.a if isinstance(x, TorchProxy) else x


def _wrap(x: Any) -> Any:
    from .derive import CtxArray

    if isinstance(x, CtxArray):
        return TorchProxy(x)
    if isinstance(x, tuple):  # _MaxResult stays one: the code reads its ``.values``
        return type(x)(_wrap(v) for v in x)
    return x


def _axis(kwargs: dict[str, Any], args: tuple = ()) -> dict[str, Any]:
    dim = kwargs.pop("dim", args[0] if args else None)
    keep = kwargs.pop("keepdim", args[1] if len(args) > 1 else False)
    kwargs.pop("dtype", None)
    return {"axis": tuple(dim) if isinstance(dim, list) else dim, "keepdims": keep}


def _softmax(x: Any, dim: Any = None, **kw: Any) -> Any:
    z = x - np.max(x, axis=dim, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=dim, keepdims=True)


def _logsumexp(x: Any, dim: Any, keepdim: bool = False) -> Any:
    m = np.max(x, axis=dim, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=dim, keepdims=True))
    return out if keepdim else np.squeeze(out, axis=dim)


class _MaxResult(tuple):
    """``torch.max(x, dim)`` returns (values, indices); indices are data-dependent and not traced."""

    @property
    def values(self) -> Any:
        return self[0]

    @property
    def indices(self) -> Any:
        from .derive import DerivationBlocked

        raise DerivationBlocked("torch.max(...).indices (argmax is data-dependent control flow)")


def _reduce_max(x: Any, *args: Any, **kwargs: Any) -> Any:
    if not args and "dim" not in kwargs:
        return np.max(x)
    ax = _axis(kwargs, args)
    return _MaxResult((np.max(x, **ax), None))


FUNCS: dict[str, Any] = {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "log1p": np.log1p, "expm1": np.expm1,
    "add": np.add, "sub": np.subtract, "subtract": np.subtract, "mul": np.multiply, "multiply": np.multiply,
    "div": np.divide, "divide": np.divide, "true_divide": np.divide, "neg": np.negative, "pow": np.power,
    "matmul": np.matmul, "mm": np.matmul, "mv": np.matmul, "bmm": np.matmul, "dot": np.dot,
    "einsum": lambda eq, *ops: np.einsum(eq, *(ops[0] if len(ops) == 1 and isinstance(ops[0], (list, tuple)) else ops)),
    "softmax": lambda x, dim=None, *a, **k: _softmax(x, dim),
    "log_softmax": lambda x, dim=None, *a, **k: np.log(_softmax(x, dim)),
    "logsumexp": lambda x, dim, keepdim=False: _logsumexp(x, dim, keepdim),
    "sum": lambda x, *a, **k: np.sum(x, **_axis(k, a)),
    "mean": lambda x, *a, **k: np.mean(x, **_axis(k, a)),
    "amax": lambda x, *a, **k: np.max(x, **_axis(k, a)),
    "max": _reduce_max,
    "maximum": np.maximum, "minimum": np.minimum,
    "where": np.where, "stack": lambda xs, dim=0: np.stack(xs, axis=dim),
    "cat": lambda xs, dim=0: np.concatenate(xs, axis=dim),
    "unsqueeze": lambda x, dim: np.expand_dims(x, dim), "squeeze": lambda x, dim=None: np.squeeze(x, dim),
    "transpose": lambda x, d0, d1: np.swapaxes(x, d0, d1), "t": lambda x: x.T,
    "reshape": lambda x, *shape: np.reshape(x, shape[0] if len(shape) == 1 else shape),
    "square": np.square, "reciprocal": lambda x: 1 / x,
}


def _impl(name: str, owner: str) -> Any:
    impl = FUNCS.get(name)
    if impl is None:
        from .derive import DerivationBlocked

        raise DerivationBlocked(f"{owner}.{name} on ctx numbers (not supported by the derived form)")
    return impl


def _apply(impl: Any, args: tuple, kwargs: dict | None) -> Any:
    """``impl`` on the numpy object arrays under any proxies in ``args``, its result re-wrapped."""
    args = tuple([_a(v) for v in x] if isinstance(x, (list, tuple)) else _a(x) for x in args)
    return _wrap(impl(*args, **{k: _a(v) for k, v in (kwargs or {}).items()}))


class TorchProxy:
    """A stand-in for a torch tensor of ctx numbers (see the module doc)."""

    __array_priority__ = 200

    def __init__(self, a: Any) -> None:
        self.a = a

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        # torch names a tensor method's dispatch after the method (``Tensor.sum`` -> "sum"); a few
        # carry a private prefix (``Tensor.max`` -> "_reduce_max").
        name = getattr(func, "__name__", str(func)).strip("_").removeprefix("reduce_")
        return _apply(_impl(name, "torch"), args, kwargs)

    def __getattr__(self, name: str) -> Any:
        impl = _impl(name, "tensor")
        return lambda *args, **kwargs: _apply(impl, (self, *args), kwargs)

    # tensor conveniences that do not compute
    def detach(self) -> "TorchProxy": return self
    def cpu(self) -> "TorchProxy": return self
    def double(self) -> "TorchProxy": return self
    def float(self) -> "TorchProxy": return self
    def half(self) -> "TorchProxy": return self
    def clone(self) -> "TorchProxy": return self
    def requires_grad_(self, *args: Any, **kwargs: Any) -> "TorchProxy": return self
    def bfloat16(self) -> "TorchProxy": return self
    def to(self, *args: Any, **kwargs: Any) -> "TorchProxy": return self
    def contiguous(self) -> "TorchProxy": return self
    def numpy(self) -> Any: return self.a
    def dim(self) -> int: return self.a.ndim
    def size(self, d: int | None = None) -> Any: return self.a.shape if d is None else self.a.shape[d]
    def view(self, *shape: Any) -> "TorchProxy": return TorchProxy(self.a.reshape(*shape))
    @property
    def shape(self) -> tuple[int, ...]: return self.a.shape
    @property
    def T(self) -> "TorchProxy": return TorchProxy(self.a.T)
    def __len__(self) -> int: return len(self.a)
    def __getitem__(self, idx: Any) -> Any: return _wrap(self.a[_a(idx)])
    def __iter__(self) -> Iterator[Any]: return (_wrap(self.a[i]) for i in range(len(self.a)))

    def _op(self, fn: Any, o: Any, right: bool = False) -> Any:
        return _wrap(fn(_a(o), self.a) if right else fn(self.a, _a(o)))

    def __add__(self, o: Any) -> Any: return self._op(np.add, o)
    def __radd__(self, o: Any) -> Any: return self._op(np.add, o, True)
    def __sub__(self, o: Any) -> Any: return self._op(np.subtract, o)
    def __rsub__(self, o: Any) -> Any: return self._op(np.subtract, o, True)
    def __mul__(self, o: Any) -> Any: return self._op(np.multiply, o)
    def __rmul__(self, o: Any) -> Any: return self._op(np.multiply, o, True)
    def __truediv__(self, o: Any) -> Any: return self._op(np.divide, o)
    def __rtruediv__(self, o: Any) -> Any: return self._op(np.divide, o, True)
    def __pow__(self, o: Any) -> Any: return self._op(np.power, o)
    def __rpow__(self, o: Any) -> Any: return self._op(np.power, o, True)
    def __matmul__(self, o: Any) -> Any: return self._op(np.matmul, o)
    def __rmatmul__(self, o: Any) -> Any: return self._op(np.matmul, o, True)
    def __neg__(self) -> Any: return TorchProxy(-self.a)
    def __gt__(self, o: Any) -> Any: return self._op(np.greater, o)
    def __ge__(self, o: Any) -> Any: return self._op(np.greater_equal, o)
    def __lt__(self, o: Any) -> Any: return self._op(np.less, o)
    def __le__(self, o: Any) -> Any: return self._op(np.less_equal, o)


def unwrap(out: Any) -> Any:
    """A proxy's object array (anything else unchanged), for reading a derived form's output."""
    if isinstance(out, TorchProxy):
        return out.a
    if isinstance(out, (list, tuple)):
        return [unwrap(x) for x in out]
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(out, torch.Tensor):
        # Keep the dtype: the agreement check's tolerance is the float result's own precision.
        # numpy has no bfloat16; float32 then understates its error, which can only reject a form.
        out = out.detach().cpu()
        return (out.float() if out.dtype == torch.bfloat16 else out).numpy()
    return out


_CONSTRUCTORS = ("as_tensor", "tensor", "from_numpy", "asarray")


@contextlib.contextmanager
def torch_inputs() -> Iterator[None]:
    """While active, torch's tensor constructors turn ctx arrays into :class:`TorchProxy`.

    Only patches a torch the process has already imported (the operator's module imports it).
    """
    from .derive import CtxArray

    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    saved = {name: getattr(torch, name) for name in _CONSTRUCTORS}

    def make(orig: Any) -> Any:
        def build(data: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(data, (CtxArray, TorchProxy)):
                return data if isinstance(data, TorchProxy) else TorchProxy(data)
            return orig(data, *args, **kwargs)
        return build
    try:
        for name, orig in saved.items():
            setattr(torch, name, make(orig))
        yield
    finally:
        for name, orig in saved.items():
            setattr(torch, name, orig)
