"""The plan as one self-contained HTML page for a school board, a printed page per part in the
order a board reads it (the ask, the projects and who pays, what it does, what is not spent
and why), then appendices (every measure and plan line; notes, funding, assumptions and
sources). Charts are plotly, its JavaScript inlined once in the page head (no network
needed); printable on US Letter paper, and to PDF by :mod:`optimizer.reports.pdf`
(:func:`write_report`). A pure function of the result; no Streamlit."""
from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from optimizer.core.plan import LOCAL
from optimizer.core.result import PlanResult, percent
from optimizer.reports import charts, fmt, tables
from optimizer.reports.pdf import REPORT_FILES, html_to_pdf
from optimizer.safe_write import replacing

#: Width of every chart in CSS pixels: 7.3 inches at 96 per inch, the width of a US Letter
#: page (8.5 in) inside the 0.6 in side margins of ``@page``.
PRINT_WIDTH = 700
#: Schools per tier heat map: a larger district gets several heat maps, each fitting a page.
HEATMAP_SITES = 30
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"

STYLE = f"""
@page {{ size: Letter; margin: 0.6in 0.6in 0.7in; }}
body {{ font-family: {FONT}; margin: 2rem auto; max-width: 7.3in; color: #222; line-height: 1.4;
       padding: 0 1rem; }}
h1 {{ margin-bottom: 0.2rem; }} .sub {{ color: #666; margin-top: 0; }}
.caveat, .price-range {{ font-size: 0.85rem; }} .caveat {{ color: #555; }}
h2, h3 {{ break-after: avoid; page-break-after: avoid; }}
h3 {{ margin: 0.8rem 0 0.2rem; font-size: 1rem; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0.8rem 0; }}
.card {{ border: 1px solid #ddd; border-radius: 6px; padding: 0.3rem 0.6rem; flex: 1 1 22%; }}
.card .label {{ color: #666; font-size: 0.75rem; }} .card .value {{ font-size: 1.2rem; }}
table {{ border-collapse: collapse; font-size: 0.8rem; margin: 0.4rem 0 1.2rem; }}
th, td {{ border: 1px solid #ddd; padding: 0.2rem 0.4rem; text-align: left; vertical-align: top; }}
th {{ background: #f4f6f8; }}
thead {{ display: table-header-group; }}
tr, .card {{ break-inside: avoid; page-break-inside: avoid; }}
table.projects, table.who-pays, table.what-we-buy, #appendix-plan table {{ font-size: 0.72rem; }}
table.projects td, table.projects th {{ padding: 0.1rem 0.3rem; }}
table.projects td:nth-child(2), table.projects td:last-child {{ min-width: 1.9in; }}
.chart {{ width: {PRINT_WIDTH}px; max-width: 100%; margin: 0 0 1rem; break-inside: avoid;
          page-break-inside: avoid; }}
@media print {{
  body {{ margin: 0; padding: 0; max-width: none; }}
  section {{ break-before: page; page-break-before: always; }}
  #ask {{ break-before: auto; page-break-before: auto; }}
  .modebar-container {{ display: none !important; }}
  th {{ -webkit-print-color-adjust: exact; print-color-adjust: exact; }}
}}
"""


def layer_names(result: PlanResult) -> dict[str, str]:
    """PASS layer name per layer id of the plan's edition (the id where none is known)."""
    problem = result.problem
    return {layer: problem.layer_names.get(layer, layer) for layer in problem.layers}


#: What the headline's risk figures are, said wherever they are shown.
MODEL_CAVEAT = ("The risk is modelled: expected serious harm a year from each threat's national rate and "
                "consequence, lowered by each measure's rated effect; read it with the by-threat figures and the "
                "PASS tiers, not as a prediction or a probability.")


#: How a PASS tier is read, said wherever tiers are shown.
TIER_RULE = ("A layer's PASS tier is the lowest over its components: a school with many measures in place stays "
             "at tier 0 while one component has no tier-1 measure.")


