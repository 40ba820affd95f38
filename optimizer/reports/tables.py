"""Plan results reshaped for display: filtered plan rows, the flow of money from budget to
remainder, what each funding source paid and has left, and source-to-layer flows. Pure
pandas on a :class:`~optimizer.core.result.PlanResult`; no Streamlit, no planning logic."""
from __future__ import annotations

import pandas as pd

from optimizer.core import tiers
from optimizer.core.plan import LOCAL
from optimizer.core.result import PlanResult, money_words, percent
from optimizer.reports.export import column_headers, plan_table

KEY = ["measure_id", "site_id"]
#: Differences below this many dollars are rounding of costs split over sources.
CENTS = 1.0
#: Dollar columns of :func:`source_balance`.
BALANCE_MONEY = ["available", "capital paid", "recurring paid", "local match paid", "left"]


def plan_rows(result: PlanResult, sites=(), layers=(), years=(), sources=()) -> pd.DataFrame:
    """The plan's items with their capital split by source, filtered.

    Parameters
    ----------
    result : PlanResult
        A plan.
    sites, layers, years, sources : collections
        Keep only items at these sites, in these layers, installed in these fiscal years,
        or paid (capital or recurring) by these sources; empty keeps all.
    """
    table = plan_table(result)
    keep = pd.Series(True, index=table.index)
    for column, wanted in (("site_id", sites), ("layer", layers), ("year", years)):
        if wanted:
            keep &= table[column].isin(list(wanted))
    if sources:
        funding = result.funding
        paid = funding[funding["source"].isin(list(sources)) & (funding["amount"] > 0)]
        keys = set(zip(paid["measure_id"], paid["site_id"]))
        keep &= [k in keys for k in zip(table["measure_id"], table["site_id"])]
    return table[keep].reset_index(drop=True)


def in_words(result: PlanResult, rows: pd.DataFrame) -> pd.DataFrame:
    """Plan rows (:func:`plan_rows`) as a person reads them: layers and components by their
    PASS names, headers in words as in the workbook, no ids."""
    problem = result.problem
    shown = rows.drop(columns=["measure_id", "site_id"]).assign(
        layer=rows["layer"].map(problem.layer_names).fillna(rows["layer"]),
        component=rows["component"].map(problem.component_names).fillna(rows["component"]))
    return shown.rename(columns=column_headers(result, shown, "Plan by site"))


def projects(result: PlanResult) -> pd.DataFrame:
    """The plan as a board approves it, one row per project in the order bought, for the
    Plan page's first table."""
    return result.projects().drop(columns=["key", "year"]).rename(columns={
        "project": "Project", "buys": "What it buys", "places": "Places", "items": "Items", "capital": "Capital",
        "annual": "Annual cost", "procurement": "Procurement staff time", "paid_by": "Paid by"})


def project_count(counted) -> pd.DataFrame:
    """Risk reduction against the number of projects (``optimizer.analyses.project_count``),
    in words a board reads, for the Plan page."""
    table = counted.table.assign(max_projects=[
        "none" if limit is None or limit != limit else f"{limit:.0f}" for limit in counted.table["max_projects"]])
    return table.rename(columns={
        "plan": "Plan", "max_projects": "Project limit", "procurement_each": "Procuring a project",
        "projects": "Projects", "risk_removed": "Modelled risk reduced", "avoided": "Serious harm avoided",
        "procurement": "Procurement staff time", "local_money": "Local money", "status": "Status",
        "gap": "Proven gap", "scenario": "The scenario's plan"})


def what_to_buy(result: PlanResult) -> pd.DataFrame:
    """The plan by measure (one row each, largest capital first), names first, for the
    Plan page's table above the item list."""
    return result.what_to_buy().rename(columns={
        "measure": "Measure", "schools": "Schools", "where": "Where", "quantity": "Quantity", "unit": "Unit",
        "capital": "Capital", "annual": "Annual cost", "fiscal_years": "Fiscal years", "paid_by": "Paid by",
        "measure_id": "Measure id"})


def headline_numbers(result: PlanResult) -> list[tuple[str, str, str | None]]:
    """The plan in a board's units, as the command line words it: share of the modelled risk
    reduced, risk removed, cost per point of risk reduced, site-layers at tier 1+ (label,
    value, note)."""
    after, cells = result.tier1_reached()
    before, _ = result.tier1_reached(before=True)
    per_point = result.dollars_per_point
    return [("Modelled risk reduced", percent(result.gap_closed), "of the risk left by what is in place"),
            ("Modelled risk removed", percent(result.protection),
             f"from {percent(result.baseline_protection)} by what is in place"),
            ("Cost per point of risk reduced", "-" if per_point is None else money_words(per_point),
             "total cost of ownership"),
            ("Site-layers at tier 1+", f"{after} of {cells}", f"+{after - before} from {before}")]


def source_ids(result: PlanResult) -> list[str]:
    """Funding sources of the plan, awarded grants first, then ``local``."""
    return [s.id for s in result.problem.sources] + [LOCAL]


def _grants_available(result: PlanResult) -> dict[str, float]:
    return {s.id: s.award_over_horizon for s in result.problem.sources}


def _local_capital(result: PlanResult) -> float:
    """Local capital over the horizon: the yearly budgets, capped by the total if one is set."""
    problem = result.problem
    whole = sum(problem.capital_budget.values())
    return whole if problem.total_budget is None else min(whole, problem.total_budget)


