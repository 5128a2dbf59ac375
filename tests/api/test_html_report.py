"""The HTML report: self-contained, parses, a figure for every refutation, renders (Chromium, if present)."""

from __future__ import annotations

import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mtkd.corpus_dirs import packaged_dir
from mtkd.counterexamples.corpus import load_entry
from mtkd.operators import load_operator
from mtkd.provenance import collect
from mtkd.reports import plots
from mtkd.reports.html import Matrix, render_html, single_report
from mtkd.results import Result, Verdict
from mtkd.verify import Report

CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None)


class Page(HTMLParser):
    """Counts what the tests look for; fails on unbalanced section/figure/table tags."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.sections: list[str] = []
        self.figures_in: dict[str, int] = {}
        self.external: list[str] = []
        self.current = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("section", "figure", "table"):
            self.stack.append(tag)
        if tag == "section" and "refutation" in (a.get("class") or ""):
            self.current = a.get("id") or ""
            self.sections.append(self.current)
        if tag == "svg" and self.current:
            self.figures_in[self.current] = self.figures_in.get(self.current, 0) + 1
        for key in ("src", "href"):
            if key in a and a[key] and not (a[key] or "").startswith("#"):
                self.external.append(a[key] or "")
        if tag in ("script", "link"):
            self.external.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("section", "figure", "table"):
            assert self.stack and self.stack.pop() == tag, f"unbalanced </{tag}>"
        if tag == "section":
            self.current = ""


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    assert not page.stack, page.stack
    return page


def corpus_results(spec: str) -> list[Result]:
    """Every packaged refutation of ``spec`` as a Result (what a report shows after corpus replay)."""
    out = []
    for path in sorted(packaged_dir().glob("*.json")):
        entry = load_entry(path)
        if entry.operator == spec:
            cx = entry.counterexample
            out.append(Result(entry.property, Verdict.REFUTED, certified=cx.certified, method="corpus replay",
                              scope=f"K={cx.K}, V={cx.V}", counterexample=cx, message=cx.explanation))
    return out


BUILTINS = ("geometric", "power:alpha=-1", "power:alpha=0.5", "power:alpha=2", "entropic:beta=0.5", "max")


@pytest.mark.parametrize("spec", BUILTINS)
def test_every_refutation_of_a_builtin_has_its_figure(spec: str) -> None:
    pytest.importorskip("matplotlib", reason="figures need the [plots] extra")
    results = corpus_results(spec)
    assert results, f"the packaged corpus has refutations of {spec}"
    report = Report(spec, 0, (), (), tuple(results))
    page = parse(single_report(report, load_operator(spec), collect(["mtkd"])))
    assert len(page.sections) == len(results)
    missing = [s for s in page.sections if page.figures_in.get(s, 0) < 1]
    assert not missing, f"refutations without a figure: {missing}"
    assert page.external == [], "the page must be self-contained"


def test_figures_are_specific_and_deterministic() -> None:
    pytest.importorskip("matplotlib", reason="figures need the [plots] extra")
    op = load_operator("geometric")
    (r,) = [x for x in corpus_results("geometric") if x.property == "axiom3"]
    svg, caption = plots.figure(op, r)  # type: ignore[misc]
    assert "delta" in svg and "increase with delta" in caption
    assert plots.figure(op, r) == (svg, caption)


def test_without_matplotlib_the_page_still_renders_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plots, "available", lambda: False)
    results = corpus_results("geometric")
    html = single_report(Report("geometric", 0, (), (), tuple(results)), load_operator("geometric"), collect(["m"]))
    page = parse(html)
    assert "pip install &#34;mtkd-verify[plots]&#34;" in html or 'pip install "mtkd-verify[plots]"' in html
    assert len(page.sections) == len(results) and not page.figures_in
    assert "<table class=\"cx\">" in html  # the counterexample tables are still there


def test_heat_map_cells_link_to_their_refutation() -> None:
    results = corpus_results("max")
    report = Report("max", 0, (), (), tuple(results), options={"domain": "open"})
    html = render_html([Matrix("m", [report])], collect(["m"]))
    page = parse(html)
    for anchor in page.sections:
        assert f'href="#{anchor}"' in html
    assert 'class="v-refuted-certified"' in html


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium at /usr/bin/chromium")
def test_chromium_renders_a_page_that_is_not_blank(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="figures need the [plots] extra")
    results = corpus_results("geometric")
    page = tmp_path / "report.html"
    page.write_text(single_report(Report("geometric", 0, (), (), tuple(results)), load_operator("geometric"),
                                  collect(["m"])), encoding="utf-8")
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}",
                    "--window-size=1200,1600", page.as_uri()], capture_output=True, timeout=120)
    assert shot.is_file()
    from matplotlib.image import imread

    pixels = imread(str(shot))[..., :3]
    assert pixels.std() > 0.05, "the screenshot is blank"
    assert (pixels.reshape(-1, 3) != pixels.reshape(-1, 3)[0]).any(axis=1).mean() > 0.05
