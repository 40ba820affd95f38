"""The plan as one self-contained HTML page for a school board: headline numbers, charts
(plotly, its JavaScript inlined once), the plan table, funding by source, and the
assumptions and sources the plan rests on. A pure function of the result; no Streamlit."""
from __future__ import annotations

from html import escape

import pandas as pd

from optimizer.core.result import PlanResult

from . import charts, fmt, tables

STYLE = """
body { font-family: system-ui, -apple-system, Segoe UI, Roboto, sans-serif; margin: 2rem auto;
       max-width: 1100px; color: #222; line-height: 1.4; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } .sub { color: #666; margin-top: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 1rem 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 0.6rem 1rem; min-width: 9rem; }
.card .label { color: #666; font-size: 0.85rem; } .card .value { font-size: 1.4rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #f4f6f8; }
"""


def headline(result: PlanResult) -> list[tuple[str, str, str | None]]:
    """The headline numbers of a plan as the app shows them: label, value, and a note on
    the change from nothing bought (or None)."""
    totals = result.totals()
    after, before, cells = tables.tiers_reached(result)
    return [("Risk reduction", fmt.value(result.value),
             f"+{fmt.value(result.value - result.baseline_value)} over nothing bought"),
            ("Capital spend", fmt.money(totals["capital"]), None),
            ("Annual cost (last year)", fmt.money(totals["annual"]), None),
            ("Total cost of ownership", fmt.money(totals["tco"]), None),
            ("Items", f"{len(result.plan.items):,}", None),
            ("Site-layers at tier 1+", f"{after} of {cells}", f"+{after - before} from {before}"),
            ("Optimality gap", fmt.gap(result.report.gap), None),
            ("Status", str(result.status), None)]


def _table(frame: pd.DataFrame, money: list[str] = ()) -> str:
    shown = frame.copy()
    for column in money:
        shown[column] = shown[column].map(fmt.money)
    return shown.to_html(index=False, escape=True, border=0)


def _figures(result: PlanResult) -> list:
    items = result.plan.items
    layers = list(result.problem.layers)
    sources = tables.source_ids(result)
    before, after = result.tiers()
    return [charts.spend_treemap(items, layers),
            charts.money_waterfall(tables.money_flow(result)),
            charts.capital_by_year(tables.capital_by_year(result), result.problem.capital_budget, sources),
            charts.funding_sankey(tables.source_to_layer(result), sources, layers),
            charts.tier_heatmaps(before, after)]


def report_html(result: PlanResult, assumptions: dict[str, str]) -> str:
    """A self-contained HTML report of a plan.

    Parameters
    ----------
    result : PlanResult
        A plan (``result.plan`` is not None).
    assumptions : dict of str to str
        What the plan rests on, with its sources (``optimizer.reports.export.assumptions``).

    Returns
    -------
    str
        One HTML document; plotly's JavaScript is inlined once, so it opens offline.
    """
    cards = "".join(f'<div class="card"><div class="label">{escape(label)}</div>'
                    f'<div class="value">{escape(value)}</div><div class="label">{escape(note or "")}</div></div>'
                    for label, value, note in headline(result))
    figures = "".join(fig.to_html(full_html=False, include_plotlyjs=i == 0, config={"displaylogo": False})
                      for i, fig in enumerate(_figures(result)))
    columns = ["site_id", "year", "measure_id", "name", "layer", "component", "tier", "quantity",
               "capital_cost", "annual_cost"]
    plan = tables.plan_rows(result).sort_values(["site_id", "year", "measure_id"])[columns]
    balance = tables.source_balance(result)
    notes = "".join(f"<li>{escape(n)}</li>" for n in result.report.notes)
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in assumptions.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Security plan: {escape(result.scenario)}</title><style>{STYLE}</style></head>
<body>
<h1>School security plan</h1>
<p class="sub">{escape(result.scenario)}</p>
<div class="cards">{cards}</div>
{f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""}
<h2>Charts</h2>
{figures}
<h2>Plan: {len(plan)} items</h2>
{_table(plan, ["capital_cost", "annual_cost"])}
<h2>Funding by source</h2>
{_table(balance, tables.BALANCE_MONEY)}
<h2>Grant money used and left</h2>
{_table(result.grant_use().drop(columns=["grant_share"]).rename(columns={"local_match": "local match", "why_unused": "why money is left"}), ["award", "used", "local match", "unused"])}
<p class="sub">All costs in US dollars of {result.problem.dollar_year} (CPI-U).</p>
<h2>Assumptions and sources</h2>
<table>{rows}</table>
</body></html>
"""
