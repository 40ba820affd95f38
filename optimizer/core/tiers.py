"""PASS tier attained per site and layer: the highest tier k such that, in every component of
the layer for which the catalog offers a tier-1 measure, a measure of each tier 1..k is in
place at the site or district-wide."""
from __future__ import annotations

from collections import defaultdict

import pandas as pd

from optimizer.core.problem import DISTRICT, Problem


def _levels(problem: Problem, installs: dict[int, int] | None) -> dict[tuple[str, str], dict[str, int]]:
    """Per site and layer, the tier reached in each component for which the catalog offers a
    tier-1 measure at the site or district-wide (existing measures plus ``installs``)."""
    present: dict[tuple[str, str, str], set[int]] = defaultdict(set)
    for r in problem.existing.itertuples(index=False):
        present[r.site_id, r.layer, r.component].add(int(r.tier))
    cand = problem.candidates
    offered = {(r.site_id, r.layer, r.component) for r in cand[cand["tier"] == 1].itertuples()}
    offered |= {(r.site_id, r.layer, r.component) for r in problem.existing.itertuples() if r.tier == 1}
    site, layer_of, comp, tier = (cand[k].tolist() for k in ("site_id", "layer", "component", "tier"))
    for c in installs or {}:
        present[site[c], layer_of[c], comp[c]].add(int(tier[c]))
    levels: dict[tuple[str, str], dict[str, int]] = {}
    for s in problem.sites:
        for layer in problem.layers:
            by_comp = {}
            for comp in problem.components:
                places = problem.serving(s.id, layer)
                if not any((place, layer, comp) in offered for place in places):
                    continue
                have = set().union(*(present[place, layer, comp] for place in places))
                k = 0
                while k + 1 in have:
                    k += 1
                by_comp[comp] = k
            levels[s.id, layer] = by_comp
    return levels


def tiers_attained(problem: Problem, installs: dict[int, int] | None = None) -> pd.DataFrame:
    """Tier per site (rows) and layer (columns), from existing measures plus ``installs``.

    Parameters
    ----------
    problem : Problem
        Gives sites, layers, components and what is already in place.
    installs : dict, optional
        Candidate row -> install year; all count as in place at the end of the horizon.
    """
    levels = _levels(problem, installs)
    table = {s.id: {layer: min(levels[s.id, layer].values(), default=0) for layer in problem.layers}
             for s in problem.sites}
    frame = pd.DataFrame.from_dict(table, orient="index")[problem.layers]
    frame.index.name = "site_id"
    return frame


def tier_gaps(problem: Problem, installs: dict[int, int] | None = None) -> pd.DataFrame:
    """Why each site is at its tier in each layer: how many measures of the layer are in place
    there (district-wide ones included) and the PASS components that hold the layer at that
    tier, i.e. lack a measure of the next tier (a school with a dozen measures in place is
    still at tier 0 when one component has no tier-1 measure)."""
    levels = _levels(problem, installs)
    cand = problem.candidates
    rows = [(r.site_id, r.layer) for r in problem.existing.itertuples(index=False)]
    site, layer_of = cand["site_id"].to_numpy(), cand["layer"].to_numpy()
    rows += [(site[c], layer_of[c]) for c in installs or {}]
    count: dict[tuple[str, str], int] = defaultdict(int)
    for site_id, layer in rows:
        count[site_id, layer] += 1
    count = {(s.id, layer): sum(count.get((place, layer), 0) for place in problem.serving(s.id, layer))
             for s in problem.sites for layer in problem.layers}
    out = []
    for s in problem.sites:
        for layer in problem.layers:
            by_comp = levels[s.id, layer]
            tier = min(by_comp.values(), default=0)
            holding = sorted(comp for comp, k in by_comp.items() if k == tier)
            out.append((s.id, layer, tier, count[s.id, layer], holding))
    return pd.DataFrame(out, columns=["site_id", "layer", "tier", "in_place", "lacking_next_tier"])


def tier1_count(frame: pd.DataFrame) -> tuple[int, int]:
    """Site-layer cells of a :func:`tiers_attained` table at tier 1 or higher, and all cells."""
    return int((frame >= 1).to_numpy().sum()), int(frame.size)


TOWARD = "toward the next tier"
WITHIN = "within the tiers reached"
BEYOND = "beyond the next tier"
OUTSIDE = "outside the tiers"


def tier_progress(items: pd.DataFrame, after: pd.DataFrame) -> pd.Series:
    """For each plan item, what it does for PASS tiers: within the tiers its school reaches in
    the layer after the plan (``after``, from :func:`tiers_attained`), toward the next tier,
    beyond the next tier (money that buys nothing toward a tier yet), or outside the tiers.
    District-wide items count at the school where they help most."""
    out = []
    for r in items.itertuples(index=False):
        if r.tier == 0:
            out.append(OUTSIDE)
            continue
        reached = (after[r.layer].max() if r.site_id == DISTRICT else after.at[r.site_id, r.layer])
        out.append(WITHIN if r.tier <= reached else TOWARD if r.tier == reached + 1 else BEYOND)
    return pd.Series(out, index=items.index, name="pass_tier", dtype=object)
