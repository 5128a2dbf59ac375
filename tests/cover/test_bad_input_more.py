"""More bad input: misbehaving operators, out-of-range options, hostile corpus files, SMT witnesses.

Each test here failed before its fix (see the reviewer's repros in the commit message).
"""

from __future__ import annotations

import contextlib
import json
import signal
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mtkd.cli import main
from mtkd.counterexamples import SearchConfig, check_exact, search_property
from mtkd.counterexamples.certify import Rejection
from mtkd.counterexamples.corpus import entries_for, load_entry, replay, save
from mtkd.errors import CorruptCounterexampleError, OperatorFailure
from mtkd.operators import load_operator, wrap_callable
from mtkd.operators.protocol import describe_input
from mtkd.operators.temperature import tau
from mtkd.results import Verdict
from mtkd.theorems import ExactPoint, get_property
from mtkd.theorems.property import Batch
from mtkd.theorems.smt import make_encoder, smt_check


@contextlib.contextmanager
def _must_not_hang(seconds: int):
    """Fail (not hang) if the block runs past ``seconds``: a hang guard far above any honest run on a
    loaded machine, never a speed assertion."""
    def _fail(signum, frame):
        pytest.fail(f"still running after {seconds} s: hung")

    previous = signal.signal(signal.SIGALRM, _fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)

P1 = np.array([[[0.25, 0.75], [0.5, 0.5]]])
T1 = np.ones((1, 2))
W1 = np.array([[0.5, 0.5]])


def _lin(P, T, w):
    return w @ tau(P, T)


# ------------------------------------------------------------------ 1. complex output


def test_complex_output_is_an_operator_failure_without_a_warning() -> None:
    def cplx2(P, T, w):
        return _lin(P, T, w) + 1e-3j

    op = wrap_callable(cplx2, "cplx2")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a ComplexWarning would raise here instead of the failure
        with pytest.raises(OperatorFailure, match="complex numbers"):
            op.evaluate(P1, T1, W1)


def test_complex_list_output_is_an_operator_failure() -> None:
    op = wrap_callable(lambda P, T, w: [complex(x, 1) for x in _lin(P, T, w)], "cl")
    with pytest.raises(OperatorFailure, match="complex numbers"):
        op.evaluate(P1, T1, W1)


# ------------------------------------------------------------------ 2. SystemExit


def test_system_exit_in_the_operator_is_an_operator_failure() -> None:
    def exits(P, T, w):
        raise SystemExit(3)

    with pytest.raises(OperatorFailure, match="SystemExit"):
        wrap_callable(exits, "exits").evaluate(P1, T1, W1)


def test_system_exit_in_the_batched_form_is_an_operator_failure() -> None:
    class Op:
        def __call__(self, P, T, w):
            return _lin(P, T, w)

        def batched(self, P, T, w):
            raise SystemExit(3)

    with pytest.raises(OperatorFailure, match="SystemExit"):
        wrap_callable(Op(), "op").evaluate(P1, T1, W1)


def test_system_exit_in_the_precise_form_is_an_operator_failure() -> None:
    class Op:
        def __call__(self, P, T, w):
            return _lin(P, T, w)

        def precise(self, P, T, w, ctx):
            raise SystemExit(3)

    from mtkd.operators.precision import HighPrecision

    with pytest.raises(OperatorFailure, match="SystemExit"):
        wrap_callable(Op(), "op").evaluate_precise([[Fraction(1, 2)] * 2], [Fraction(1)], [Fraction(1)],
                                                   HighPrecision(30))


