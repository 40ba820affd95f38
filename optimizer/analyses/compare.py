"""Scenarios side by side: headline numbers, PASS tiers per site and layer, spend by fiscal
year, layer and funding source, and the measures each scenario adds or drops against the
first one, with deltas."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from optimizer.core.result import PlanResult
from optimizer.errors import NoFeasiblePlan


@dataclass
class Comparison:
    """Plans of several scenarios, each table with one column per scenario (in the order
    given) and ``delta`` columns against the first.

    Attributes
    ----------
    summary : DataFrame
        Value, gain over buying nothing, gap, items, capital, annual cost, total cost of
        ownership and local capital per scenario.
    tiers : DataFrame
        PASS tier reached per site and layer (rows) and scenario (columns).
    spend_by_year, spend_by_layer, spend_by_source : DataFrame
        Capital dollars by fiscal year, by layer and by funding source.
    changes : DataFrame
        Each item (measure at a site) that is not in every plan, by measure and school name:
        the fiscal year in each scenario (missing where it does not have it), the change against
        the first scenario (added, dropped, moved) and the capital that adds or takes out.
    """

    names: list[str]
    summary: pd.DataFrame
    tiers: pd.DataFrame
    spend_by_year: pd.DataFrame
    spend_by_layer: pd.DataFrame
    spend_by_source: pd.DataFrame
    changes: pd.DataFrame


#: The summary's rows in words (the board's unit first).
SUMMARY_WORDS = {"risk_reduced": "modelled risk reduced (share of the risk left by what is in place)",
                 "value": "risk reduced over the horizon (serious-harm equivalents)",
                 "gain": "serious-harm equivalents avoided over buying nothing", "gap": "optimality gap",
                 "items": "items", "capital": "capital", "annual": "annual cost (last year)",
                 "tco": "total cost of ownership", "local_capital": "local capital"}


def _with_deltas(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    frame = frame.reindex(columns=names).fillna(0.0)
    for name in names[1:]:
        frame[f"delta {name}"] = frame[name] - frame[names[0]]
    return frame


def _summary(result: PlanResult) -> dict[str, float]:
    totals = result.totals()
    local = result.funding[(result.funding["source"] == "local") & (result.funding["kind"] == "capital")]
    return {"risk_reduced": result.gap_closed, "value": result.value, "gain": result.value - result.baseline_value,
            "gap": result.report.gap if result.report.gap is not None else float("nan"),
            "items": float(len(result.plan.items)), "capital": totals["capital"],
            "annual": totals["annual"], "tco": totals["tco"],
            "local_capital": float(local["amount"].sum())}


def compare(results: dict[str, PlanResult]) -> Comparison:
    """Compare verified plans of several scenarios.

    Parameters
    ----------
    results : dict of str to PlanResult
        Scenario label -> its plan, the first being the reference for deltas. Every result
        must have a plan.

    Returns
    -------
    Comparison
    """
    if len(results) < 2:
        raise ValueError("compare needs at least two scenarios")
    missing = [name for name, r in results.items() if r.plan is None]
    if missing:
        raise NoFeasiblePlan(f"compare {', '.join(missing)}")
    names = list(results)
    summary = _with_deltas(pd.DataFrame({n: _summary(r) for n, r in results.items()}), names)
    tiers = pd.DataFrame({n: r.tiers()[1].stack() for n, r in results.items()})
    tiers.index.names = ["site_id", "layer"]
    spend = {axis: _with_deltas(pd.DataFrame({n: r.spend_by(axis) for n, r in results.items()}), names)
             for axis in ("year", "layer")}
    by_source = _with_deltas(pd.DataFrame({n: r.spend_by_source()["capital"] for n, r in results.items()}), names)
    return Comparison(names, summary, _with_deltas(tiers, names), spend["year"], spend["layer"],
                      by_source, _changes(results))


def _changes(results: dict[str, PlanResult]) -> pd.DataFrame:
    """Items not in every plan, by measure and school name: the fiscal year in each plan, what
    changed against the first plan, and the capital that change adds (+) or takes out (-) of it."""
    years = {n: r.plan.items.set_index(["measure_id", "site_id"])["year"] for n, r in results.items()}
    frame = pd.DataFrame(years)
    differs = frame.isna().any(axis=1) | (frame.nunique(axis=1) > 1)
    frame = frame[differs].sort_index().astype("Int64")  # fiscal years; missing where not in a plan
    first = list(results)[0]
    frame["change"] = ["added" if pd.isna(row[first]) else
                       "dropped" if row.drop(first).isna().any() else "moved"
                       for _, row in frame.iterrows()]
    items = pd.concat([r.plan.items for r in results.values()]).drop_duplicates(["measure_id", "site_id"])
    items = items.set_index(["measure_id", "site_id"]).reindex(frame.index)
    schools = {k: v for r in results.values() for k, v in r.school_names().items()}
    sign = frame["change"].map({"added": 1.0, "dropped": -1.0, "moved": 0.0})
    frame.insert(0, "measure", items["name"].to_numpy())
    frame.insert(1, "school", [schools.get(site, site) for _, site in frame.index])
    frame["capital_change"] = (sign * items["capital_cost"]).to_numpy()
    return frame.reset_index()[["measure", "school", *results, "change", "capital_change", "measure_id", "site_id"]]
