"""The Python API: check an operator from a script, a notebook or a test.

``verify`` takes a plain callable (or a spec string such as ``"geometric"``) and keyword options,
and returns the same typed :class:`~mtkd.verify.Report` the CLI prints. ``assert_satisfies`` and
``assert_violates`` turn a verdict into a test assertion whose failure message is the
counterexample in plain words.

>>> import mtkd
>>> report = mtkd.verify("linear", properties="axiom1", max_inputs=50)
>>> report.result("axiom1").verdict
<Verdict.PROVED: 'proved'>
>>> cx = mtkd.assert_violates("geometric", "axiom3", max_inputs=200)
>>> cx.certified
True
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable

from mtkd.errors import InvalidOptionError
from mtkd.operators import Operator, load_operator
from mtkd.operators.loader import FRAMEWORKS, auto_batched, wrap_callable
from mtkd.results import Counterexample, Result, Verdict
from mtkd.theorems import Domain, get_property
from mtkd.verify import DEFAULT_BUDGET, Report, VerifyOptions
from mtkd.verify import verify as _verify

from .engines import Engine
from .wording import plain_words

PASSING = (Verdict.PROVED, Verdict.NOT_REFUTED)
"""Verdicts that let ``assert_satisfies`` pass: proved, or searched without a counterexample."""


def as_operator(fn: Callable[..., Any] | str | Operator, name: str | None = None,
                call_timeout: float = 5.0, framework: str = "auto") -> Operator:
    """An :class:`Operator` from a callable, a spec string (``"power:alpha=2"``) or an Operator.

    A callable is named ``module:qualname`` in reports, unless ``name`` is given. ``framework``
    is ``--framework``: whose vmap may build a missing batched form (``auto``, ``numpy``,
    ``torch``, ``jax``).

    >>> as_operator(lambda P, T, w: w @ P, name="mean").spec
    'mean'
    """
    if framework not in FRAMEWORKS:
        raise InvalidOptionError(f"framework must be one of {', '.join(FRAMEWORKS)}, got {framework!r}.")
    if isinstance(fn, Operator):
        return fn
    if isinstance(fn, str):
        return load_operator(fn, time_limit=call_timeout, framework=framework)
    spec = name or f"{getattr(fn, '__module__', None) or '?'}:{getattr(fn, '__qualname__', type(fn).__name__)}"
    return auto_batched(wrap_callable(fn, spec, call_timeout), framework)


def _property_ids(properties: str | Iterable[str] | None) -> tuple[str, ...]:
    if properties is None:
        return ()
    ids = (properties,) if isinstance(properties, str) else tuple(properties)
    for pid in ids:
        get_property(pid)  # unknown ids raise UnknownPropertyError, listing the valid ones
    return ids


def verify(fn: Callable[..., Any] | str | Operator, properties: str | Iterable[str] | None = None, *,
           domain: str | Domain = Domain.OPEN, seed: int = 0, max_inputs: int = 6000,
           engine: str | Engine = Engine.ALL, budget: float = DEFAULT_BUDGET, workers: int = 1,
           corpus: str | os.PathLike[str] | None = "", name: str | None = None, max_k: int = 4, max_v: int = 4,
           call_timeout: float = 5.0, framework: str = "auto") -> Report:
    """Check ``fn`` against ``properties`` (default: all) and return the :class:`Report`.

    Options mean what the ``mtkd verify`` flags of the same name mean; the same seed gives the
    same report. ``corpus``: ``""`` replays the project corpus (``.mtkd/corpus/`` or
    ``$MTKD_CORPUS``) and the packaged one, a path replays that directory (and the packaged
    one), ``None`` replays nothing. ``workers > 1`` runs the search in processes when ``fn``
    can be pickled by reference (a module-level function); otherwise in this process.
    """
    if not (isinstance(seed, int) and seed >= 0):
        raise InvalidOptionError(f"seed must be an integer >= 0, got {seed!r}.")
    if not (isinstance(max_inputs, int) and max_inputs >= 1):
        raise InvalidOptionError(f"max_inputs must be an integer >= 1, got {max_inputs!r}.")
    if not (isinstance(workers, int) and workers >= 1):
        raise InvalidOptionError(f"workers must be an integer >= 1, got {workers!r}.")
    op = as_operator(fn, name, call_timeout, framework)
    options = VerifyOptions(seed=seed, budget=budget, max_inputs=max_inputs, engine=Engine(engine),
                            properties=_property_ids(properties), max_k=max_k, max_v=max_v, workers=workers,
                            corpus=None if corpus is None else str(Path(corpus)) if corpus else "",
                            domain=Domain(domain))
    return _verify(op, options)


def _single(fn: Callable[..., Any] | str | Operator, prop: str, kwargs: dict[str, Any]) -> tuple[Report, Result]:
    report = verify(fn, prop, **kwargs)
    return report, report.result(prop)


def assert_satisfies(fn: Callable[..., Any] | str | Operator, prop: str, **kwargs: Any) -> Result:
    """Pass when ``prop`` is proved or the search found no counterexample; else ``AssertionError``.

    The message is the counterexample in plain words (or why the property could not be checked:
    ``unknown`` fails too, an unchecked property is not a passed one). Keyword arguments are
    :func:`verify`'s.

    >>> assert_satisfies("linear", "axiom3", max_inputs=100).verdict
    <Verdict.PROVED: 'proved'>
    """
    report, result = _single(fn, prop, kwargs)
    if result.verdict not in PASSING:
        raise AssertionError(plain_words(report.operator, result, expected="satisfy"))
    return result


def assert_violates(fn: Callable[..., Any] | str | Operator, prop: str, *, certified: bool = False,
                    **kwargs: Any) -> Counterexample:
    """Pass when a counterexample to ``prop`` is found (certified if ``certified=True``); return it.

    Else ``AssertionError`` saying what was found instead (proved, searched without a
    counterexample, only float64 evidence, or an operator error).
    """
    report, result = _single(fn, prop, kwargs)
    if result.verdict is not Verdict.REFUTED or result.counterexample is None \
            or (certified and not result.certified):
        raise AssertionError(plain_words(report.operator, result, expected="violate", certified=certified))
    return result.counterexample
