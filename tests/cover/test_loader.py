"""The loader: the three spec forms, what it detects, and a one-paragraph error for each mistake."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mtkd.errors import OperatorLoadError
from mtkd.operators import load_operator, wrap_callable

P = np.array([[0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
T = np.array([1.0, 2.0])
W = np.array([0.25, 0.75])


def _linear(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    Q = P ** (1 / T[:, None])
    return w @ (Q / Q.sum(axis=1, keepdims=True))


def test_builtin_spec_with_parameters() -> None:
    op = load_operator("power:alpha=0.5")
    assert op.spec == "power:alpha=0.5"
    assert op.algebraic == ("power", {"alpha": 0.5})
    assert op.capabilities == ("single", "batched", "precise", "symbolic")
    assert op.limitations() == []
    # The parameter reaches the formula: alpha = 0.5 differs from the default alpha = 2.
    default = load_operator("power")
    assert default.algebraic == ("power", {"alpha": 2.0})
    Q = P ** (1 / T[:, None])
    Q /= Q.sum(axis=1, keepdims=True)
    half = (W @ np.sqrt(Q)) ** 2
    assert np.allclose(op.func(P, T, W), half / half.sum(), rtol=1e-12)
    assert not np.allclose(default.func(P, T, W), op.func(P, T, W))
    assert load_operator("entropic:beta=0.25").algebraic == ("entropic", {"beta": 0.25})


def test_builtin_time_limit_is_passed_on() -> None:
    assert load_operator("linear", time_limit=0.7).time_limit == 0.7


def test_module_attribute_spec(user_ops: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = user_ops.parent / "userpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "pools.py").write_text(user_ops.read_text())
    monkeypatch.syspath_prepend(str(user_ops.parent))
    op = load_operator("userpkg.pools:good")
    assert op.spec == "userpkg.pools:good"
    # No precise form written: one is derived from the numpy code (it agrees with the float form).
    assert op.capabilities == ("single", "precise (derived from the code)")
    assert op.algebraic is None
    assert len(op.limitations()) == 3
    assert np.allclose(op.func(P, T, W), _linear(P, T, W), rtol=1e-12)


def test_file_attribute_spec(user_ops: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    op = load_operator(f"{user_ops}:good")
    assert op.capabilities == ("single", "precise (derived from the code)")
    assert np.allclose(op.evaluate(P[None], T[None], W[None])[0], _linear(P, T, W), rtol=1e-12)
    monkeypatch.chdir(user_ops.parent)
    assert np.allclose(load_operator("user_ops.py:good").func(P, T, W), _linear(P, T, W), rtol=1e-12)


def test_wrap_callable_detects_optional_forms() -> None:
    class Both:
        def __call__(self, P, T, w):
            return _linear(P, T, w)

        def batched(self, P, T, w):
            return np.stack([_linear(*x) for x in zip(P, T, w)])

        precise = None  # present but not callable: not a precise form

    op = wrap_callable(Both(), "both")
    assert op.capabilities == ("single", "batched")
    assert op.precise_func is None
    assert any("no precise form" in note for note in op.limitations())


def _error(spec: str) -> str:
    with pytest.raises(OperatorLoadError) as info:
        load_operator(spec)
    message = str(info.value)
    assert "\n\n" not in message and "Traceback" not in message
    assert info.value.exit_code == 2
    return message


def test_unknown_operator_names_the_builtins() -> None:
    message = _error("nonsense")
    for name in ("linear", "geometric", "power", "entropic", "max", "mtkd list"):
        assert name in message


def test_missing_attribute_lists_what_the_module_defines(user_ops: Path) -> None:
    message = _error(f"{user_ops}:nope")
    assert "'nope'" in message
    assert "good" in message and "returns_nan" in message


def test_not_callable_class_and_bad_signature(user_ops: Path) -> None:
    assert "not callable" in _error(f"{user_ops}:NOT_CALLABLE")
    assert "is a class" in _error(f"{user_ops}:NotAnInstance")
    message = _error(f"{user_ops}:two_args")
    assert "op(P, T, w)" in message and "(P, T)" in message


def test_import_errors(user_ops: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = user_ops.parent / "broken_ops.py"
    message = _error(f"{broken}:f")
    assert "ImportError" in message and "broken on purpose" in message
    monkeypatch.syspath_prepend(str(user_ops.parent))
    assert "broken on purpose" in _error("broken_ops:f")
    message = _error("no_such_module_mtkd_test:f")
    assert "ModuleNotFoundError" in message
    assert "does not exist" in _error(str(user_ops.parent / "missing.py") + ":f")


@pytest.mark.parametrize("spec,fragment", [
    ("power:alpha=x", "is not a number"),
    ("power:gamma=1", "alpha"),
    ("power:alpha", "not a parameter"),
    ("entropic:beta=-2", "beta > -1"),
    ("entropic:beta=-1", "beta > -1"),
    ("power:alpha=nan", "finite"),
    ("power:alpha=inf", "finite"),
    ("linear:alpha=1", "none"),
])
def test_bad_parameters(spec: str, fragment: str) -> None:
    assert fragment in _error(spec)


_CALL_LOGGING = '''
import numpy as np

def _log(form):
    with open({log!r}, "a") as f:
        f.write(form + "\\n")

def op(P, T, w):
    _log("func")
    Q = P ** (1 / T[:, None])
    return w @ (Q / Q.sum(axis=1, keepdims=True))

def _batched(P, T, w):
    _log("batched")
    Q = P ** (1 / T[..., None])
    return np.einsum("nk,nkv->nv", w, Q / Q.sum(axis=-1, keepdims=True))

op.batched = _batched
{precise}
'''


@pytest.mark.parametrize("has_precise", [True, False])
def test_loading_calls_the_operator_only_when_something_needs_it(tmp_path: Path, has_precise: bool) -> None:
    # With a batched and a precise form nothing at load needs a call; without a precise form, deriving
    # one does (a plain call first, so that a hanging operator is not given the derivation's whole limit).
    log = tmp_path / "calls.log"
    precise = "op.precise = lambda P, T, w, ctx: [ctx.num(0.5), ctx.num(0.5)]" if has_precise else ""
    (tmp_path / "logged.py").write_text(_CALL_LOGGING.format(log=str(log), precise=precise))
    op = load_operator(f"{tmp_path / 'logged.py'}:op")
    assert op.batched_func is not None
    calls = log.read_text().split() if log.exists() else []
    assert ("func" in calls) is not has_precise
    assert op.func.sandbox.loaded is not None  # loaded in its worker all the same
    op.func.sandbox.stop()


@pytest.mark.parametrize("preset", [None, "3"])
def test_worker_computes_in_one_thread_unless_the_user_chose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             preset: str | None) -> None:
    # torch's intra-op threads spin on a loaded machine: 2 ms of CPU per small call instead of 39 us.
    if preset is None:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("OMP_NUM_THREADS", preset)
    (tmp_path / "threads.py").write_text(
        "import os\nimport numpy as np\n\ndef op(P, T, w):\n"
        "    return np.full(P.shape[1], float(os.environ['OMP_NUM_THREADS']))\n")
    op = load_operator(f"{tmp_path / 'threads.py'}:op", framework="numpy")
    got = op.func.sandbox.call("func", (P, T, W), limit=30).values
    assert got[0] == float(preset or 1)
    op.func.sandbox.stop()
