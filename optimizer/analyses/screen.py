"""Screening: every catalog measure with a verdict and its reason, the answer to "which
products are unnecessary for us". A measure is chosen, or it is out for the first reason
that applies: already in place, discouraged by guidance, prohibited, evidence against it,
worth buying only with more money, or never chosen at any budget up to a multiple of the
scenario's, and then dominated by another option of its layer and component, held back by a
tier the sites cannot reach, or simply not worth its cost."""
from __future__ import annotations

from collections import defaultdict

import pandas as pd

from optimizer.analyses.stance_check import stance_check
from optimizer.analyses.sweep import BudgetSweep
from optimizer.core.grant_use import rulings_for
from optimizer.core.problem import Problem
from optimizer.core.result import PlanResult
from optimizer.core.status import SolveOptions
from optimizer.data.inputs import Inputs
from optimizer.data.stances import STANCES

SCREEN_COLUMNS = ["measure_id", "name", "layer", "component", "role", "tier", "evidence", "verdict", "reason",
                  "better_buy", "chosen_under", "grant_rules"]
#: Evidence ratings that keep a measure out of the recommendations, with the words used.
EVIDENCE_AGAINST = {"harmful": "evidence suggests harm", "contested": "evidence is contested",
                    "none": "no evidence that it works"}
VERDICTS = ("chosen", "in place", "discouraged", "prohibited", "weak evidence", "needs more budget",
            "dominated", "skips tiers", "never chosen")


def _tco(problem: Problem) -> pd.Series:
    """Total cost of ownership of each candidate over the horizon if bought in year one."""
    cand = problem.candidates
    return cand["capital"] + cand["annual"] * len(problem.years)


def dominated_by(problem: Problem, allowed: set[str]) -> dict[str, str]:
    """Measures for which another allowed measure of the same layer, component, role and
    scope, of no higher tier, gives at least the effectiveness for no more cost of ownership at every
    place both could go (and is strictly better in one of the two)."""
    cand = problem.candidates.assign(tco=_tco(problem))
    cost = {m: dict(zip(g["site_id"], g["tco"])) for m, g in cand.groupby("measure_id")}
    info = cand.drop_duplicates("measure_id").set_index("measure_id")
    out = {}
    for _, group in info.groupby(["layer", "component", "role", "scope"]):
        for m in group.index:
            for other in group.index:
                if other == m or other not in allowed:
                    continue
                shared = cost[m].keys() & cost[other].keys()
                if not shared or group.at[other, "tier"] > group.at[m, "tier"]:
                    continue
                eff_m, eff_o = group.at[m, "effectiveness"], group.at[other, "effectiveness"]
                cheaper = all(cost[other][s] <= cost[m][s] for s in shared)
                strictly = eff_o > eff_m or any(cost[other][s] < cost[m][s] for s in shared)
                if eff_o >= eff_m and cheaper and strictly:
                    out[m] = f"{other} gives {eff_o:.2f} effectiveness (vs {eff_m:.2f}) for no more cost"
                    break
    return out


def better_buys(problem: Problem, allowed: set[str], evidence: dict[str, str], names: dict[str, str]) -> dict[str, str]:
    """For each measure, the allowed measure that does the same job (same layer and role)
    for less money per unit of effect, in words with the evidence of each."""
    cand = problem.candidates.assign(tco=_tco(problem))
    info = cand.groupby("measure_id").agg(layer=("layer", "first"), role=("role", "first"),
                                          effectiveness=("effectiveness", "first"), tco=("tco", "mean"))
    info = info[info["effectiveness"] > 0]
    info["per_effect"] = info["tco"] / info["effectiveness"]
    out = {}
    for _, group in info.groupby(["layer", "role"]):
        options = group[group.index.isin(allowed)].sort_values("per_effect")
        for mid, row in group.iterrows():
            best = options[options.index != mid].head(1)
            if best.empty or best["per_effect"].iloc[0] >= row["per_effect"]:
                continue
            other = best.index[0]
            b = best.iloc[0]
            out[mid] = (f"{names[other]} does the same job ({row['role']}, {row['layer']} layer) for less: "
                        f"{b['effectiveness']:.2f} of it for ${b['tco']:,.0f} a place over the horizon, against "
                        f"{row['effectiveness']:.2f} for ${row['tco']:,.0f}; evidence {evidence[other]} against "
                        f"{evidence[mid]}")
    return out


def _unreachable_tier(problem: Problem) -> set[str]:
    """Measures whose tier needs a lower-tier measure that no place can get (none offered,
    or every option is ruled out)."""
    cand = problem.candidates
    blocked = defaultdict(list)
    forbidden = cand["forbidden"].to_numpy()
    for c, options in problem.tier_links:
        blocked[cand.at[c, "measure_id"]].append(all(forbidden[o] for o in options))
    return {m for m, flags in blocked.items() if all(flags)}


