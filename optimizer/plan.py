"""A plan: what is installed where and when, and who pays each dollar. Read from a solved
model (or built by the greedy baseline); independent of PuLP once built."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

from .problem import Problem

LOCAL = "local"
ITEM_COLUMNS = ["measure_id", "site_id", "year", "quantity", "unit", "capital_cost", "annual_cost",
                "layer", "component", "tier", "name", "budget_category"]
FUNDING_COLUMNS = ["measure_id", "site_id", "year", "kind", "source", "amount", "match_for"]


@dataclass
class Plan:
    """Installations and their funding.

    Attributes
    ----------
    installs : dict of int to int
        Candidate row -> fiscal year of installation.
    items : DataFrame
        One row per measure x site x year installed (``ITEM_COLUMNS``).
    funding : DataFrame
        Dollars by item, fiscal year, kind (``capital`` once, ``annual`` every year in place)
        and source (``local`` for the district's own money); ``match_for`` names the grant a
        local dollar matches.
    """

    installs: dict[int, int]
    items: pd.DataFrame
    funding: pd.DataFrame


def items_table(problem: Problem, installs: dict[int, int]) -> pd.DataFrame:
    """One row per installed item, in install order."""
    order = sorted(installs, key=lambda c: (installs[c], c))
    chosen = problem.candidates.iloc[order]
    items = pd.DataFrame({
        "measure_id": chosen["measure_id"].to_numpy(), "site_id": chosen["site_id"].to_numpy(),
        "year": [installs[c] for c in order], "quantity": chosen["quantity"].astype(int).to_numpy(),
        "unit": chosen["unit"].to_numpy(),
        "capital_cost": chosen["capital"].astype(float).to_numpy(),
        "annual_cost": chosen["annual"].astype(float).to_numpy(),
        "layer": chosen["layer"].to_numpy(), "component": chosen["component"].to_numpy(),
        "tier": chosen["tier"].astype(int).to_numpy(), "name": chosen["name"].to_numpy(),
        "budget_category": chosen["budget_category"].to_numpy(),
    })
    return items[ITEM_COLUMNS]


def split_funding(problem: Problem, installs: dict[int, int],
                  grants: dict[tuple[str, str, int, int], float],
                  matches: dict[tuple[str, int, int], float]) -> pd.DataFrame:
    """Attribute class-level money to items, in proportion to each item's cost.

    Parameters
    ----------
    problem : Problem
        The problem the plan belongs to.
    installs : dict
        Candidate row -> install year.
    grants : dict
        (kind, source, class, year) -> dollars paid by that source on that class of items.
    matches : dict
        (source, class, year) -> local capital dollars counted as that source's match.
    """
    cand = problem.candidates
    capital, annual = cand["capital"].to_numpy(), cand["annual"].to_numpy()
    cap_cls, op_cls = cand["cap_class"].to_numpy(), cand["op_class"].to_numpy()
    measure, site = cand["measure_id"].tolist(), cand["site_id"].tolist()
    members = defaultdict(list)
    for c, year in installs.items():
        if capital[c] > 0:
            members["capital", int(cap_cls[c]), year].append(c)
        if annual[c] > 0:
            for t in problem.years:
                if t >= year:
                    members["annual", int(op_cls[c]), t].append(c)
    grant_by = defaultdict(list)
    for (kind, src, q, t), amount in grants.items():
        grant_by[kind, q, t].append((src, amount))
    match_by = defaultdict(list)
    for (src, q, t), amount in matches.items():
        match_by[q, t].append((src, amount))
    rows = []
    for (kind, q, t), items in sorted(members.items()):
        cost = capital if kind == "capital" else annual
        total = float(sum(cost[c] for c in items))
        granted = sum(a for _, a in grant_by.get((kind, q, t), []))
        # Solver tolerances can leave grants a hair above what the items cost: never pay more.
        scale = min(1.0, total / granted) if granted > 0 else 1.0
        given: dict[str, float] = defaultdict(float)
        ordered = sorted(items)
        for c in ordered:
            share = cost[c] / total
            paid = 0.0
            for src, amount in sorted(grant_by.get((kind, q, t), [])):
                dollars = round(amount * scale * share, 2)
                if c == ordered[-1]:  # the last item takes the rest, so cents never add up past the award
                    dollars = round(amount * scale - given[src], 2)
                given[src] += dollars
                if dollars > 0:
                    rows.append((measure[c], site[c], t, kind, src, dollars, ""))
                    paid += dollars
            local = round(float(cost[c]) - paid, 2)
            if kind == "capital":
                for src, amount in sorted(match_by.get((q, t), [])):
                    dollars = min(round(amount * share, 2), local)
                    if dollars > 0:
                        rows.append((measure[c], site[c], t, kind, LOCAL, dollars, src))
                        local = round(local - dollars, 2)
            if local > 0:
                rows.append((measure[c], site[c], t, kind, LOCAL, local, ""))
    return pd.DataFrame(rows, columns=FUNDING_COLUMNS)


def make_plan(problem: Problem, installs: dict[int, int],
              grants: dict[tuple[str, str, int, int], float],
              matches: dict[tuple[str, int, int], float]) -> Plan:
    """Assemble a Plan from installations and class-level funding."""
    return Plan(dict(installs), items_table(problem, installs), split_funding(problem, installs, grants, matches))
