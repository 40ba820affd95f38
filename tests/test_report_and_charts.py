"""Charts and the board report (issue 15): fiscal years in order on category axes, the
report's charts with explicit colors, dollar axes that keep their labels, a tier heat map
named by school and PASS layer, an offline page printable on US Letter paper, and a
one-page summary before the appendix of plan lines."""
from __future__ import annotations

import json
import re
from html import escape
from html.parser import HTMLParser

import pandas as pd
import pytest

from optimizer.core.run import optimize
from optimizer.reports.export import assumptions
from tests.builders import instance, m, program, site
from ui import charts, fmt, report, tables

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
    return report.report_html(result, assumptions(inputs, result))


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
        assert fig["layout"]["width"] <= report.PRINT_WIDTH  # fits 8.5 in less the margins
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
    layers = report.layer_names(result)
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


# -- 3. summary first, every line in the appendix ----------------------------------------------

def test_summary_comes_before_the_appendix_with_one_row_per_measure(page, planned):
    _, result = planned
    items = result.plan.items
    assert len(items) > len(set(items["measure_id"])) > 1  # many lines, few measures
    parsed = Page()
    parsed.feed(page)
    titles = [text for _, text in parsed.headings]
    summary = titles.index("Summary")
    appendix = next(i for i, t in enumerate(titles) if t.startswith("Appendix"))
    assert summary < appendix
    assert page.index('id="summary"') < page.index('id="appendix-plan"')
    assert parsed.tables["what-we-buy"] == 1 + items["measure_id"].nunique()  # header + one per measure
    buy = result.what_to_buy()
    assert sorted(buy["measure_id"]) == sorted(set(items["measure_id"]))
    assert buy["capital"].sum() == pytest.approx(items["capital_cost"].sum())
    for title in ("What we buy", "What it costs", "Who pays", "What it changes in PASS tiers"):
        assert any(t.startswith(title) for t in titles), title
    # the summary leads with the projects the board approves, one row each
    first = next(i for i, t in enumerate(titles) if i > summary)
    assert titles[first].startswith("The projects to approve")
    assert parsed.tables["projects"] == 1 + len(result.plan.projects)
    # the appendix still lists every plan line
    lines = page[page.index('id="appendix-plan"'):page.index('id="appendix-assumptions"')]
    assert lines.count("<tr") == 1 + len(items)


def test_the_report_s_first_page_is_in_the_board_s_units_with_the_model_caveat(page, planned):
    """Issue 29: "Risk reduction 105.670", "Optimality gap" and "Status optimal" read as "our
    security is optimal": the first page shows the share of modelled risk reduced and the costs
    with their likely ranges, says the risk is modelled, not a probability; the solver's
    figures stand in the appendix for analysts."""
    overview = page[page.index('id="overview"'):page.index('id="summary"')]
    assert "Modelled risk reduced" in overview and "Total cost of ownership" in overview
    for solver_word in ("Optimality gap", "Status", "Risk reduction<"):
        assert solver_word not in overview, solver_word
    assert escape(report.MODEL_CAVEAT) in overview and "not as a prediction or a probability" in report.MODEL_CAVEAT
    appendix = page[page.index('id="appendix-assumptions"'):]
    assert "For analysts: Risk reduction" in appendix and "Optimality gap" in appendix
    # what is not spent, and why, in the summary (the plan leaves local capital: 2028's is zero)
    _, result = planned
    summary = page[page.index('id="summary"'):page.index('id="charts"')]
    assert tables.money_left(result) and "What is not spent, and why" in summary
    assert all(escape(sentence) in summary for sentence in tables.money_left(result))


def test_who_pays_shares_capital_and_recurring_money_apart_and_the_operating_budget_is_named(page, planned):
    """Issue 29: one share mixed one-time and yearly money; no sentence said what the operating
    budget must carry each year."""
    _, result = planned
    table = report.who_pays(result)
    for kind in ("capital", "recurring"):
        paid = table[f"{kind} paid"]
        shares = [float(x.rstrip("%")) for x in table[f"share of {kind}"]]
        assert sum(shares) == pytest.approx(100, abs=len(shares))  # whole percents
        assert shares == [pytest.approx(100 * p / paid.sum(), abs=0.5) for p in paid]
    words = report.operating_words(result)
    local = result.funding.query("source == 'local' and kind == 'annual'").groupby("year")["amount"].sum()
    for year in result.problem.years:
        assert f"{fmt.money(float(local.get(year, 0.0)))} in {year}" in words  # no procurement in these plans
    assert escape(words) in page
    tiers = page[page.index("What it changes in PASS tiers"):]
    assert escape(report.TIER_RULE) in tiers[:tiers.index("</table>")]  # why "before" may be all 0


def test_the_appendix_of_every_plan_line_is_optional(planned):
    inputs, result = planned
    short = report.report_html(result, assumptions(inputs, result), lines=False)
    assert 'id="appendix-plan"' not in short and 'id="appendix-assumptions"' in short
    assert 'id="what-we-buy"' in short or "what-we-buy" in short  # every measure is still in the summary


def test_measures_grouped_in_the_report_match_the_results_own(planned):
    _, result = planned
    ours = result.what_to_buy()  # the report's "What we buy" table
    assert ours["measure_id"].tolist() == sorted(set(result.plan.items["measure_id"]))
    assert set(ours["schools"]) == {len(SCHOOLS)} and (ours["where"] == "4 schools").all()
    assert ours["paid_by"].str.contains("district budget").any()
