"""Operators in numpy (any float precision), PyTorch and JAX: outputs read (in the worker) with their precision."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mtkd.counterexamples.generators import generate
from mtkd.operators import load_operator, wrap_callable
from mtkd.operators.frameworks import Framework, OutputConversionError, convert_output

ZOO_TORCH = Path(__file__).parents[1] / "zoo_torch.py"


@pytest.mark.parametrize("dtype,name", [(np.float16, "float16"), (np.float32, "float32"), (np.float64, "float64")])
def test_numpy_precisions_are_recorded(dtype: type, name: str) -> None:
    r = convert_output(np.array([0.25, 0.75], dtype=dtype))
    assert r.dtype == name and r.values.dtype == np.float64 and r.framework is Framework.NUMPY
    assert r.eps == float(np.finfo(dtype).eps)


def test_unreadable_outputs_raise_a_named_error() -> None:
    class Bad:
        def __array__(self, *args: object, **kwargs: object) -> np.ndarray:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad")

    with pytest.raises(OutputConversionError, match="not an array of numbers .converting it raised RuntimeError"):
        convert_output(Bad())
    with pytest.raises(OutputConversionError, match="complex"):
        convert_output(np.array([1 + 1j, 0.5]))


def test_float32_operator_tolerances_follow_its_precision() -> None:
    op = wrap_callable(lambda P, T, w: (w @ P).astype(np.float32), "f32", derive=False)
    op.evaluate(np.full((1, 2, 3), 1 / 3), np.ones((1, 2)), np.full((1, 2), 0.5))
    assert op.dtype == "float32" and op.eps == 2.0 ** -23


def test_torch_grad_tensors_and_bfloat16_are_read_in_the_worker() -> None:
    torch = pytest.importorskip("torch", reason="torch is an optional extra (pip install 'mtkd-verify[torch]')")
    t = torch.tensor([0.25, 0.75], requires_grad=True) * 1.0
    r = convert_output(t)
    assert r.framework is Framework.TORCH and r.dtype == "float32" and r.values.tolist() == [0.25, 0.75]
    assert convert_output(torch.tensor([0.5, 0.5], dtype=torch.bfloat16)).dtype == "bfloat16"
    op = load_operator(f"{ZOO_TORCH}:torch_linear")
    assert op.sandboxed  # the grad-tracking float32 tensor is converted in the worker; its dtype comes back
    q = op.evaluate(np.array([[[0.2, 0.8], [0.6, 0.4]]]), np.ones((1, 2)), np.array([[0.5, 0.5]]))
    assert np.allclose(q, [[0.4, 0.6]], atol=1e-6) and op.dtype == "float32" and op.eps == 2.0 ** -23


def test_torch_operator_with_two_workers_runs_to_completion() -> None:
    pytest.importorskip("torch", reason="torch is an optional extra (pip install 'mtkd-verify[torch]')")
    mtkd = str(Path(sys.executable).with_name("mtkd"))
    proc = subprocess.run([mtkd, "verify", f"{ZOO_TORCH}:torch_linear", "-p", "axiom1",
                           "-p", "axiom3", "--workers", "2", "--max-inputs", "300", "--format", "json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    report = json.loads(proc.stdout)
    # A float32 linear pool satisfies both: float32 round-off must not be taken for a violation.
    assert [r["verdict"] for r in report["results"]] == ["not-refuted", "not-refuted"]


def test_jax_operator() -> None:
    jnp = pytest.importorskip("jax.numpy", reason="jax is an optional extra (pip install 'mtkd-verify[jax]')")
    r = convert_output(jnp.asarray([0.25, 0.75]))
    assert r.framework is Framework.JAX and r.values.tolist() == [0.25, 0.75]


def test_torch_single_input_form_gets_a_checked_vmap_batched_form() -> None:
    pytest.importorskip("torch", reason="torch is an optional extra (pip install 'mtkd-verify[torch]')")
    op = load_operator(f"{ZOO_TORCH}:torch_linear_as_tensor")
    assert op.capabilities[1].startswith("batched (torch.func.vmap of the single-input form")
    x = generate(np.random.default_rng(0), 5, 3, 4)
    assert np.allclose(op.evaluate(x.P, x.T, x.w), np.einsum("nk,nkv->nv", x.w, x.Q()), atol=1e-12)
    # torch.tensor(t) cannot run under vmap: the single-input form stays alone, and the report says why.
    copying = load_operator(f"{ZOO_TORCH}:torch_linear")
    assert copying.batched_func is None
    assert any("torch.func.vmap of the single-input form was tried and not used" in n for n in copying.limitations())
    # --framework numpy: never built.
    assert load_operator(f"{ZOO_TORCH}:torch_linear_as_tensor", framework="numpy").batched_func is None


def test_vmap_form_that_disagrees_with_the_single_form_is_not_used() -> None:
    pytest.importorskip("torch", reason="torch is an optional extra (pip install 'mtkd-verify[torch]')")
    op = load_operator(f"{ZOO_TORCH}:torch_path_under_vmap")
    assert op.batched_func is None
    assert any("disagrees with op(P, T, w)" in n for n in op.limitations())


def test_jax_single_input_form_gets_a_vmap_batched_form(tmp_path: Path) -> None:
    pytest.importorskip("jax", reason="jax is an optional extra (pip install 'mtkd-verify[jax]')")
    src = tmp_path / "jax_ops.py"
    src.write_text("import jax, jax.numpy as jnp\n"
                   "def pool(P, T, w):\n"
                   "    Q = jax.nn.softmax(jnp.log(P) / T[:, None], axis=-1)\n"
                   "    return (w[:, None] * Q).sum(0)\n")
    op = load_operator(f"{src}:pool")
    assert op.capabilities[1].startswith("batched (jax.vmap of the single-input form")
    # JAX arrays cannot hold exact numbers: no derived form, and the limitation says what to do.
    assert op.precise_func is None and "JAX code cannot run on the exact numbers" in op.derive_failure
    assert "give the operator a precise form" in " ".join(op.limitations())
