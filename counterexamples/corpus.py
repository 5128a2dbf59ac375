"""The counterexample corpus: one JSON file per certified counterexample, replayable forever.

A file records the operator spec, the property id, the exact input and witness (strings), the
margin and certificate it had when saved, the seed and the tool version. :func:`replay`
re-decides it with :func:`~mtkd.counterexamples.certify.check_exact`; ``mtkd verify`` replays the
saved entries of an operator before searching, so a known refutation is instant.

>>> import json, tempfile, pathlib
>>> bad = pathlib.Path(tempfile.mkdtemp()) / "x.json"
>>> _ = bad.write_text(json.dumps({"format": 1, "operator": "linear", "property": "axiom1"}))
>>> load_entry(bad)
Traceback (most recent call last):
...
mtkd.errors.CorruptCounterexampleError: Counterexample file ... lacks the field 'P' ...
"""

from __future__ import annotations

import errno
import importlib.metadata
import json
import os
import re
import stat
import tempfile
import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from mtkd.errors import CorpusWriteError, CorruptCounterexampleError, MtkdError
from mtkd.operators import Operator, load_operator
from mtkd.results import Counterexample
from mtkd.theorems import Domain, ExactPoint, Property, WitnessKind, get_property

from .certify import check_exact

DEFAULT_DIR = Path(__file__).parent / "corpus"
FORMAT = 1


def tool_version() -> str:
    try:
        return importlib.metadata.version("mtkd-verify")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Entry:
    """One saved counterexample."""

    operator: str
    property: str
    counterexample: Counterexample
    seed: int | None = None
    version: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "operator": self.operator, "property": self.property, "seed": self.seed,
                "tool_version": self.version, **self.counterexample.to_json()}


def file_name(operator: str, prop: str) -> str:
    """``power:alpha=-1`` + ``axiom3`` -> ``power_alpha=-1__axiom3.json`` (one file per pair)."""
    slug = re.sub(r"[^A-Za-z0-9=.+-]+", "_", operator).strip("_")
    return f"{slug}__{prop}.json"


def save(op: Operator, prop: Property, cx: Counterexample, seed: int | None,
         directory: Path = DEFAULT_DIR) -> Path:
    """Write (or overwrite) the corpus file for ``(op, prop)``; return its path.

    One file per pair and domain: a point with zeros goes to ``..__closed.json``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    name = file_name(op.spec, prop.id)
    if not Domain.OPEN.admits([[Fraction(v) for v in row] for row in cx.P]):
        # A point with zeros refutes only on the closed domain: it must not replace the open one.
        name = name.removesuffix(".json") + "__closed.json"
    path = directory / name
    entry = Entry(op.spec, prop.id, cx, seed, tool_version())
    write_atomically(path, json.dumps(entry.to_json(), indent=2) + "\n")
    return path


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` all at once: readers see the old file or the new one, never a part.

    The text goes to a uniquely named temporary file in the same directory (so that the rename
    stays on one file system), is flushed to disk, then renamed over ``path``; concurrent writers
    each rename a complete file and the last one wins. On failure (full disk, no permission) the
    temporary file is removed and :class:`CorpusWriteError` says what happened; ``path`` is
    untouched (never left empty).
    """
    data = text.encode("utf-8")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise CorpusWriteError(
            f"Cannot write the counterexample file {str(path)!r}: {exc.strerror or exc} (creating a temporary file in "
            f"{str(path.parent)!r}). Choose a writable directory with --corpus.") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        hint = " The disk is full: free some space and save again." if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
        raise CorpusWriteError(
            f"Cannot write the counterexample file {str(path)!r}: {exc.strerror or exc}.{hint} The file was not "
            "changed.") from None


MAX_FILE_BYTES = 16 * 2**20
"""Largest corpus file read (a saved V = 1000 counterexample is ~100 kB)."""