def headline(result: PlanResult) -> list[tuple[str, str, str | None]]:
    """The headline numbers of a plan as the app shows them: label, value, and a note (or
    None); first in a board's units (share of the modelled risk reduced), then the costs with
    their likely ranges, then the figures for analysts."""
    return tables.headline_numbers(result) + _cost_numbers(result) + _analyst_numbers(result)


def _cost_numbers(result: PlanResult) -> list[tuple[str, str, str | None]]:
    ranges = result.cost_range()

    def ranged(key: str) -> tuple[str, str | None]:
        low, typical, high = ranges[key]
        return fmt.money(typical), (f"likely {fmt.money(low)} to {fmt.money(high)} across the price ranges"
                                    if high > low else None)

    return [("Capital spend", *ranged("capital")),
            ("Annual cost (last year)", *ranged("annual")),
            ("Total cost of ownership", *ranged("tco"))]


def _analyst_numbers(result: PlanResult) -> list[tuple[str, str, str | None]]:
    return [("Risk reduction", fmt.value(result.value),
             f"+{fmt.value(result.value - result.baseline_value)} serious-harm equivalents over nothing bought"),
            ("Items", f"{len(result.plan.items):,}", None),
            ("Optimality gap", fmt.gap(result.report.gap), None),
            ("Status", str(result.status), None)]


# -- the pages a board reads --------------------------------------------------------------

def cost_by_year(result: PlanResult) -> pd.DataFrame:
    """Capital and recurring dollars per fiscal year of the horizon, and their sum, with a
    row for the whole horizon."""
    funding = result.funding
    years = list(result.problem.years)
    table = (funding.pivot_table(index="year", columns="kind", values="amount", aggfunc="sum", fill_value=0.0)
             .reindex(index=years, columns=["capital", "annual"], fill_value=0.0))
    table.columns = ["capital", "recurring costs"]
    table["total"] = table.sum(axis=1)
    table.loc["all years"] = table.sum()
    return table.rename_axis("fiscal year").reset_index().astype({"fiscal year": str})


def cost_range_words(result: PlanResult) -> str:
    """The plan's total cost of ownership at typical prices and the range its prices give, in
    words a board reads under the cost table."""
    low, typical, high = result.cost_range()["tco"]
    floor, _, ceiling = result.cost_range(bounds=True)["tco"]
    return (f"At the catalog's typical prices the plan costs {fmt.money(typical)} to own over the horizon "
            f"(capital, procurement staff time and recurring costs). Prices vary: with each measure's price "
            f"anywhere in the range its sources give, the cost is likely {fmt.money(low)} to {fmt.money(high)} "
            f"(eight draws in ten); with every price at the low end of its range {fmt.money(floor)}, at the high "
            f"end {fmt.money(ceiling)}. Quotes the district enters replace the catalog's prices and their ranges.")


def who_pays(result: PlanResult) -> pd.DataFrame:
    """Per funding source: what it pays for capital and for recurring costs over the horizon,
    and its share of each (one-time and yearly money are budgeted apart, so they are shared
    apart)."""
    balance = tables.source_balance(result)
    table = balance[["name", "capital paid", "recurring paid", "local match paid"]].copy()
    for kind in ("capital", "recurring"):
        total = float(table[f"{kind} paid"].sum())
        table[f"share of {kind}"] = [f"{v / total:.0%}" if total > 0 else "-" for v in table[f"{kind} paid"]]
    return table.rename(columns={"name": "source"})


def operating_words(result: PlanResult) -> str:
    """What the district's operating budget must carry each fiscal year: the recurring costs
    and procurement staff time it pays, against its budget."""
    funding = result.funding
    local = funding[(funding["source"] == LOCAL) & (funding["kind"] == "annual")].groupby("year")["amount"].sum()
    procurement = result.plan.projects.groupby("year")["procurement"].sum()
    years = result.problem.years
    parts = [f"{fmt.money(float(local.get(y, 0.0)) + procurement.get(y, 0.0))} in {y} (of "
             f"{fmt.money(result.problem.operating_budget.get(y, 0.0))})" for y in years]
    return ("The district's operating budget must carry " + ", ".join(parts) + ": the recurring costs "
            "grants do not pay and the staff time of procuring the projects; after the horizon the recurring "
            f"costs go on at about {fmt.money(result.totals()['annual'])} a year.")


