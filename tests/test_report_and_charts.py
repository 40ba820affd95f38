"""Charts and the board report (issues 15 and 29): fiscal years in order on category axes, the
report's charts with explicit colors, dollar axes that keep their labels, a tier heat map
named by school and PASS layer, an offline page printable on US Letter paper, the pages a
board reads in its order before the appendices, and the report printed to PDF."""
from __future__ import annotations

import json
import re
import shutil
from html import escape
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pypdfium2 as pdfium
import pytest

from optimizer.core.run import optimize
from optimizer.reports import board, charts, fmt, tables
from optimizer.reports.export import assumptions
from tests.builders import instance, m, program, site

YEARS = [2027, 2028, 2029]
SCHOOLS = {"A": "Ash Elementary", "B": "Birch Middle", "C": "Cedar High", "D": "Dogwood Elementary"}
MEASURES = [("door", "access_control"), ("camera", "video"), ("radio", "communication"),
            ("alarm", "detection"), ("drill", "people")]


class Page(HTMLParser):
    """Script elements (their ``src`` and text), headings in order, and summary table rows."""

    def __init__(self):
        super().__init__()
        self.sources, self.scripts, self.headings = [], [], []
        self._tag, self._in_script, self._table_class, self.tables = None, False, None, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
            if attrs.get("src"):
                self.sources.append(attrs["src"])
        if tag in ("h1", "h2", "h3"):
            self._tag = tag
            self.headings.append((tag, ""))
        if tag == "table":
            self._table_class = (attrs.get("class") or "").split()
            for name in self._table_class:
                self.tables[name] = 0
        if tag == "tr" and self._table_class:
            for name in self._table_class:
                self.tables[name] += 1

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False
        if tag == self._tag:
            self._tag = None
        if tag == "table":
            self._table_class = None

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        elif self._tag:
            tag, text = self.headings[-1]
            self.headings[-1] = (tag, text + data)


