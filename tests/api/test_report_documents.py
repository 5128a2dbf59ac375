"""``mtkd report`` on two operators: conformance.md, errata.md/.tex, HTML; readability and provenance."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from mtkd.cli import main
from mtkd.reports.errata import paper_properties

# A reduced report: two operators, search only, few inputs (the packaged corpus supplies most
# refutations of geometric), the closed domain included.
ARGS = ["report", "--operator", "linear", "--operator", "geometric", "--engine", "search", "--max-inputs", "150"]


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("reports")
    res = CliRunner().invoke(main, [*ARGS, "--out", str(where), "--html"])
    assert res.exit_code == 0, res.output
    return where


def test_report_writes_every_document(out: Path) -> None:
    names = {p.name for p in out.iterdir()}
    assert {"conformance.md", "conformance.json", "errata.md", "errata.tex", "statements.tex",
            "conformance.html"} <= names


def test_errata_list_every_claim_of_the_paper(out: Path) -> None:
    text = (out / "errata.md").read_text()
    paper = paper_properties()
    assert len(paper) >= 14
    for claim in [*paper, "thm-III.1", "thm-III.2", "claim-geometric", "claim-power", "claim-entropic"]:
        assert f"## `{claim}`" in text, claim
    for required in ("axiom1", "axiom2", "axiom3", "axiom4", "axiom5", "thm-IV.2", "thm-IV.7", "thm-IV.9",
                     "prop-IV.11", "cor-IV.12", "def-IV.1", "assumption-L"):
        assert f"## `{required}`" in text
    # geometric's axiom3 refutation (from the packaged corpus) is the smallest counterexample, certified.
    section = text.split("## `axiom3`")[1].split("\n## ")[0]
    assert "Verdict: **refuted**" in section and "certified: margin lies in" in section and "± <" in section
    assert "P = [[" in section
    geo = text.split("## `claim-geometric`")[1].split("\n## ")[0]
    assert "geometric violates" in geo and "axiom3" in geo


def test_errata_tex_has_one_row_per_claim(out: Path) -> None:
    tex = (out / "errata.tex").read_text()
    md = (out / "errata.md").read_text()
    assert tex.count(r"\\ \hline") - 1 == md.count("\n## `")  # minus the header row
    assert r"\begin{longtable}" in tex and r"\begin{pmatrix}" in tex and "_" not in tex.replace(r"\_", "")


def test_reports_are_readable(out: Path) -> None:
    for name in ("conformance.md", "errata.md"):
        text = (out / name).read_text()
        long = [line for line in text.splitlines() if len(line) > 120 and not line.startswith("|")]
        assert not long, (name, long[:2])
        prose = re.sub(r"```.*?```", "", text, flags=re.S)  # statements use … in {1,…,V}
        assert "…" not in prose, "no truncated evidence"
        assert not re.search(r"\[(-?\d+\.\d{6,}), \1\]", text), "intervals as midpoint ± radius, not [a, a]"
        assert "('0." not in text, "no Python tuple reprs"
        assert "## Provenance" in text and "z3: " in text and "git commit: " in text


def test_closed_domain_explanation_is_given_once(out: Path) -> None:
    text = (out / "conformance.md").read_text()
    assert text.count("The pool is undefined at such an input") <= 1


def test_json_carries_provenance_apart_from_results(out: Path) -> None:
    data = json.loads((out / "conformance.json").read_text())
    assert set(data["provenance"]) >= {"tool_version", "python", "numpy", "sympy", "mpmath", "z3", "date", "command"}
    assert "provenance" not in data["operators"][0]


def test_same_seed_same_documents_outside_provenance(out: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(main, [*ARGS, "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output

    def body(path: Path) -> str:
        return path.read_text().split("## Provenance")[0]

    for name in ("conformance.md", "errata.md"):
        assert body(tmp_path / name) == body(out / name), name
    assert (tmp_path / "errata.tex").read_text() == (out / "errata.tex").read_text()


def test_html_report_has_heat_map_and_a_figure_per_refutation(out: Path) -> None:
    pytest.importorskip("matplotlib", reason="figures need the [plots] extra")
    html = (out / "conformance.html").read_text()
    sections = re.findall(r'<section class="refutation" id="([^"]+)">(.*?)</section>', html, re.S)
    assert sections and all("<svg" in body for _, body in sections)
    assert html.count('class="heat"') == 2 and "Errata of the paper" in html


def test_a_long_command_is_continued_between_shell_words() -> None:
    """A long command line (pytest's, a 20-operator sweep) keeps report lines short and stays pasteable."""
    from mtkd.provenance import collect

    argv = ["mtkd", "report", *[a for alpha in range(12) for a in ("--operator", f"power:alpha={alpha + 2}")],
            "--out", "my reports/with space"]
    lines = collect(argv).lines()
    command = [line for line in lines if line.startswith("command:")]
    start = lines.index(command[0])
    block = lines[start:]
    assert len(block) > 1 and all(len(line) <= 100 for line in block)
    joined = " ".join(line.removesuffix(" \\").strip() for line in block).removeprefix("command: ")
    assert shlex.split(joined) == argv  # no break inside a quoted word
