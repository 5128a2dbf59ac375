"""The README's Python example runs as written (CI runs this test)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def python_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Use it from Python, pytest and CI", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def test_readme_python_example_runs(capsys) -> None:  # type: ignore[no-untyped-def]
    exec(compile(python_example(), str(README), "exec"), {"__name__": "readme_example"})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "refuted"
    assert out[1].startswith("((") and "'k'" in out[1]
