"""The Python API: typed results, assertions with plain-words messages, workers, bad options."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import mtkd
from mtkd.errors import InvalidOptionError, UnknownPropertyError


def geometric_like(P: np.ndarray, T: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Averaging logits (float64 only): not weight-monotone (axiom3)."""
    z = np.log(P) / T[:, None]
    z = z - z.max(axis=1, keepdims=True)
    log_q = w @ (z - np.log(np.exp(z).sum(axis=1, keepdims=True)))
    e = np.exp(log_q - log_q.max())
    return e / e.sum()


def test_public_api_is_small_and_listed() -> None:
    assert set(mtkd.__all__) >= {"verify", "assert_satisfies", "assert_violates", "Report", "Verdict"}
    assert all(hasattr(mtkd, name) for name in mtkd.__all__)
    assert callable(mtkd.verify) and mtkd.verify.__module__ == "mtkd.api"


def test_verify_returns_frozen_typed_results() -> None:
    report = mtkd.verify("linear", properties=["axiom1", "axiom3"], max_inputs=60)
    assert isinstance(report, mtkd.Report)
    assert [r.property for r in report.results] == ["axiom1", "axiom3"]
    assert report.result("axiom3").verdict is mtkd.Verdict.PROVED
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.result("axiom3").verdict = mtkd.Verdict.REFUTED  # type: ignore[misc]
    with pytest.raises(KeyError, match="axiom1, axiom3"):
        report.result("axiom2")


def test_assert_violates_passes_on_a_plain_function_and_returns_the_counterexample() -> None:
    cx = mtkd.assert_violates(geometric_like, "axiom3", max_inputs=1500)
    assert cx.K >= 2 and set(cx.witness) == {"k", "k2", "token"}
    assert float(cx.margin) < 0


def test_assert_satisfies_fails_with_the_counterexample_in_plain_words() -> None:
    with pytest.raises(AssertionError) as info:
        mtkd.assert_satisfies(geometric_like, "axiom3", max_inputs=1500)
    message = str(info.value)
    assert "geometric_like does not satisfy axiom3" in message
    assert "P = [[" in message and "T = [" in message and "w = [" in message
    assert "teacher k = " in message and "token i = " in message
    assert "Counterexample(" not in message and "('" not in message  # no Python reprs


def test_certified_refutation_is_shown_as_midpoint_and_radius() -> None:
    with pytest.raises(AssertionError) as info:
        mtkd.assert_satisfies("geometric", "axiom3", max_inputs=200)
    assert "certified: margin lies in -0.0851793683436" in str(info.value)
    assert " ± <" in str(info.value)


def test_assert_violates_fails_on_a_proved_property() -> None:
    with pytest.raises(AssertionError, match="linear does not violate axiom3.*verdict proved"):
        mtkd.assert_violates("linear", "axiom3", max_inputs=60)


def test_assert_violates_can_require_a_certificate(monkeypatch: pytest.MonkeyPatch) -> None:
    import mtkd.api

    cx = mtkd.Counterexample((("0.4", "0.6"), ("0.5", "0.5")), ("1", "1"), ("0.5", "0.5"),
                             {"k": 0, "k2": 1, "token": 0}, "-0.1", "float64", False, "float64 only", "fails")
    float_only = mtkd.Report("f", 0, (), (), (mtkd.Result("axiom3", mtkd.Verdict.REFUTED, counterexample=cx),))
    monkeypatch.setattr(mtkd.api, "verify", lambda *a, **k: float_only)
    assert mtkd.assert_violates("linear", "axiom3") == cx
    with pytest.raises(AssertionError, match="only by uncertified"):
        mtkd.assert_violates("linear", "axiom3", certified=True)


def test_same_verdict_and_counterexample_for_any_number_of_workers() -> None:
    one = mtkd.verify(geometric_like, "prop-IV.11", max_inputs=800, corpus=None, workers=1).result("prop-IV.11")
    two = mtkd.verify(geometric_like, "prop-IV.11", max_inputs=800, corpus=None, workers=2).result("prop-IV.11")
    assert one.verdict is two.verdict is mtkd.Verdict.REFUTED
    assert one.counterexample == two.counterexample and one.scope == two.scope


def test_bad_options_are_named_errors() -> None:
    with pytest.raises(UnknownPropertyError, match="axiom9"):
        mtkd.verify("linear", "axiom9")
    with pytest.raises(InvalidOptionError, match="seed must be an integer >= 0, got -1"):
        mtkd.verify("linear", "axiom1", seed=-1)
    with pytest.raises(InvalidOptionError, match="max_inputs"):
        mtkd.verify("linear", "axiom1", max_inputs=0)


def test_framework_option_of_the_python_api() -> None:
    with pytest.raises(InvalidOptionError, match="framework must be one of auto, numpy, torch, jax, got 'tf'"):
        mtkd.verify("linear", "axiom1", framework="tf")
    pytest.importorskip("torch", reason="torch is an optional extra (pip install 'mtkd-verify[torch]')")
    spec = f"{Path(__file__).parents[1] / 'zoo_torch.py'}:torch_linear_as_tensor"
    report = mtkd.verify(spec, "axiom1", framework="numpy", engine="search", max_inputs=50, corpus=None)
    assert not any(c.startswith("batched") for c in report.capabilities)  # numpy: no vmap form built
