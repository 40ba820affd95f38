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
    frame = pd.DataFrame({
        "key": cand["project"].to_numpy()[rows], "year": [installs[c] for c in rows],
        "measure_id": cand["measure_id"].to_numpy()[rows], "site_id": cand["site_id"].to_numpy()[rows],
        "capital": cand["capital"].to_numpy(dtype=float)[rows] * [len(problem.purchases(c, installs[c])) for c in rows],
        "annual": cand["annual"].to_numpy(dtype=float)[rows],
        "procured": procured(problem)[rows]})
    order = {comp: i for i, comp in enumerate(problem.components)}
    table = (frame.groupby(["year", "key"], sort=False)
             .agg(measures=("measure_id", "nunique"), places=("site_id", "nunique"), items=("measure_id", "size"),
                  capital=("capital", "sum"), annual=("annual", "sum"), procured=("procured", "any"),
                  measure_ids=("measure_id", lambda ids: ";".join(dict.fromkeys(ids))))
             .reset_index())
    table["procurement"] = np.where(table["procured"], problem.project_cost, 0.0)
    table["project"] = [project_name(problem, key, year) for key, year in zip(table["key"], table["year"])]
    table = table.sort_values(["year", "key"], key=lambda col: col.map(lambda k: order.get(k, -1))
                              if col.name == "key" else col, kind="mergesort").reset_index(drop=True)
    return table[PROJECT_COLUMNS]
