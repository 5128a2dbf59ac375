"""The terminal table: columns stay apart for any property id, and labels say what the evidence is."""

from __future__ import annotations

import re

import mtkd
from mtkd.format import text


def test_long_property_ids_stay_apart_from_an_uncertified_verdict() -> None:
    cx = mtkd.Counterexample((("0.1", "0.9"), ("0.9", "0.1")), ("1", "1"), ("0.7", "0.3"), {"token": 1},
                             "-0.176", "float32", False, "float evidence", "not externally Bayesian")
    results = (mtkd.Result("pool-external-bayesianity", mtkd.Verdict.REFUTED, counterexample=cx),
               mtkd.Result("axiom1", mtkd.Verdict.NOT_REFUTED, method="search"))
    out = text(mtkd.Report("kd_linear_float32", 0, (), (), results))
    # An uncertified refutation of a float32 operator is not "float64 only" evidence.
    assert re.search(r"^  pool-external-bayesianity {2,}REFUTED \(uncertified\)", out, re.M), out
    assert re.search(r"^  axiom1 {2,}not-refuted", out, re.M), out
    starts = {line.index(word) for line, word in ((ln, ln.split()[1]) for ln in out.splitlines()
                                                  if re.match(r"^  (pool-external-bayesianity|axiom1) ", ln))}
    assert len(starts) == 1, out  # one verdict column
