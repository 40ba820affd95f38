"""Projects: a plan as a district procures it.

A project is what one PASS component's purchases in one fiscal year come to (card readers,
controllers and the access platform bought together as "Access Control, FY2027", at every
school that gets them): one specification, one bid or cooperative purchase, one board
approval. An award made for a project (``funding_sources.<id>.project``) is procured as one
project, whatever the components of its measures. A project that buys from vendors
(equipment, supplies, contracted services, training) costs the district
``Problem.project_cost`` to procure, whatever its size: staff time (specification,
solicitation, evaluation, board item), paid from the local operating budget of the year. So a
plan gathers its purchases into few projects. Hires and in-house staff time are not procured.
``policy.max_projects`` counts every project. The candidates' ``project`` column holds each
one's project key (a component id, or ``award:`` and the source's id).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from optimizer.core.problem import AWARD_PROJECT, Problem

#: Budget categories bought from vendors through a procurement (hires and in-house staff
#: time, "personnel" and "other", are not).
PROCURED = frozenset({"equipment", "supplies", "contractual", "training"})

PROJECT_COLUMNS = ["project", "key", "year", "measures", "places", "items", "capital", "annual",
                   "procurement", "measure_ids"]


def procured(problem: Problem) -> np.ndarray:
    """For each candidate row, whether buying it takes a procurement."""
    return problem.candidates["budget_category"].isin(PROCURED).to_numpy()


def project_name(problem: Problem, key: str, year: int) -> str:
    """How a board sees a project: "Access Control, FY2027", or the award's name."""
    if key.startswith(AWARD_PROJECT):
        source = key.removeprefix(AWARD_PROJECT)
        name = next((s.name for s in problem.sources if s.id == source), source)
        return f"{name}: its project, FY{year}"
    return f"{problem.component_names.get(key, key.replace('_', ' ').capitalize())}, FY{year}"


def projects_table(problem: Problem, installs: dict[int, int]) -> pd.DataFrame:
    """One row per project of a plan (``installs``: candidate row -> fiscal year), in the
    order the plan buys them (awards' projects first in a year, then PASS components in
    order): its measures and places, capital over the horizon (its items bought again as
    their life ends included), recurring cost at the end of the horizon and the cost of
    procuring it (``PROJECT_COLUMNS``)."""
    cand = problem.candidates
    rows = sorted(installs, key=lambda c: (installs[c], c))
    if not rows:
        return pd.DataFrame(columns=PROJECT_COLUMNS)
    keys, measures, sites = cand["project"].tolist(), cand["measure_id"].tolist(), cand["site_id"].tolist()
    buys = procured(problem).tolist()
    # per project, in the order the plan first buys it: its measure ids in order, places and items
    found: dict[tuple[int, str], tuple[dict, set, list]] = {}
    for c in rows:
        ids, places, items = found.setdefault((installs[c], keys[c]), ({}, set(), []))
        ids[measures[c]] = None
        places.add(sites[c])
        items.append(c)
    # the dollars are summed as pandas sums a group (compensated), so that a project's cost is its items' to the bit
    money = pd.DataFrame({
        "capital": cand["capital"].to_numpy(dtype=float)[rows] * [len(problem.purchases(c, installs[c])) for c in rows],
        "annual": cand["annual"].to_numpy(dtype=float)[rows]}).groupby(
        [[installs[c] for c in rows], [keys[c] for c in rows]], sort=False).sum()
    capital, annual = money["capital"].to_dict(), money["annual"].to_dict()
    order = {comp: i for i, comp in enumerate(problem.components)}
    return pd.DataFrame(
        [(project_name(problem, key, year), key, year, len(ids), len(places), len(items), capital[year, key],
          annual[year, key], problem.project_cost if any(buys[c] for c in items) else 0.0, ";".join(ids))
         for year, key in sorted(found, key=lambda yk: (yk[0], order.get(yk[1], -1)))
         for ids, places, items in [found[year, key]]],
        columns=PROJECT_COLUMNS)
