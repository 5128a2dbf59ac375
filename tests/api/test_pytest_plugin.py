"""The pytest plugin, as a user's project sees it (pytester runs a user's test file)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

USER_TESTS = '''
import numpy as np
import mtkd


def geometric_like_fn(P, T, w):
    z = np.log(P) / T[:, None]
    z = z - z.max(axis=1, keepdims=True)
    log_q = w @ (z - np.log(np.exp(z).sum(axis=1, keepdims=True)))
    e = np.exp(log_q - log_q.max())
    return e / e.sum()


def test_violates():
    mtkd.assert_violates(geometric_like_fn, "axiom3", max_inputs=1500)


def test_satisfies():
    mtkd.assert_satisfies(geometric_like_fn, "axiom3", max_inputs=1500)


def test_fixture_uses_the_options(mtkd):
    assert mtkd.seed == 3 and mtkd.corpus.endswith("my_corpus")
    assert mtkd.verify("linear", "axiom1", max_inputs=50).seed == 3
'''


def test_user_test_file_passes_and_fails_as_expected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "--mtkd-seed", "3", "--mtkd-corpus", "my_corpus")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*mtkd-verify: seed 3*"])
    # The failure message is the counterexample in plain words, not a repr.
    result.stdout.fnmatch_lines(["*AssertionError: *geometric_like_fn does not satisfy axiom3*",
                                 "*P = [[*", "*T = [*", "*w = [*", "*witness: teacher k = *"])


def test_plugin_rejects_a_negative_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_neg="def test_x(mtkd):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--mtkd-seed", "-1")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*--mtkd-seed must be >= 0*"])