def tier_change(result: PlanResult) -> pd.DataFrame:
    """Per PASS layer: schools (and the district) at tier 1 or higher and at tier 2 or
    higher, before and after the plan, of all sites rated on that layer."""
    before, after = result.tiers()
    names = layer_names(result)
    rows = [{"PASS layer": names.get(layer, layer), "sites": len(after),
             "tier 1+ before": int((before[layer] >= 1).sum()), "tier 1+ after": int((after[layer] >= 1).sum()),
             "tier 2+ before": int((before[layer] >= 2).sum()), "tier 2+ after": int((after[layer] >= 2).sum())}
            for layer in after.columns]
    return pd.DataFrame(rows)


def grants_used(result: PlanResult) -> pd.DataFrame:
    """Per grant and award period: the last fiscal year its money may be spent in (it expires
    after), the award, what the plan uses, the local match and what is left."""
    table = result.grant_use()
    return pd.DataFrame({"grant": table["name"], "spend by": [f"end of {p.split('-')[-1]}" for p in table["period"]],
                         "award": table["award"], "used": table["used"], "local match": table["local_match"],
                         "left": table["unused"]})


def risk_by_threat(result: PlanResult) -> pd.DataFrame:
    """Per threat, in a board's words: the modelled share of its risk that what is in place
    removes and the share of the rest the plan removes (threats the plan does not touch too)."""
    table = result.risk_by_threat()
    return pd.DataFrame({"threat": table["name"], "removed by what is in place": table["in_place"].map(percent),
                         "of the rest, the plan removes": table["plan"].map(percent)})


def risk_range_words(result: PlanResult) -> str:
    """The headline's range across the evidence bands, in one sentence."""
    low, high = result.risk_range()
    return (f"The plan reduces the modelled risk left by what is in place by {percent(result.gap_closed)}; with every "
            f"measure's effect at the low or the high end of its evidence band, by {percent(low)} to {percent(high)}.")


def _table(frame: pd.DataFrame, money: list[str] = (), cls: str = "") -> str:
    shown = frame.copy()
    for column in money:
        shown[column] = shown[column].map(fmt.money)
    return shown.to_html(index=False, escape=True, border=0, classes=cls or None)


def _ask(result: PlanResult) -> str:
    """Page 1: what the board is asked to approve, year by year, and the grants it spends."""
    grants = grants_used(result)
    spent = ("<h3>Grants it spends (money left at the end of a grant's period is lost)</h3>"
             + _table(grants, ["award", "used", "local match", "left"], "grants-used")) if len(grants) else ""
    return f"""<h2>What we ask the board to approve</h2>
{_table(cost_by_year(result), ["capital", "recurring costs", "total"], "what-it-costs")}
<p class="price-range">{escape(operating_words(result))}</p>
<p class="price-range">{cost_range_words(result)}</p>
{spent}"""


def _projects(result: PlanResult) -> str:
    """Page 2: the projects in the order bought, and who pays."""
    projects = tables.projects(result)
    return f"""<h2>The projects to approve: {len(projects)}, in the order bought</h2>
<p class="price-range">A project is one PASS component's purchases in a fiscal year, or an award's project: one
specification, one bid and one board item. Every measure is listed in Appendix A.</p>
{_table(projects, ["Capital", "Annual cost", "Procurement staff time"], "projects")}
<h3>Who pays (one-time and yearly money are budgeted apart, so they are shared apart)</h3>
{_table(who_pays(result), ["capital paid", "recurring paid", "local match paid"], "who-pays")}"""


