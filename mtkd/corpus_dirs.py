"""Where counterexamples are saved and replayed from: the user's project, then the packaged corpus.

``--save`` writes to the *project corpus*: ``--corpus DIR`` if given, else ``$MTKD_CORPUS``, else
``.mtkd/corpus/`` under the current directory (never into the installed package). Replay reads
the project corpus and then the packaged corpus of the built-ins (``mtkd/counterexamples/corpus``),
which stays packaged.

>>> import os; os.environ.pop(ENV, None) and None
>>> project_dir("") == Path.cwd() / ".mtkd" / "corpus"
True
>>> project_dir("my/dir")
PosixPath('my/dir')
>>> replay_dirs("my/dir")[-1] == packaged_dir()
True
"""

from __future__ import annotations

import os
from pathlib import Path

ENV = "MTKD_CORPUS"
"""Environment variable naming the project corpus directory."""

def packaged_dir() -> Path:
    """The built-ins' corpus, installed with the package."""
    from mtkd.counterexamples.corpus import DEFAULT_DIR

    return DEFAULT_DIR.resolve()


def project_dir(explicit: str | os.PathLike[str] | None = "") -> Path:
    """The directory ``--save`` writes to: ``explicit``, else ``$MTKD_CORPUS``, else ``./.mtkd/corpus``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV, "")
    return Path(env) if env else Path.cwd() / ".mtkd" / "corpus"


def replay_dirs(explicit: str | os.PathLike[str] | None = "") -> list[Path]:
    """The directories replayed, in order: the project corpus, then the packaged corpus."""
    first = project_dir(explicit)
    packaged = packaged_dir()
    return [first, packaged] if first.resolve() != packaged else [packaged]
