"""mtkd-verify: check multi-teacher distillation aggregation operators against the paper's claims.

The public API (everything else is internal and may change):

>>> import mtkd
>>> mtkd.assert_satisfies("linear", "prop-IV.11", max_inputs=100).verdict.value
'proved'

``mtkd.strategies`` (Hypothesis strategies for your own tests) needs the ``strategies`` extra and
is imported on its own: ``from mtkd import strategies``.
"""

from __future__ import annotations

# Imported eagerly, and last: `mtkd.verify` must be the function, not the submodule of the same
# name (importing a submodule binds its name in the package once, on its first import, which
# happens inside mtkd.api before the rebinding below).
from mtkd.api import as_operator, assert_satisfies, assert_violates, verify
from mtkd.engines import Engine
from mtkd.errors import MtkdError
from mtkd.results import Counterexample, Result, Verdict
from mtkd.theorems import PROPERTIES, Domain
from mtkd.verify import Report

__all__ = [
    "verify", "assert_satisfies", "assert_violates", "as_operator",
    "Report", "Result", "Counterexample", "Verdict", "Domain", "Engine",
    "PROPERTIES", "MtkdError",
]