def _effect(result: PlanResult, figures: list[str]) -> str:
    """Page 3: what the plan does, by threat and in PASS tiers."""
    money = result.tier_money().reset_index().rename(columns={"pass_tier": "what it does for PASS tiers"})
    return f"""<h2>What it does</h2>
<p>{escape(risk_range_words(result))}</p>
{_table(risk_by_threat(result), [], "by-threat")}
<p class="caveat">{escape(MODEL_CAVEAT)}</p>
<h3>What it changes in PASS tiers</h3>
<p class="price-range">{escape(TIER_RULE)}</p>
{_table(tier_change(result), [], "tier-change")}
{_table(money, ["capital"], "tier-money")}
{"".join(figures)}"""


def _unspent(result: PlanResult, figures: list[str]) -> str:
    """Page 4: what money the plan does not spend, and why."""
    sentences = tables.money_left(result)
    said = ("".join(f"<li>{escape(s)}</li>" for s in sentences) if sentences else
            "<li>Every grant dollar and all of the district's money that may pay for more is spent.</li>")
    return f"""<h2>What is not spent, and why</h2>
<ul class="unspent">{said}</ul>
{"".join(figures)}"""


def _measures(result: PlanResult, figures: list[str]) -> str:
    """Appendix A: the plan by measure, and where the money goes."""
    buy = result.what_to_buy()
    buy = buy[["measure", "schools", "where", "fiscal_years", "capital", "annual", "paid_by"]].rename(
        columns={"fiscal_years": "fiscal years", "annual": "annual cost", "paid_by": "paid by"})
    buy["schools"] = [str(n) if n else "" for n in buy["schools"]]  # district-wide measures: no count
    return f"""<h2>Appendix A: what we buy, by measure ({len(buy)} measures, {len(result.plan.items):,} plan lines)</h2>
{_table(buy, ["capital", "annual cost"], "what-we-buy")}
{"".join(figures)}"""


def _lines(plan: pd.DataFrame) -> str:
    return (f'<section id="appendix-plan">\n<h2>Appendix A (continued): every plan line ({len(plan)} items)</h2>\n'
            f'{_table(plan, ["capital_cost", "annual_cost"])}\n</section>')


# -- charts ------------------------------------------------------------------------------

def _figures(result: PlanResult) -> dict[str, list[go.Figure]]:
    """The app's charts of the plan, sized and styled for the page (the same colors), by the
    page they stand on; a district too large for one page of tier heat maps gets them in
    Appendix A."""
    items = result.plan.items
    layers = list(result.problem.layers)
    sources = tables.source_ids(result)
    before, after = result.tiers()
    sites = result.school_names()
    heat = [charts.tier_heatmaps(before.iloc[start:start + HEATMAP_SITES], after.iloc[start:start + HEATMAP_SITES],
                                 layer_names(result), sites)
            for start in range(0, max(len(before), 1), HEATMAP_SITES)]
    pages = {"effect": heat if len(heat) == 1 else [],
             "unspent": [charts.money_waterfall(tables.money_flow(result)),
                         charts.capital_by_year(tables.capital_by_year(result), result.problem.capital_budget,
                                                sources, result.problem.years)],
             "measures": [charts.spend_treemap(items, layers),
                          charts.funding_sankey(tables.source_to_layer(result), sources, layers),
                          *(heat if len(heat) > 1 else [])]}
    for figures in pages.values():
        for fig in figures:
            fig.update_layout(width=PRINT_WIDTH, template="plotly_white", font_family=FONT)
    return pages


def _chart_html(fig: go.Figure) -> str:
    body = fig.to_html(full_html=False, include_plotlyjs=False, default_width=f"{PRINT_WIDTH}px",
                       default_height=f"{fig.layout.height or 420}px",
                       config={"displaylogo": False, "responsive": False})
    return f'<div class="chart">{body}</div>'