def _read_text(path: Path) -> str:
    """The file's text, refusing anything that is not a small regular UTF-8 file (FIFOs are never opened)."""
    where = f"Counterexample file {str(path)!r}"
    try:
        info = os.stat(path)
    except (OSError, ValueError) as exc:
        raise CorruptCounterexampleError(f"{where} cannot be read: {getattr(exc, 'strerror', None) or exc}.") from None
    if not stat.S_ISREG(info.st_mode):
        raise CorruptCounterexampleError(f"{where} is not a regular file (a FIFO, device or directory); it is not "
                                         "read. Remove it from the corpus directory.")
    if info.st_size > MAX_FILE_BYTES:
        raise CorruptCounterexampleError(f"{where} is {info.st_size} bytes, more than the {MAX_FILE_BYTES} a "
                                         "counterexample file may have; it is not read.")
    try:
        # O_NONBLOCK: should the file be swapped for a FIFO after the check, opening still returns.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise CorruptCounterexampleError(f"{where} is not a regular file; it is not read.")
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise CorruptCounterexampleError(f"{where} cannot be read: {exc.strerror or exc}.") from None
    if len(raw) > MAX_FILE_BYTES:
        raise CorruptCounterexampleError(f"{where} is larger than {MAX_FILE_BYTES} bytes; it is not read.")
    if not raw.strip():
        raise CorruptCounterexampleError(f"{where} is empty. Restore it from version control or re-create it with "
                                         "'mtkd search ... --save'.")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptCounterexampleError(f"{where} is not UTF-8 text (byte {exc.start}: {exc.reason}). Restore it "
                                         "from version control or re-create it with 'mtkd search ... --save'.") from None


def load_entry(path: Path) -> Entry:
    """Parse a corpus file; every missing or mistyped field is a :class:`CorruptCounterexampleError`."""
    text = _read_text(Path(path))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptCounterexampleError(
            f"Counterexample file {str(path)!r} is not valid JSON ({exc.msg} at line {exc.lineno}, column "
            f"{exc.colno}). Restore it from version control or re-create it with 'mtkd search ... --save'.") from None
    except RecursionError:
        raise CorruptCounterexampleError(
            f"Counterexample file {str(path)!r} nests JSON too deeply to be a counterexample file; it is not "
            "read.") from None
    if not isinstance(data, dict):
        raise CorruptCounterexampleError(f"Counterexample file {str(path)!r} holds a {type(data).__name__}, "
                                         "not a JSON object.")

    def field(name: str, kind: type | tuple[type, ...], what: str) -> Any:
        if name not in data:
            raise CorruptCounterexampleError(
                f"Counterexample file {str(path)!r} lacks the field {name!r} ({what}). Restore it from version "
                "control or re-create it with 'mtkd search ... --save'.")
        if not isinstance(data[name], kind):
            raise CorruptCounterexampleError(
                f"Counterexample file {str(path)!r}: field {name!r} should be {what}, found "
                f"{json.dumps(data[name])[:80]}.")
        return data[name]

    operator = field("operator", str, "an operator spec such as 'power:alpha=2'")
    prop = field("property", str, "a property id such as 'axiom3'")
    P = field("P", list, "a list of rows of exact numbers as strings")
    T = field("T", list, "a list of temperatures as strings")
    w = field("w", list, "a list of weights as strings")
    witness = field("witness", dict, "an object holding the property's witness")
    margin = field("margin", str, "the margin as a string")
    certified = field("certified", bool, "true or false")
    certificate = field("certificate", str, "a string")
    rows = [r for r in P if isinstance(r, list)]
    if len(rows) != len(P) or not P or not rows[0] or not all(len(r) == len(P[0]) for r in rows):
        raise CorruptCounterexampleError(f"Counterexample file {str(path)!r}: field 'P' must be a non-empty list "
                                         "of non-empty rows of equal length.")
    for name, vals in (("P", [v for r in rows for v in r]), ("T", T), ("w", w)):
        _check_numbers(path, name, vals)
    if len(T) != len(P) or len(w) != len(P):
        raise CorruptCounterexampleError(
            f"Counterexample file {str(path)!r}: fields 'T' and 'w' need one entry per teacher (row of 'P'): "
            f"{len(P)} rows, {len(T)} temperatures, {len(w)} weights.")
    cx = Counterexample(tuple(tuple(r) for r in rows), tuple(T), tuple(w), witness=witness, margin=margin,
                        precision=str(data.get("precision", "")), certified=certified, certificate=certificate,
                        explanation=str(data.get("explanation", "")))
    seed = data.get("seed")
    return Entry(operator, prop, cx, seed if isinstance(seed, int) else None, str(data.get("tool_version", "")))