def test_verify_reports_system_exit_as_an_error_verdict(tmp_path: Path) -> None:
    (tmp_path / "ops.py").write_text("def exits(P, T, w):\n    raise SystemExit(3)\n")
    result = CliRunner().invoke(main, ["verify", str(tmp_path / "ops.py") + ":exits", "-p", "axiom1",
                                       "--engine", "search", "--no-corpus", "--budget", "120", "--format", "json",
                                       "--workers", "1"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["results"][0]["verdict"] == "error"
    assert "SystemExit" in data["results"][0]["message"]


# ------------------------------------------------------------------ 3. option ranges


@pytest.mark.parametrize("args,fragment", [
    (["verify", "linear", "--seed", "-1"], "--seed"),
    (["search", "linear", "axiom1", "--seed", "-1"], "--seed"),
    (["report", "--seed", "-5"], "--seed"),
    (["verify", "linear", "--budget", "nan"], "valid range 0 < x <= 1e+06"),
    (["verify", "linear", "--budget", "inf"], "valid range 0 < x <= 1e+06"),
    (["verify", "linear", "--call-timeout", "nan"], "valid range 0 < x <= 1e+06"),
    (["search", "linear", "axiom1", "--call-timeout", "inf"], "valid range 0 < x <= 1e+06"),
    (["search", "linear", "axiom1", "--budget", "-inf"], "valid range 0 < x <= 1e+06"),
    (["report", "--budget", "nan"], "valid range 0 < x <= 1e+06"),
    (["verify", "linear", "--budget", "0"], "valid range 0 < x <= 1e+06"),
    (["verify", "linear", "--budget", "soon"], "valid range 0 < x <= 1e+06"),
])
def test_out_of_range_options_are_usage_errors(args: list[str], fragment: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert fragment in " ".join(result.output.split())
    assert "Traceback" not in result.output


# ------------------------------------------------------------------ 4. huge SMT exponents


@pytest.mark.parametrize("name,params", [
    ("power", {"alpha": 1e300}), ("power", {"alpha": 65}), ("power", {"alpha": Fraction(1, 65)}),
    ("entropic", {"beta": 1e300}), ("geometric", {"weights": "1/1000000007,1000000006/1000000007"}),
])
def test_huge_exponents_get_no_smt_encoding(name: str, params: dict) -> None:
    with _must_not_hang(120):
        assert make_encoder(name, params) is None
        assert smt_check(name, params, "axiom1", max_k=2, max_v=2) is None


def test_moderate_exponents_keep_their_encoding() -> None:
    assert make_encoder("power", {"alpha": 64}) is not None
    assert make_encoder("power", {"alpha": Fraction(1, 64)}) is not None


# ------------------------------------------------------------------ 5. hostile corpus files


def _entry(tmp_path: Path, name: str = "x.json", **changes) -> Path:
    data = {"format": 1, "operator": "linear", "property": "axiom1", "P": [["0.5", "0.5"]], "T": ["1"],
            "w": ["1"], "witness": {"token": 0}, "margin": "-1", "precision": "", "certified": True,
            "certificate": "", "explanation": ""}
    data.update(changes)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("number", ["1e999999999", "1e-999999999", "1E+99999999999999999999", "1" * 6000,
                                    "1e4001"])
def test_enormous_numbers_are_rejected_before_fraction(tmp_path: Path, number: str) -> None:
    path = _entry(tmp_path, P=[[number, "0.5"]])
    with _must_not_hang(120):
        with pytest.raises(CorruptCounterexampleError, match="field 'P'"):
            replay(path)
        assert entries_for("linear", tmp_path) == []  # what 'mtkd verify' reads: skipped, not hung


def test_replay_cli_on_an_enormous_exponent_exits_2(tmp_path: Path) -> None:
    path = _entry(tmp_path, P=[["1e999999999", "0.5"]])
    result = CliRunner().invoke(main, ["replay", str(path)])
    assert result.exit_code == 2
    assert "field 'P'" in " ".join(result.output.split())


@pytest.mark.parametrize("prop,witness,P,T,w,field", [
    ("axiom1", {"token": 7}, [["0.5", "0.5"]], ["1"], ["1"], "witness.token"),
    ("axiom1", {"token": "0"}, [["0.5", "0.5"]], ["1"], ["1"], "witness.token"),
    ("axiom1", {}, [["0.5", "0.5"]], ["1"], ["1"], "witness.token"),
    ("axiom1-hull", {"direction": ["1", "0", "0"]}, [["0.5", "0.5"]], ["1"], ["1"], "witness.direction"),
    ("axiom1-hull", {"hull": "x", "y": ["1", "0"]}, [["0.5", "0.5"]], ["1"], ["1"], "witness.direction"),
    ("axiom3", {"k": 0, "token": 0}, [["0.5", "0.5"], ["0.25", "0.75"]], ["1", "1"], ["0.5", "0.5"],
     "witness.k2"),
    ("axiom3", {"k": 0, "k2": 2, "token": 0}, [["0.5", "0.5"], ["0.25", "0.75"]], ["1", "1"], ["0.5", "0.5"],
     "witness.k2"),
    ("axiom5", {"k": 0, "token": 0}, [["0.5", "0.5"]], ["1"], ["1"], "witness.part"),
    ("axiom5", {"part": "a", "k": 0}, [["0.5", "0.5"]], ["1"], ["1"], "witness.token"),
    ("cor-IV.12", {"k": 1, "token": 0}, [["0.5", "0.5"]], ["1"], ["1"], "witness.k"),
    ("thm-IV.7", {"s": ["1"]}, [["0.5", "0.5"]], ["1"], ["1"], "witness.s"),
    ("assumption-L", {"token": 0, "lam": "1/2", "w2": ["1", "0"]}, [["0.5", "0.5"]], ["1"], ["1"],
     "witness.w2"),
    ("axiom4", {"P_rate": [["1", "1"]], "T_rate": ["1"], "w_rate": []}, [["0.5", "0.5"]], ["1"], ["1"],
     "witness.w_rate"),
])
def test_witness_that_does_not_fit_the_point_is_corrupt(tmp_path: Path, prop, witness, P, T, w, field) -> None:
    path = _entry(tmp_path, property=prop, witness=witness, P=P, T=T, w=w)
    with pytest.raises(CorruptCounterexampleError) as info:
        replay(path)
    message = " ".join(str(info.value).split())
    assert f"field '{field}'" in message
    assert message.count("Counterexample file") == 1


def test_replay_cli_names_the_witness_field(tmp_path: Path) -> None:
    path = _entry(tmp_path, witness={"token": 7})
    result = CliRunner().invoke(main, ["replay", str(path)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "field 'witness.token'" in text and "no longer certified" not in text


def test_empty_rows_are_corrupt(tmp_path: Path) -> None:
    with pytest.raises(CorruptCounterexampleError, match="non-empty rows"):
        load_entry(_entry(tmp_path, P=[[]], witness={"token": 0}))


# ------------------------------------------------------------------ 6. SMT witnesses replay


SMT_REFUTATIONS = [
    ("max", "max", {}, "axiom1-hull"), ("max", "max", {}, "axiom3"), ("max", "max", {}, "def-IV.1"),
    ("max", "max", {}, "cor-IV.12"), ("max", "max", {}, "axiom5"),
    ("geometric", "geometric", {}, "axiom1-hull"), ("geometric", "geometric", {}, "assumption-L"),
    ("geometric", "geometric", {}, "def-IV.1"), ("geometric", "geometric", {}, "prop-IV.11"),
    ("geometric", "geometric", {}, "cor-IV.12"),
    ("power:alpha=2", "power", {"alpha": 2}, "axiom1-hull"), ("power:alpha=2", "power", {"alpha": 2}, "axiom3"),
    ("power:alpha=2", "power", {"alpha": 2}, "assumption-L"), ("power:alpha=2", "power", {"alpha": 2}, "cor-IV.12"),
]


@pytest.mark.parametrize("spec,name,params,pid", SMT_REFUTATIONS)
def test_smt_counterexamples_replay_as_standing(tmp_path: Path, spec, name, params, pid) -> None:
    r = smt_check(name, params, pid, max_k=3, max_v=3)
    assert r is not None and r.verdict is Verdict.REFUTED and r.certified, r
    cx = r.counterexample
    op, prop = load_operator(spec), get_property(pid)
    outcome = check_exact(op, prop, ExactPoint.from_strings(cx.P, cx.T, cx.w), cx.witness)
    assert outcome.counterexample is not None and outcome.counterexample.certified, outcome.reason
    got = replay(save(op, prop, cx, 0, tmp_path))
    assert got.stands, got.message


# ------------------------------------------------------------------ 7. read-only inputs


def test_operator_that_mutates_its_input_is_an_error_and_the_input_survives() -> None:
    def mutates(P, T, w):
        P[:] = 0.5
        return w @ P

    P = P1.copy()
    with pytest.raises(OperatorFailure, match="tried to modify its input"):
        wrap_callable(mutates, "mutates").evaluate(P, T1, W1)
    np.testing.assert_array_equal(P, P1)


def test_batched_operator_that_mutates_its_input_is_an_error() -> None:
    class Op:
        def __call__(self, P, T, w):
            return _lin(P, T, w)

        def batched(self, P, T, w):
            w *= 2
            return np.einsum("nk,nkv->nv", w, tau(P, T))

    W = W1.copy()
    with pytest.raises(OperatorFailure, match="tried to modify its input"):
        wrap_callable(Op(), "op").evaluate(P1, T1, W)
    np.testing.assert_array_equal(W, W1)


# ------------------------------------------------------------------ 8. one-line messages


def test_failure_messages_describe_multi_row_inputs_on_one_line() -> None:
    P = np.full((4, 30), 1 / 30)
    assert "\n" not in describe_input(P, np.ones(4), np.full(4, 0.25))

    def raises(P, T, w):
        raise RuntimeError("boom")

    with pytest.raises(OperatorFailure) as info:
        wrap_callable(raises, "raises").evaluate(P[None], np.ones((1, 4)), np.full((1, 4), 0.25))
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------ 9. batch time limit


def test_batched_time_limit_scales_with_the_batch_elements() -> None:
    op = wrap_callable(_lin, "user-linear", time_limit=5.0)
    small, huge = op.batch_limit(64, 2, 10), op.batch_limit(64, 64, 100_000)
    assert small < 5.2
    assert huge > 5.0 + 64 * 64 * 100_000 * 5e-8  # room for a few passes over 4e8 teacher entries
    assert op.precise_limit(2, 10) < 5.1 and op.precise_limit(3, 100_000) > 5.0 + 3 * 100_000 * 1e-3
    # Built-ins are the suite's own code: no limit, so a busy machine cannot turn them into `error`.
    builtin = load_operator("linear", time_limit=5.0)
    assert builtin.trusted and builtin.batch_limit(64, 64, 100_000) == 0.0 and builtin.precise_limit(3, 10**5) == 0.0


def test_batched_timeout_message_says_the_limit_covers_the_batch() -> None:
    class Op:
        def __call__(self, P, T, w):
            return _lin(P, T, w)

        def batched(self, P, T, w):
            while True:
                pass

    op = wrap_callable(Op(), "slow", time_limit=0.2)
    with pytest.raises(OperatorFailure, match="whole batch of 1 inputs"):
        op.evaluate(P1, T1, W1)


# ------------------------------------------------------------------ 10. what rejected the candidates


class _Shifted:
    """Linear in float64 but 1e-11 off at token 0 (a round-off-sized negative q(0)); exact precise form."""

    def __call__(self, P, T, w):
        q = w @ tau(P, T)
        q[0] -= 1e-11
        q[1] += 1e-11
        return q

    def precise(self, P, T, w, ctx):
        from mtkd.operators.temperature import tau_precise

        Q = [tau_precise(row, t, ctx) for row, t in zip(P, T)]
        return [sum((wk * row[i] for wk, row in zip(w, Q)), ctx.num(0)) for i in range(len(P[0]))]


def test_not_refuted_message_names_what_rejected_the_candidates() -> None:
    op = wrap_callable(_Shifted(), "shifted")

    def batches(rng: np.random.Generator) -> Batch:
        N = 8
        P = np.empty((N, 1, 2))
        P[:, 0, 0] = 1e-13
        P[:, 0, 1] = 1 - 1e-13
        return Batch(P, np.ones((N, 1)), np.ones((N, 1)), "tiny")

    config = SearchConfig(seed=0, seconds=20, max_inputs=32, batch=8, sizes=((1, 2),), guided=False, workers=1,
                          shrink_seconds=0)
    r = search_property(op, get_property("axiom1"), config, batches=batches)
    assert r.verdict is Verdict.NOT_REFUTED, r.message
    assert "interval arithmetic (margin certified >= 0)" in r.message
    assert "interval / 50-digit" not in r.message
    assert sum(r.extra["rejected_by"].values()) > 0


def test_rejections_are_typed() -> None:
    """A rejected candidate carries the typed reason; summaries read it, never the message text."""
    point = ExactPoint.from_strings((("0.5", "0.5"), ("0.25", "0.75")), ("1", "1"), ("0.5", "0.5"))
    out = check_exact(load_operator("linear"), get_property("axiom2"), point, {"token": 0}, -1e-13)
    assert out.counterexample is None and out.rejection is Rejection.CERTIFIED_NONNEGATIVE
    float_only = wrap_callable(lambda P, T, w: w @ P, "float_only", derive=False)
    out = check_exact(float_only, get_property("axiom2"), point, {"token": 0}, -1e-13)
    assert out.counterexample is None and out.rejection is Rejection.MEASURED_ROUNDOFF


# ------------------------------------------------------------------ 12. hypothesis is a test dependency only


def test_the_tool_runs_without_hypothesis() -> None:
    import subprocess
    import sys

    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "import mtkd.cli, mtkd.verify, mtkd.reports.conformance, mtkd.counterexamples.search, mtkd.theorems.smt\n"
            "from click.testing import CliRunner\n"
            "r = CliRunner().invoke(mtkd.cli.main, ['verify', 'linear', '-p', 'axiom1', '--engine', 'search',"
            " '--budget', '2', '--max-inputs', '200', '--no-corpus', '--format', 'json', '--workers', '1'])\n"
            "assert r.exit_code == 0, r.output\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_pyproject_keeps_hypothesis_out_of_the_runtime_dependencies() -> None:
    import tomllib

    meta = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"]
    assert not any(d.startswith("hypothesis") for d in meta["dependencies"])
    assert any(d.startswith("hypothesis") for d in meta["optional-dependencies"]["test"])


def test_pytest_configuration_runs_the_package_doctests() -> None:
    import tomllib

    conf = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "--doctest-modules" in conf["addopts"]
    assert {"mtkd", "operators", "theorems", "counterexamples", "reports"} <= set(conf["testpaths"])
    assert "bench" in conf["norecursedirs"] and "bench" not in conf["testpaths"]