def report_html(result: PlanResult, assumptions: dict[str, str], lines: bool = True) -> str:
    """A self-contained HTML report of a plan for a school board.

    Parameters
    ----------
    result : PlanResult
        A plan (``result.plan`` is not None).
    assumptions : dict of str to str
        What the plan rests on, with its sources (``optimizer.reports.export.assumptions``).
    lines : bool
        Whether Appendix A lists every plan line (many pages for a large district; the
        appendix's table by measure already gives every measure).

    Returns
    -------
    str
        One HTML document, a page each, in the order a board reads: the ask (costs by year,
        what the operating budget carries, the grants spent and when they expire), the
        projects and who pays, what the plan does (by threat, with the model's caveat, and in
        PASS tiers), what is not spent and why; then Appendix A (by measure, where the money
        goes, optionally every plan line) and Appendix B (notes, funding by source,
        assumptions and sources, the solver's figures). Plotly's JavaScript is inlined once in
        the head, so it opens offline; ``@page`` sets US Letter paper.
    """
    # the board reads its units and the costs; the solver's figures go to the appendix
    cards = "".join(f'<div class="card"><div class="label">{escape(label)}</div>'
                    f'<div class="value">{escape(value)}</div><div class="label">{escape(note or "")}</div></div>'
                    for label, value, note in tables.headline_numbers(result) + _cost_numbers(result))
    analyst = "; ".join(f"{label} {value}" + (f" ({note})" if note else "")
                        for label, value, note in _analyst_numbers(result))
    charts_of = {page: [_chart_html(fig) for fig in figures] for page, figures in _figures(result).items()}
    columns = ["site_id", "year", "measure_id", "name", "layer", "component", "tier", "quantity",
               "capital_cost", "annual_cost"]
    plan = tables.plan_rows(result).sort_values(["site_id", "year", "measure_id"])[columns]
    balance = tables.source_balance(result)
    notes = "".join(f"<li>{escape(n)}</li>" for n in result.report.notes)
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in assumptions.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Security plan: {escape(result.scenario)}</title><style>{STYLE}</style>
<script>window.PlotlyConfig = {{MathJaxConfig: 'local'}};</script>
<script>{plotly.offline.get_plotlyjs()}</script>
</head>
<body>
<section id="ask">
<h1>School security plan</h1>
<p class="sub">{escape(result.scenario)}. All costs in US dollars of {result.problem.dollar_year} (CPI-U).</p>
<div class="cards">{cards}</div>
<p class="caveat">{escape(MODEL_CAVEAT)}</p>
{_ask(result)}
</section>
<section id="projects">{_projects(result)}</section>
<section id="effect">{_effect(result, charts_of["effect"])}</section>
<section id="unspent">{_unspent(result, charts_of["unspent"])}</section>
<section id="appendix-measures">{_measures(result, charts_of["measures"])}</section>
{_lines(plan) if lines else ""}
<section id="appendix-assumptions">
<h2>Appendix B: notes, funding by source, assumptions and sources</h2>
<p class="sub">For analysts: {escape(analyst)}.</p>
{f"<h3>Notes</h3><ul>{notes}</ul>" if notes else ""}
<h3>Funding by source</h3>
{_table(balance, tables.BALANCE_MONEY)}
<h3>Grant money used and left</h3>
{_table(result.grant_use().drop(columns=["grant_share", "source"]).rename(
    columns={"local_match": "local match", "why_unused": "why money is left"}), ["award", "used", "local match", "unused"])}
<h3>Assumptions and sources</h3>
<table>{rows}</table>
</section>
</body></html>
"""


def write_report(result: PlanResult, path: Path | str, assumptions: dict[str, str], lines: bool = True) -> Path:
    """Write the board report by the file's suffix: ``.html`` (opens offline in any browser)
    or ``.pdf`` (printed by Chromium, :func:`optimizer.reports.pdf.html_to_pdf`). The file is
    replaced atomically; ``lines`` as in :func:`report_html`.

    Raises
    ------
    ValueError
        For another suffix.
    PdfError
        When a PDF cannot be printed (no Chromium): nothing is written.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in REPORT_FILES:
        raise ValueError(f"unknown report file type {suffix!r}; use .html or .pdf")
    html = report_html(result, assumptions, lines)
    content = html_to_pdf(html) if suffix == ".pdf" else html.encode("utf-8")
    with replacing(path) as temp:
        temp.write_bytes(content)
    return path

