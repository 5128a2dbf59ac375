"""pytest plugin (entry point ``pytest11``): options and a fixture for checking operators in tests.

Options: ``--mtkd-seed N`` (default 0) and ``--mtkd-corpus DIR`` (replay / save directory,
default ``.mtkd/corpus`` or ``$MTKD_CORPUS``). The ``mtkd`` fixture is a :class:`Checker` whose
methods are :func:`mtkd.verify`, :func:`mtkd.assert_satisfies` and :func:`mtkd.assert_violates`
with those options filled in::

    def test_my_pool_is_weight_monotone(mtkd):
        mtkd.assert_satisfies(my_pool, "axiom3", max_inputs=2000)

The plugin imports nothing heavy until the fixture is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mtkd", "mtkd-verify (aggregation-operator checks)")
    group.addoption("--mtkd-seed", type=int, default=None, metavar="N",
                    help="Seed of every mtkd check (default 0); the same seed gives the same verdicts.")
    group.addoption("--mtkd-corpus", default=None, metavar="DIR",
                    help="Counterexample corpus replayed by mtkd checks (default .mtkd/corpus or $MTKD_CORPUS).")


@dataclass(frozen=True)
class Checker:
    """The API with the session's seed and corpus as defaults (explicit keyword arguments win)."""

    seed: int = 0
    corpus: str = ""

    def _options(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        return {"seed": self.seed, "corpus": self.corpus, **kwargs}

    def verify(self, fn: Any, properties: Any = None, **kwargs: Any) -> Any:
        from mtkd.api import verify

        return verify(fn, properties, **self._options(kwargs))

    def assert_satisfies(self, fn: Any, prop: str, **kwargs: Any) -> Any:
        from mtkd.api import assert_satisfies

        return assert_satisfies(fn, prop, **self._options(kwargs))

    def assert_violates(self, fn: Any, prop: str, **kwargs: Any) -> Any:
        from mtkd.api import assert_violates

        return assert_violates(fn, prop, **self._options(kwargs))


@pytest.fixture()
def mtkd(request: pytest.FixtureRequest) -> Checker:
    """A :class:`Checker` using ``--mtkd-seed`` and ``--mtkd-corpus``."""
    seed = request.config.getoption("--mtkd-seed")
    if seed is not None and seed < 0:
        raise pytest.UsageError(f"--mtkd-seed must be >= 0 (numpy seeds are non-negative), got {seed}.")
    return Checker(seed=seed or 0, corpus=request.config.getoption("--mtkd-corpus") or "")


def pytest_report_header(config: pytest.Config) -> str | None:
    seed = config.getoption("--mtkd-seed")
    return f"mtkd-verify: seed {seed or 0} (--mtkd-seed)"
