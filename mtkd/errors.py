"""Exceptions named after the failure. Each carries a one-paragraph, user-facing message."""

from __future__ import annotations


class MtkdError(Exception):
    """Base class: a problem the user can fix; the CLI prints the message, not a traceback."""

    exit_code = 2


class OperatorLoadError(MtkdError):
    """An operator spec could not be turned into a callable (import, attribute, call signature)."""


class UnknownPropertyError(MtkdError):
    """A property id is not in the catalogue."""


class PluginError(MtkdError):
    """A plug-in (entry point or ``--property-module`` file) could not be loaded or registered."""


class InvalidOptionError(MtkdError):
    """A command-line or API option value cannot be used (out of range, an unusable --corpus directory, an over-long path)."""


class OperatorFailure(Exception):
    """The operator under test misbehaved at a concrete input (raised, hung, NaN, wrong shape).

    Not a user mistake in the tool's sense: it becomes an ``error`` verdict for the property being
    checked, and every other property is still checked.
    """

    def __init__(self, message: str, inputs: tuple | None = None) -> None:
        super().__init__(message)
        self.inputs = inputs


class CorpusWriteError(MtkdError):
    """A counterexample could not be saved (directory not writable, disk full); nothing was half-written."""


class OperatorUndefined(OperatorFailure):
    """The operator returned NaN / inf or raised at an admissible input: it is undefined there.

    Unlike a hang or a wrong shape this is local to the input, so a search records it and goes
    on elsewhere (:mod:`mtkd.counterexamples.undefined`).
    """


class CorruptCounterexampleError(MtkdError):
    """A counterexample file is not valid JSON or lacks / mistypes a field."""