def screen(inputs: Inputs, result: PlanResult | None = None, multiple: float = 3.0,
           options: SolveOptions = SolveOptions()) -> pd.DataFrame:
    """Give every catalog measure a verdict and the reason for it.

    Parameters
    ----------
    inputs : Inputs
        A checked scenario and catalog.
    result : PlanResult, optional
        The scenario's plan (solved here when not given).
    multiple : float
        Measures not in the plan are tried at budgets up to this multiple of the scenario's
        local capital budget (at 1.5x and at ``multiple`` x) before they are called never chosen.
    options : SolveOptions
        Solver, time limit, gap and threads.

    Returns
    -------
    DataFrame
        One row per measure (``SCREEN_COLUMNS``); ``verdict`` is one of :data:`VERDICTS`
        under the scenario's evidence stance; ``chosen_under`` lists the evidence stances
        under which the plan buys the measure (see :func:`~optimizer.analyses.stance_check.stance_check`).
    """
    sweep = BudgetSweep(inputs, options)
    problem = sweep.problem
    base = sweep.scenario_budget
    result = result or sweep.at(base)
    cand = problem.candidates
    chosen = _chosen(result)
    forbidden = {m: g["forbidden"].iloc[0] for m, g in cand.groupby("measure_id") if (g["forbidden"] != "").all()}
    allowed = set(cand["measure_id"]) - set(forbidden)
    dominated = dominated_by(problem, allowed)
    unreachable = _unreachable_tier(problem)
    larger = {}
    for factor in sorted({1.5, multiple}):
        if factor > 1 and base > 0:
            bigger = sweep.at(base * factor)
            for m in _chosen(bigger):
                larger.setdefault(m, factor)
    in_place = set(problem.existing["measure_id"])
    better = better_buys(problem, allowed, {m.id: m.evidence for m in inputs.catalog.measures.values()},
                         {m.id: m.name for m in inputs.catalog.measures.values()})
    check = stance_check(inputs, options, known=result if result.plan is not None else None)
    under = {st: set(r.plan.items["measure_id"]) for st, r in check.plans.items()}
    rows = []
    for m in inputs.catalog.measures.values():
        verdict, reason = _verdict(m, chosen, in_place, set(cand["measure_id"]), forbidden, dominated,
                                   unreachable, larger, base, multiple)
        rows.append({"measure_id": m.id, "name": m.name, "layer": inputs.catalog.layer_of(m),
                     "component": m.component, "tier": m.tier or "outside", "evidence": m.evidence,
                     "role": m.role, "verdict": verdict, "reason": reason,
                     "better_buy": "" if verdict in ("chosen", "in place") else better.get(m.id, ""),
                     "chosen_under": ", ".join(st for st in STANCES if m.id in under[st]) or "no stance",
                     "grant_rules": "; ".join(rulings_for(problem, m.id))})
    return pd.DataFrame(rows, columns=SCREEN_COLUMNS)


def _chosen(result: PlanResult) -> dict[str, pd.DataFrame]:
    if result.plan is None:
        return {}
    return {m: g for m, g in result.plan.items.groupby("measure_id")}


def _verdict(m, chosen, in_place, candidates, forbidden, dominated, unreachable, larger,
             base: float, multiple: float) -> tuple[str, str]:
    if m.id in chosen:
        items = chosen[m.id]
        note = f"; note: {EVIDENCE_AGAINST[m.evidence]}" if m.evidence in EVIDENCE_AGAINST else ""
        return "chosen", (f"in the plan at {len(items)} place(s), fiscal years "
                          f"{', '.join(map(str, sorted(set(items['year']))))}{note}")
    if m.id not in candidates:
        if m.id in in_place:
            return "in place", "already in place wherever it applies"
        return "in place", "nothing to buy: no site has what it is counted by"
    if m.discouraged:
        return "discouraged", m.discouraged_reason or "discouraged by guidance"
    if m.id in forbidden:
        return "prohibited", forbidden[m.id]
    if m.evidence in EVIDENCE_AGAINST:
        return "weak evidence", EVIDENCE_AGAINST[m.evidence]
    if m.id in larger:
        return "needs more budget", (f"not chosen at this budget; chosen at {larger[m.id]:g} times the "
                                     f"scenario's local capital (${base * larger[m.id]:,.0f})")
    if m.id in dominated:
        return "dominated", dominated[m.id] + "; never chosen at the budgets tried"
    if m.id in unreachable:
        return "skips tiers", (f"tier {m.tier} needs a tier {(m.tier or 1) - 1} measure of its layer first, "
                               "and none can be put in place at the sites")
    return "never chosen", (f"not worth its cost: not chosen at any budget tried up to {multiple:g} times "
                            f"the scenario's local capital (${base * multiple:,.0f})")