def money_left(result: PlanResult) -> list[str]:
    """Why money is not spent, one sentence per source: each grant with money left (it expires
    at the end of its period) and why, then the district's own money and why (empty when every
    dollar is spent)."""
    sentences = [f"{row.name} ({row.period}): {money_words(row.unused)} of its {money_words(row.award)} not "
                 f"spent: {row.why_unused}."
                 for row in result.grant_use().itertuples() if row.unused >= 1]
    return sentences + [f"{sentence[0].upper()}{sentence[1:]}." for sentence in result.local_left_words()]


def unchanged_words(before: PlanResult, after: PlanResult) -> str | None:
    """When a change leaves the plan as it was (the same items in the same years), say so and
    what holds it there; None when the plan changed."""
    if before.plan is None or after.plan is None:
        return None
    if before.keyed_installs() != after.keyed_installs():
        return None
    left = money_left(after)
    why = (" ".join(left) if left else "Every dollar that may pay for more is spent: the budgets that bind "
           "are in the Funding page's table.")
    return f"This change leaves the plan as it was (the same items in the same years). {why}"


def money_flow(result: PlanResult) -> pd.DataFrame:
    """Steps from the money available for capital to what is left.

    Returns
    -------
    DataFrame
        Columns ``step``, ``amount`` (negative for spending) and ``measure`` (plotly
        waterfall: ``absolute``, ``relative`` or ``total``): local capital budget, awarded
        grants, capital spend, grant money spent on recurring costs, and what is left (steps
        of $0 left out).
    """
    funding = result.funding
    grant_annual = funding[(funding["kind"] == "annual") & (funding["source"] != LOCAL)]["amount"].sum()
    steps = [("Local capital budget", _local_capital(result), "absolute"),
             ("Awarded grants", sum(_grants_available(result).values()), "relative"),
             ("Capital spend", -result.totals()["capital"], "relative"),
             ("Grants spent on recurring costs", -float(grant_annual), "relative")]
    steps.append(("Not spent", round(sum(amount for _, amount, _ in steps), 2), "total"))
    # a step of $0 says nothing, and plotly draws its empty bar uncolored (black in print)
    steps = [steps[0]] + [step for step in steps[1:] if round(step[1], 2) != 0]
    return pd.DataFrame(steps, columns=["step", "amount", "measure"])


def source_balance(result: PlanResult) -> pd.DataFrame:
    """Per funding source: money available, what it paid for capital and recurring costs,
    the local match paid for it, and what is left.

    The district's own money appears as two rows, ``local capital`` (the capital budget)
    and ``local operating`` (the operating budget, which pays recurring costs).
    """
    funding = result.funding
    paid = funding.pivot_table(index="source", columns="kind", values="amount", aggfunc="sum",
                               fill_value=0.0).reindex(columns=["capital", "annual"], fill_value=0.0)
    match = funding[(funding["source"] == LOCAL) & (funding["match_for"] != "")]
    match = match.groupby("match_for")["amount"].sum()
    rows = []
    names = result.source_names()
    for sid, available in _grants_available(result).items():
        capital, annual = (float(paid.at[sid, k]) if sid in paid.index else 0.0 for k in ("capital", "annual"))
        rows.append((sid, names[sid], available, capital, annual, float(match.get(sid, 0.0))))
    local = paid.loc[LOCAL] if LOCAL in paid.index else pd.Series({"capital": 0.0, "annual": 0.0})
    rows.append(("local capital", "District capital budget", _local_capital(result),
                 float(local["capital"]), 0.0, 0.0))
    rows.append(("local operating", "District operating budget", sum(result.problem.operating_budget.values()),
                 0.0, float(local["annual"]), 0.0))
    table = pd.DataFrame(rows, columns=["source", "name"] + BALANCE_MONEY[:-1])
    left = table["available"] - table["capital paid"] - table["recurring paid"]
    table["left"] = left.where(left.abs() >= CENTS, 0.0)  # cents from splitting costs over sources
    return table


def source_to_layer(result: PlanResult, kinds=("capital", "annual")) -> pd.DataFrame:
    """Dollars from each source to each PASS layer (columns ``source``, ``layer``,
    ``amount``), for the kinds of cost asked (capital, annual or both)."""
    funding = result.funding[result.funding["kind"].isin(list(kinds))]
    layers = result.plan.items[KEY + ["layer"]].drop_duplicates(KEY)
    flows = funding.merge(layers, on=KEY).groupby(["source", "layer"], as_index=False)["amount"].sum()
    return flows[flows["amount"] > 0].reset_index(drop=True)


def capital_by_year(result: PlanResult) -> pd.DataFrame:
    """Capital dollars by fiscal year and source (columns ``year``, ``source``, ``amount``)."""
    funding = result.funding[result.funding["kind"] == "capital"]
    return funding.groupby(["year", "source"], as_index=False)["amount"].sum()


def tier_gaps(result: PlanResult) -> pd.DataFrame:
    """Per school and layer before the plan: tier, measures in place, and the components that
    lack a measure of the next tier, in words."""
    gaps = tiers.tier_gaps(result.problem)
    schools = result.school_names()
    return pd.DataFrame({
        "School": gaps["site_id"].map(schools), "Layer": gaps["layer"], "PASS tier": gaps["tier"],
        "Measures in place": gaps["in_place"],
        "Components without a next-tier measure": gaps["lacking_next_tier"].map(
            lambda comps: ", ".join(c.replace("_", " ") for c in comps)),
    })