MAX_NUMBER_CHARS = 5000
"""Longest number string accepted in a corpus file (saved files stay far below: ~50)."""
MAX_DECIMAL_EXPONENT = 4000
"""Largest ``|e|`` of a number written ``...e<e>``: ``Fraction("1e999999999")`` would compute
``10**999999999`` and hang the replay, and no saved counterexample needs more than a few hundred."""

_EXPONENT = re.compile(r"[eE]\s*([+-]?\d+)")


def parse_number(v: Any) -> Fraction:
    """An exact number from a corpus string, refusing sizes that would hang ``Fraction``.

    >>> parse_number("1/3"), parse_number("2.5e-3")
    (Fraction(1, 3), Fraction(1, 400))
    >>> parse_number("1e999999999")
    Traceback (most recent call last):
    ...
    ValueError: exponent 999999999 is beyond +-4000
    """
    if not isinstance(v, str):
        raise ValueError("not a string")
    if len(v) > MAX_NUMBER_CHARS:
        raise ValueError(f"{len(v)} characters, more than {MAX_NUMBER_CHARS}")
    for m in _EXPONENT.finditer(v):
        if len(m.group(1).lstrip("+-")) > 6 or abs(int(m.group(1))) > MAX_DECIMAL_EXPONENT:
            raise ValueError(f"exponent {m.group(1)} is beyond +-{MAX_DECIMAL_EXPONENT}")
    return Fraction(v)


def _check_numbers(path: Path, name: str, vals: list[Any]) -> None:
    for v in vals:
        try:
            parse_number(v)
        except (ValueError, ZeroDivisionError) as exc:
            raise CorruptCounterexampleError(
                f"Counterexample file {str(path)!r}: field {name!r} holds {json.dumps(v)[:80]}, which is not an exact "
                f"number written as a string (like \"0.25\" or \"1/3\"): {exc}.") from None


def check_witness(path: Path, prop: Property, x: ExactPoint, witness: dict[str, Any]) -> None:
    """Raise :class:`CorruptCounterexampleError` naming the first witness field that does not fit ``x``.

    What each entry must hold is the property's own :meth:`~mtkd.theorems.Property.witness_schema`.
    """
    prop_id = prop.id
    K, V = len(x.P), len(x.P[0])

    def bad(key: str, want: str) -> CorruptCounterexampleError:
        found = json.dumps(witness[key])[:80] if key in witness else "nothing"
        return CorruptCounterexampleError(
            f"Counterexample file {str(path)!r}: field 'witness.{key}' should be {want} for property {prop_id} at "
            f"this point (K={K} teachers, V={V} tokens), found {found}.")

    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    def is_number(v: Any) -> bool:
        if isinstance(v, bool):
            return False
        if isinstance(v, (int, float)):
            return v == v and abs(v) != float("inf")
        try:
            parse_number(v)
        except (ValueError, ZeroDivisionError):
            return False
        return True

    for key, field_kind in prop.witness_schema(witness).items():
        v = witness.get(key)
        if isinstance(field_kind, tuple):
            if v not in field_kind:
                raise bad(key, "one of " + ", ".join(repr(k) for k in field_kind))
            continue
        kind = WitnessKind(field_kind)
        if kind in (WitnessKind.TOKEN, WitnessKind.TOKEN_OR_SUM, WitnessKind.TEACHER):
            lo, hi = (-1 if kind is WitnessKind.TOKEN_OR_SUM else 0), (K if kind is WitnessKind.TEACHER else V)
            if not (isinstance(v, int) and is_int(v) and lo <= v < hi):
                what = "a teacher index" if kind is WitnessKind.TEACHER else "a token index"
                raise bad(key, f"{what} from {lo} to {hi - 1}" + (" (-1: the sum)" if lo < 0 else ""))
        elif kind is WitnessKind.NUMBER:
            if not is_number(v):
                raise bad(key, "a number")
        elif kind in (WitnessKind.PER_TOKEN, WitnessKind.PER_TEACHER):
            n = V if kind is WitnessKind.PER_TOKEN else K
            if not (isinstance(v, list) and len(v) == n and all(is_number(a) for a in v)):
                raise bad(key, f"a list of {n} numbers")
        elif kind is WitnessKind.MATRIX:
            if not (isinstance(v, list) and len(v) == K and all(
                    isinstance(r, list) and len(r) == V and all(is_number(a) for a in r) for r in v)):
                raise bad(key, f"a {K} x {V} list of lists of numbers")
        elif kind in (WitnessKind.TOKEN_PERMUTATION, WitnessKind.TEACHER_PERMUTATION):
            n = V if kind is WitnessKind.TOKEN_PERMUTATION else K
            if not (isinstance(v, list) and all(is_int(a) for a in v) and sorted(v) == list(range(n))):
                raise bad(key, f"a permutation of 0..{n - 1}")