def figures_in(html: str) -> list[dict]:
    """The plotly figures a page draws: data and layout of every ``Plotly.newPlot`` call."""
    decoder = json.JSONDecoder()
    out = []
    for match in re.finditer(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*", html):
        data, end = decoder.raw_decode(html, match.end())
        rest = html[end:].lstrip().lstrip(",").lstrip()
        layout, _ = decoder.raw_decode(rest)
        out.append({"data": data, "layout": layout})
    return out


def dollar_axes(layout: dict) -> list[dict]:
    return [axis for name, axis in layout.items() if re.fullmatch(r"[xy]axis\d*", name)
            and (axis.get("tickprefix") == "$" or "$" in str(axis.get("tickformat", "")))]


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    """A three-year plan over four schools and five measures (twenty plan lines or so), a
    grant and the local budget paying; the local capital budget of 2028 is zero, so that
    year has no local capital spend."""
    measures = [m(mid, component=comp, capital_low=100, capital_typical=100, capital_high=100, annual_cost=5,
                  effectiveness=0.5, name=f"{mid.title()} measure") for mid, comp in MEASURES]
    inputs = instance(tmp_path_factory.mktemp("report"), measures,
                      programs=[program("fed", match_rate=0, match_basis="none", match_type="none")],
                      funding_sources={"g": {"program": "fed", "amount": 300}},
                      horizon={"start": 2027, "years": 3},
                      sites=[site(sid, name=name) for sid, name in SCHOOLS.items()],
                      budget={"capital": {2027: 900, 2028: 0, 2029: 900}, "operating": 1e9})
    result = optimize(inputs)
    return inputs, result


@pytest.fixture(scope="module")
def page(planned):
    inputs, result = planned
    return board.report_html(result, assumptions(inputs, result))


# -- 1. fiscal years in order ------------------------------------------------------------

def test_capital_by_year_lists_every_fiscal_year_in_ascending_order():
    # the grant (first trace) pays in 2027 and 2029, the district alone in 2028: plotly
    # would order the category axis 2027, 2029, 2028 from the traces
    frame = pd.DataFrame({"year": [2027, 2029, 2028, 2027], "source": ["g", "g", "local", "local"],
                          "amount": [100.0, 50.0, 80.0, 20.0]})
    fig = charts.capital_by_year(frame, {2029: 10.0, 2027: 10.0, 2028: 10.0, 2030: 0.0}, ["g", "local"])
    axis = fig.to_plotly_json()["layout"]["xaxis"]
    assert axis["categoryorder"] == "array"
    assert list(axis["categoryarray"]) == ["2027", "2028", "2029", "2030"]  # 2030: no spend, still shown


def test_capital_by_year_of_a_plan_shows_the_whole_horizon(planned):
    _, result = planned
    frame = tables.capital_by_year(result)
    assert 2028 not in set(frame[frame["source"] == "local"]["year"])  # a year without local spend
    fig = charts.capital_by_year(frame, result.problem.capital_budget, tables.source_ids(result))
    assert list(fig.layout.xaxis.categoryarray) == [str(y) for y in YEARS]


def test_grouped_bars_order_years_and_keep_a_given_order():
    frame = pd.DataFrame({"A": [1.0, 2.0, 3.0], "B": [3.0, 2.0, 1.0]}, index=[2029, 2027, 2028])
    fig = charts.grouped_bars(frame, ["A", "B"], "Capital spend by fiscal year")
    assert list(fig.layout.xaxis.categoryarray) == ["2027", "2028", "2029"]
    fig = charts.grouped_bars(frame, ["A", "B"], "Capital spend by fiscal year", order=[2026, 2027, 2028, 2029])
    assert list(fig.layout.xaxis.categoryarray) == ["2026", "2027", "2028", "2029"]
    layers = pd.DataFrame({"A": [1.0, 2.0]}, index=["classroom", "building"])
    fig = charts.grouped_bars(layers, ["A"], "Capital spend by layer", order=["district", "building", "classroom"])
    assert list(fig.layout.xaxis.categoryarray) == ["district", "building", "classroom"]


def test_the_frontier_chart_marks_the_steps_not_proven_to_buy_more():
    """A step the solver's gaps cannot tell from no gain is marked on the staircase (not the
    first budget, nor a budget or its predecessor without a plan: no step there)."""
    table = pd.DataFrame({"budget": [0.0, 100.0, 200.0, 300.0, 400.0], "risk_reduced": [np.nan, 0.1, 0.2, 0.2, 0.25],
                          "items": [0, 1, 2, 2, 3], "capital": [0.0] * 5, "annual": [0.0] * 5, "gain": [0.0] * 5,
                          "step_proven": [None, None, True, False, True], "knee": [False] * 5})
    fig = charts.frontier_staircase(table, 200.0)
    marked = [t for t in fig.data if t.name.startswith("step not proven")]
    assert len(marked) == 1 and list(marked[0].x) == [300.0]
    assert not [t for t in charts.frontier_staircase(table.assign(step_proven=True), 200.0).data
                if t.name.startswith("step not proven")]


def test_selection_frequency_orders_measures_by_share_not_by_verdict():
    frequency = pd.DataFrame({"measure_id": ["a", "b", "c", "d"], "name": ["A", "B", "C", "D"],
                              "share": [0.9, 0.1, 0.5, 0.95], "mean_places": [1.0, 1.0, 1.0, 1.0],
                              "verdict": ["robust buy", "rarely", "borderline", "robust buy"]})
    fig = charts.selection_frequency(frequency)
    assert list(fig.layout.yaxis.categoryarray) == ["B", "C", "A", "D"]  # lowest share at the bottom


# -- 2. the report's charts ----------------------------------------------------------------

def test_a_source_keeps_its_color_whatever_else_pays():
    """Issue 29: local money was pink in one plan and purple in the next, as colors went by a
    source's place in the list. A source's color is its own; the district's money is gray."""
    one = charts.colors(["COPS SVPP award", "district budget"], charts.SOURCE_PALETTE)
    two = charts.colors(["STOP grant", "Title IV-A", "COPS SVPP award", "district budget"], charts.SOURCE_PALETTE)
    assert one["COPS SVPP award"] == two["COPS SVPP award"]
    assert one["district budget"] == two["district budget"] == charts.LOCAL_COLOR
    assert len(set(two.values())) == 4  # no two sources of a plan share a color
    layers = ["District-wide", "Digital Infrastructure", "Campus Perimeter", "Building Perimeter", "Classroom/Interior"]
    assert charts.colors(layers) == charts.colors(list(reversed(layers)))


def test_waterfall_has_explicit_colors(planned):
    _, result = planned
    trace = charts.money_waterfall(tables.money_flow(result)).to_plotly_json()["data"][0]
    for kind in ("increasing", "decreasing", "totals"):
        color = trace[kind]["marker"]["color"]
        assert color and color.lower() not in ("black", "#000", "#000000"), kind


def test_report_charts_are_styled_for_print(page):
    figures = figures_in(page)
    assert len(figures) == 5
    waterfall = next(f for f in figures if f["data"][0]["type"] == "waterfall")["data"][0]
    assert all(waterfall[k]["marker"]["color"] for k in ("increasing", "decreasing", "totals"))
    money_axes = 0
    for fig in figures:
        assert fig["layout"]["width"] <= board.PRINT_WIDTH  # fits 8.5 in less the margins
        for axis in dollar_axes(fig["layout"]):
            money_axes += 1
            assert axis["automargin"] is True
    assert money_axes >= 2  # waterfall and capital by year
    years = next(f for f in figures if f["layout"].get("xaxis", {}).get("title", {}).get("text") == "fiscal year")
    assert years["layout"]["xaxis"]["categoryarray"] == [str(y) for y in YEARS]


def test_tier_heat_map_names_layers_and_schools(page, planned):
    _, result = planned
    heat = [f for f in figures_in(page) if f["data"][0]["type"] == "heatmap"]
    assert len(heat) == 1
    layers = board.layer_names(result)
    assert layers["building"] == "Building Perimeter"
    before, after = result.tiers()
    for trace, frame in zip(heat[0]["data"], (before, after)):
        assert trace["x"] == [layers[c] for c in frame.columns]
        assert trace["y"] == [SCHOOLS[s] for s in frame.index]
        assert trace["text"] == frame.to_numpy().tolist()
        assert trace["texttemplate"] == "%{text}"


def test_report_is_offline_and_printable_on_letter(page):
    parsed = Page()
    parsed.feed(page)
    assert not parsed.sources  # no script loaded from anywhere
    plotly_js = [s for s in parsed.scripts if "plotly.js" in s[:200]]
    assert len(plotly_js) == 1  # plotly's code inlined once
    outside = page.replace(plotly_js[0], "")
    assert "cdn.plot.ly" not in outside and not re.search(r"<(script|link)[^>]+(src|href)=\"https?:", outside)
    assert re.search(r"@page\s*\{[^}]*size:\s*Letter", page)
    assert "break-before: page" in page


# -- 3. the pages a board reads, in its order; every line in the appendix ----------------------

#: The parts of the report a board reads, in order (issue 29): the ask, the projects and who
#: pays, what it does, what is not spent and why; then the appendices.
BOARD_PARTS = ["ask", "projects", "effect", "unspent", "appendix-measures"]


def test_the_board_reads_the_ask_projects_effect_and_money_left_in_that_order(page, planned):
    _, result = planned
    assert [page.index(f'<section id="{part}"') for part in BOARD_PARTS] == sorted(
        page.index(f'<section id="{part}"') for part in BOARD_PARTS)
    parsed = Page()
    parsed.feed(page)
    titles = [text for _, text in parsed.headings]
    order = ["What we ask the board to approve", "Grants it spends", "The projects to approve", "Who pays",
             "What it does", "What it changes in PASS tiers", "What is not spent, and why", "Appendix A"]
    found = [next(i for i, t in enumerate(titles) if t.startswith(title)) for title in order]
    assert found == sorted(found), titles
    # the ask: capital and recurring money by year, the grants with the year their money expires
    ask = page[page.index('<section id="ask"'):page.index('<section id="projects"')]
    assert parsed.tables["what-it-costs"] == 1 + len(YEARS) + 1  # header, each year, all years
    assert parsed.tables["grants-used"] == 1 + len(result.grant_use())
    assert "end of FY" in ask and escape(board.operating_words(result)) in ask
    # the projects, one row each, and who pays
    assert parsed.tables["projects"] == 1 + len(result.plan.projects)
    # what it does: every threat, in the board's unit, with the caveat; the tiers with their rule
    effect = page[page.index('<section id="effect"'):page.index('<section id="unspent"')]
    assert parsed.tables["by-threat"] == 1 + len(result.risk_by_threat())
    assert escape(board.MODEL_CAVEAT) in effect and escape(board.TIER_RULE) in effect


def test_every_measure_and_every_line_stand_in_the_appendix(page, planned):
    _, result = planned
    items = result.plan.items
    assert len(items) > len(set(items["measure_id"])) > 1  # many lines, few measures
    parsed = Page()
    parsed.feed(page)
    assert page.index('id="appendix-measures"') < page.index('id="appendix-plan"')
    assert parsed.tables["what-we-buy"] == 1 + items["measure_id"].nunique()  # header + one per measure
    buy = result.what_to_buy()
    assert sorted(buy["measure_id"]) == sorted(set(items["measure_id"]))
    assert buy["capital"].sum() == pytest.approx(items["capital_cost"].sum())
    lines = page[page.index('id="appendix-plan"'):page.index('id="appendix-assumptions"')]
    assert lines.count("<tr") == 1 + len(items)


def test_the_report_s_first_page_is_in_the_board_s_units_with_the_model_caveat(page, planned):
    """Issue 29: "Risk reduction 105.670", "Optimality gap" and "Status optimal" read as "our
    security is optimal": the first page shows the share of modelled risk reduced and the costs
    with their likely ranges, says the risk is modelled, not a probability; the solver's
    figures stand in the appendix for analysts."""
    overview = page[page.index('id="ask"'):page.index('id="projects"')]
    assert "Modelled risk reduced" in overview and "Total cost of ownership" in overview
    for solver_word in ("Optimality gap", "Status", "Risk reduction<"):
        assert solver_word not in overview, solver_word
    assert escape(board.MODEL_CAVEAT) in overview and "not as a prediction or a probability" in board.MODEL_CAVEAT
    appendix = page[page.index('id="appendix-assumptions"'):]
    assert "For analysts: Risk reduction" in appendix and "Optimality gap" in appendix
    # what is not spent, and why, on its own page (the plan leaves local capital: 2028's is zero)
    _, result = planned
    unspent = page[page.index('id="unspent"'):page.index('id="appendix-measures"')]
    assert tables.money_left(result) and "What is not spent, and why" in unspent
    assert all(escape(sentence) in unspent for sentence in tables.money_left(result))


def test_who_pays_shares_capital_and_recurring_money_apart_and_the_operating_budget_is_named(page, planned):
    """Issue 29: one share mixed one-time and yearly money; no sentence said what the operating
    budget must carry each year."""
    _, result = planned
    table = board.who_pays(result)
    for kind in ("capital", "recurring"):
        paid = table[f"{kind} paid"]
        shares = [float(x.rstrip("%")) for x in table[f"share of {kind}"]]
        assert sum(shares) == pytest.approx(100, abs=len(shares))  # whole percents
        assert shares == [pytest.approx(100 * p / paid.sum(), abs=0.5) for p in paid]
    words = board.operating_words(result)
    local = result.funding.query("source == 'local' and kind == 'annual'").groupby("year")["amount"].sum()
    for year in result.problem.years:
        assert f"{fmt.money(float(local.get(year, 0.0)))} in {year}" in words  # no procurement in these plans
    assert escape(words) in page
    tiers = page[page.index("What it changes in PASS tiers"):]
    assert escape(board.TIER_RULE) in tiers[:tiers.index("</table>")]  # why "before" may be all 0


def test_the_appendix_of_every_plan_line_is_optional(planned):
    inputs, result = planned
    short = board.report_html(result, assumptions(inputs, result), lines=False)
    assert 'id="appendix-plan"' not in short and 'id="appendix-assumptions"' in short
    assert "what-we-buy" in short  # every measure is still in Appendix A


def test_measures_grouped_in_the_report_match_the_results_own(planned):
    _, result = planned
    ours = result.what_to_buy()  # the report's "What we buy" table
    assert ours["measure_id"].tolist() == sorted(set(result.plan.items["measure_id"]))
    assert set(ours["schools"]) == {len(SCHOOLS)} and (ours["where"] == "4 schools").all()
    assert ours["paid_by"].str.contains("district budget").any()


# -- 4. printed to PDF ----------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="prints with Debian's chromium (CI installs it)")
def test_the_report_prints_to_a_pdf_whose_board_pages_come_first_and_are_drawn(planned, tmp_path):
    """Issue 29: a real renderer, tested by rendering its pages to images: the parts a board
    reads take four to six Letter pages in its order, before the appendices, and every page
    is drawn (text and the charts' colors, not a blank or a black box)."""
    inputs, result = planned
    path = board.write_report(result, tmp_path / "report.pdf", assumptions(inputs, result), lines=False)
    pdf = pdfium.PdfDocument(path)
    texts = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    width, height = pdf[0].get_size()
    assert (round(width), round(height)) == (612, 792)  # US Letter, in points

    def first(heading: str) -> int:  # the page a heading starts a line on
        pattern = re.compile(re.escape(heading) + r"($|:)")
        return next(i for i, text in enumerate(texts) if any(pattern.match(line.strip()) for line in text.splitlines()))

    parts = [first(heading) for heading in ("What we ask the board to approve", "The projects to approve",
                                            "What it does", "What is not spent, and why", "Appendix A")]
    assert parts == sorted(parts) and parts[0] == 0
    assert 4 <= parts[-1] <= 6  # the board's pages, each part on a page of its own
    for i in range(len(pdf)):
        pixels = np.asarray(pdf[i].render(scale=0.5).to_pil().convert("RGB"), dtype=int)
        assert (pixels.sum(axis=2) < 600).mean() > 0.005, f"page {i + 1} is blank"
        assert (pixels.sum(axis=2) < 30).mean() < 0.2, f"page {i + 1} is a black box"
    chart_page = np.asarray(pdf[parts[3]].render(scale=0.5).to_pil().convert("RGB"), dtype=int)
    colored = (chart_page.max(axis=2) - chart_page.min(axis=2)) > 80  # the waterfall's colored bars
    assert colored.mean() > 0.01