@dataclass(frozen=True)
class Replay:
    """The verdict of re-deciding one file."""

    path: Path
    stands: bool
    message: str
    entry: Entry | None = None
    how: str = ""
    """For a file that stands: how the violation was re-established (precision and margin)."""


def replay_entry(entry: Entry, op: Operator | None = None, path: Path = Path("-")) -> Replay:
    """Re-decide ``entry``; it stands if it is still a counterexample, certified if it was."""
    op = op or load_operator(entry.operator)
    prop = get_property(entry.property)
    cx = entry.counterexample
    try:
        for name, vals in (("P", [v for row in cx.P for v in row]), ("T", cx.T), ("w", cx.w)):
            _check_numbers(path, name, list(vals))
        x = ExactPoint.from_strings(cx.P, cx.T, cx.w)
    except (ValueError, ZeroDivisionError) as exc:
        raise CorruptCounterexampleError(f"Counterexample file {str(path)!r}: {exc}.") from None
    check_witness(path, prop, x, dict(cx.witness))
    if any(sum(row) != 1 for row in x.P) or sum(x.w) != 1 or any(v < 0 for row in x.P for v in row) \
            or any(v < 0 for v in x.w) or any(t <= 0 for t in x.T):
        return Replay(path, False, "the input is not admissible: rows of P and w must be non-negative and sum to "
                                   "exactly 1, temperatures positive (was the file hand-edited?)", entry)
    if prop.open_only and any(v == 0 for row in x.P for v in row):
        return Replay(path, False, f"{prop.id} is stated on the open domain but P has a zero entry", entry)
    try:
        # No float margin from the file: a float-only entry is recomputed from the operator, not trusted.
        outcome = check_exact(op, prop, x, cx.witness, None)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise CorruptCounterexampleError(
            f"Counterexample file {str(path)!r}: field 'witness' does not fit property {prop.id} "
            f"({type(exc).__name__}: {exc}).") from None
    got = outcome.counterexample
    if got is None:
        return Replay(path, False, f"no longer a counterexample: {outcome.reason}", entry)
    if cx.certified and not got.certified:
        return Replay(path, False, f"still violated but no longer certified ({got.certificate})", entry)
    how = f"stands ({got.precision}, margin {got.margin})"
    return Replay(path, True, f"{how}: {got.explanation}", entry, how)


def replay(path: Path) -> Replay:
    """Load and re-decide one file; bad files raise a :class:`~mtkd.errors.MtkdError`."""
    entry = load_entry(path)
    try:
        return replay_entry(entry, path=path)
    except MtkdError as exc:
        if str(exc).startswith("Counterexample file"):
            raise
        raise type(exc)(f"Counterexample file {str(path)!r}: {exc}") from None


class CorpusFileSkipped(UserWarning):
    """A corpus file could not be used by ``mtkd verify`` (``mtkd replay`` reports it as a failure)."""


def entries_for(spec: str, directory: Path = DEFAULT_DIR) -> list[tuple[Path, Entry]]:
    """Readable corpus entries saved for operator ``spec``; unreadable files are skipped with a warning."""
    out = []
    try:
        paths = sorted(directory.glob("*.json")) if directory.is_dir() else []
    except OSError as exc:
        warnings.warn(CorpusFileSkipped(f"corpus directory {str(directory)!r} cannot be listed: {exc}"), stacklevel=2)
        return []
    for path in paths:
        try:
            entry = load_entry(path)
        except CorruptCounterexampleError as exc:
            warnings.warn(CorpusFileSkipped(f"skipped: {exc}"), stacklevel=2)
            continue
        if entry.operator == spec:
            out.append((path, entry))
    return out
