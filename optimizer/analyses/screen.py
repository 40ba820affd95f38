"""Screening: every catalog measure with a verdict and its reason, the answer to "which
products are unnecessary for us". A measure is chosen, or it is out for the first reason
that applies: already in place, discouraged by guidance, prohibited, evidence against it,
worth buying only with more capital or more operating money, held out by the scenario's
project limit, or never chosen at any budget up to a multiple of the scenario's, and then
beaten by a cheaper true substitute (a measure of its alternative group, of which a place
gets at most one: the verdict ``dominated``), held back by a prerequisite or a tier the sites
cannot get, or simply not worth its cost. Measures that do different jobs add up in the value
model, so only a declared substitute is ever said to do the same job. Reasons are written for a finance officer: names, dollars and evidence, no
model terms; :data:`VERDICT_MEANINGS` says what each verdict means."""
from __future__ import annotations

from collections import defaultdict

import pandas as pd

from optimizer.analyses.stance_check import stance_check
from optimizer.analyses.sweep import BudgetSweep
from optimizer.core.grant_use import rulings_for
from optimizer.core.problem import Problem
from optimizer.core.result import PlanResult
from optimizer.core.run import optimize
from optimizer.core.status import SolveOptions
from optimizer.data.inputs import Inputs
from optimizer.data.overrides import with_more_money
from optimizer.data.stances import STANCES

SCREEN_COLUMNS = ["measure_id", "name", "layer", "component", "role", "tier", "evidence", "verdict", "reason",
                  "better_buy", "chosen_under", "grant_rules"]
#: Evidence ratings that keep a measure out of the recommendations, with the words used.
EVIDENCE_AGAINST = {"harmful": "evidence suggests harm", "contested": "evidence is contested",
                    "none": "no evidence that it works"}
VERDICTS = ("chosen", "in place", "discouraged", "prohibited", "weak evidence", "needs more budget",
            "needs operating money", "project limit", "dominated", "needs a prerequisite", "skips tiers",
            "never chosen")
#: What each verdict means, in words for a finance officer (the Screening page shows them).
VERDICT_MEANINGS = {
    "chosen": "The plan buys it at the scenario's budget.",
    "in place": "Nothing to buy: the district already has it wherever it applies, or no school "
                "has what it is priced by.",
    "discouraged": "Guidance advises against it; the reason names the guidance.",
    "prohibited": "It may not be bought here: the scenario's must-not list or a rule of the state "
                  "or the district rules it out.",
    "weak evidence": "Studies suggest it does harm, disagree about it, or give no evidence that it "
                     "works, so it is left out of the recommendations.",
    "needs more budget": "Worth buying, but only with more local capital money than the scenario "
                         "has; the reason says how much.",
    "needs operating money": "Worth buying, but its yearly cost does not fit the operating budget; the "
                             "reason says how much more would bring it in.",
    "project limit": "Worth buying, but the scenario allows only so many projects and others come first.",
    "dominated": "A product that does the same job (only one of the two can be bought at a place) costs "
                 "no more and does at least as much: buy that one instead.",
    "needs a prerequisite": "It needs another measure in place first, and that one cannot be bought here.",
    "skips tiers": "It builds on a lower PASS tier that none of the schools can put in place first.",
    "never chosen": "Other purchases protect more for the money: the plan leaves it out even with "
                    "several times the budget.",
}


def _tco(problem: Problem) -> pd.Series:
    """Total cost of ownership of each candidate over the horizon if bought in year one."""
    cand = problem.candidates
    return cand["capital"] + cand["annual"] * len(problem.years)


def _per_place(scope: str, years: int) -> str:
    """How a cost of ownership is counted, in words."""
    where = "for the district" if scope == "district" else "per school"
    return f"{where} over the {years}-year plan"


def dominated_by(problem: Problem, allowed: set[str], names: dict[str, str] | None = None,
                 evidence: dict[str, str] | None = None) -> dict[str, str]:
    """Measures for which a true substitute (another allowed measure of the same alternative
    group and scope: a place gets at most one of them), of no higher tier, protects at least as
    much for no more cost of ownership at every place both could go (and is strictly better in
    one of the two), with the reason in words naming that measure (``names``), the costs and the
    evidence of both (``evidence``). Measures outside a group add up, so none dominates another."""
    names, evidence = names or {}, evidence or {}
    cand = problem.candidates.assign(tco=_tco(problem))
    cost = {m: dict(zip(g["site_id"], g["tco"])) for m, g in cand.groupby("measure_id")}
    info = cand.drop_duplicates("measure_id").set_index("measure_id")
    info = info[info["alternative_group"] != ""]
    out = {}
    for (_, scope), group in info.groupby(["alternative_group", "scope"]):
        for m in group.index:
            for other in group.index:
                if other == m or other not in allowed:
                    continue
                shared = cost[m].keys() & cost[other].keys()
                if not shared or group.at[other, "tier"] > group.at[m, "tier"]:
                    continue
                eff_m, eff_o = group.at[m, "effectiveness"], group.at[other, "effectiveness"]
                cheaper = all(cost[other][s] <= cost[m][s] for s in shared)
                less = any(cost[other][s] < cost[m][s] for s in shared)
                if eff_o >= eff_m and cheaper and (eff_o > eff_m or less):
                    own = sum(cost[m][s] for s in shared) / len(shared)
                    theirs = sum(cost[other][s] for s in shared) / len(shared)
                    span = _per_place(scope, len(problem.years))
                    ev = f"evidence: {evidence.get(other, 'not rated')} vs {evidence.get(m, 'not rated')}"
                    who = names.get(other, other)
                    out[m] = (f"a cheaper option in the catalog does at least as much: {who} "
                              f"(${theirs:,.0f} vs ${own:,.0f} {span}, {ev})" if less else
                              f"an option in the catalog that costs the same does more: {who} "
                              f"(${theirs:,.0f} {span}, {ev})")
                    break
    return out


def better_buys(problem: Problem, allowed: set[str], evidence: dict[str, str], names: dict[str, str]) -> dict[str, str]:
    """For each measure of an alternative group, the allowed measure of the same group (a true
    substitute: the same job, only one per place) that gives its protection for less money,
    in words with the evidence of each."""
    cand = problem.candidates.assign(tco=_tco(problem))
    cand = cand[cand["alternative_group"] != ""]
    info = cand.groupby("measure_id").agg(group=("alternative_group", "first"), layer=("layer", "first"),
                                          role=("role", "first"), scope=("scope", "first"),
                                          effectiveness=("effectiveness", "first"), tco=("tco", "mean"))
    info = info[info["effectiveness"] > 0]
    info["per_effect"] = info["tco"] / info["effectiveness"]
    out = {}
    for _, group in info.groupby("group"):
        options = group[group.index.isin(allowed)].sort_values("per_effect")
        for mid, row in group.iterrows():
            best = options[options.index != mid].head(1)
            if best.empty or best["per_effect"].iloc[0] >= row["per_effect"]:
                continue
            other = best.index[0]
            b = best.iloc[0]
            out[mid] = (f"{names[other]} does the same job ({row['role']}, {row['layer']} layer; a place gets one "
                        f"of the two) for less money for the protection it gives: ${b['tco']:,.0f} "
                        f"{_per_place(b['scope'], len(problem.years))} for a protection rating of "
                        f"{b['effectiveness']:.2f} out of 1, against ${row['tco']:,.0f} for "
                        f"{row['effectiveness']:.2f} for this one; evidence: {evidence[other]} vs "
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


def _missing_prerequisite(problem: Problem, names: dict[str, str]) -> dict[str, str]:
    """Measures that need, at every place they could go, a prerequisite the place cannot get
    (not offered there, or ruled out), with words naming it and why."""
    cand = problem.candidates
    forbidden = cand["forbidden"].to_numpy()
    blocked = defaultdict(dict)  # measure -> {its candidate row: the options of a prerequisite it lacks}
    for c, options in problem.prerequisites:
        if all(forbidden[o] for o in options):
            blocked[cand.at[c, "measure_id"]][c] = options
    places = cand.groupby("measure_id").size()
    out = {}
    for m, where in blocked.items():
        if len(where) == places[m]:
            options = next(iter(where.values()))
            need = names.get(cand.at[options[0], "measure_id"], "a prerequisite") if options else "a prerequisite"
            why = forbidden[options[0]] if options else "no school can have it"
            out[m] = f"it needs {need} in place first, and that cannot be bought here ({why})"
    return out


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
    names = {m.id: m.name for m in inputs.catalog.measures.values()}
    evidence = {m.id: m.evidence.replace("_", " ") for m in inputs.catalog.measures.values()}
    dominated = dominated_by(problem, allowed, names, evidence)
    unreachable = _unreachable_tier(problem)
    no_prerequisite = _missing_prerequisite(problem, names)
    larger = {}
    for factor in sorted({1.5, multiple}):
        if factor > 1 and base > 0:
            bigger = sweep.at(base * factor)
            for m in _chosen(bigger):
                larger.setdefault(m, factor)
    # the limit that binds, when more capital alone does not bring a measure in
    held = {}
    if problem.max_projects is not None:
        lifted = optimize(with_more_money(inputs, 1.0, operating=False, project_limit=False), options)
        held.update({m: ("project limit", f"held out by the scenario's limit of {problem.max_projects} "
                         "projects: bought when the limit is lifted") for m in _chosen(lifted)})
    if multiple > 1:
        richer = optimize(with_more_money(inputs, multiple, project_limit=False), options)
        for m in _chosen(richer):
            held.setdefault(m, ("needs operating money", f"its yearly cost does not fit the operating budget: bought "
                                f"when every local budget, operating included, is {multiple:g} times the scenario's"))
    in_place = set(problem.existing["measure_id"])
    better = better_buys(problem, allowed, evidence, names)
    check = stance_check(inputs, options, known=result if result.plan is not None else None)
    under = {st: set(r.plan.items["measure_id"]) for st, r in check.plans.items()}
    rows = []
    for m in inputs.catalog.measures.values():
        verdict, reason = _verdict(m, chosen, in_place, set(cand["measure_id"]), forbidden, dominated,
                                   unreachable, larger, base, multiple, held, no_prerequisite)
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
             base: float, multiple: float, held: dict, no_prerequisite: dict) -> tuple[str, str]:
    if m.id in chosen:
        items = chosen[m.id]
        note = f"; note: {EVIDENCE_AGAINST[m.evidence]}" if m.evidence in EVIDENCE_AGAINST else ""
        return "chosen", (f"in the plan at {len(items)} place(s), fiscal years "
                          f"{', '.join(map(str, sorted(set(items['year']))))}{note}")
    if m.id not in candidates:
        if m.id in in_place:
            return "in place", "already in place wherever it applies"
        return "in place", "nothing to buy: no school has what it is priced by"
    if m.discouraged:
        return "discouraged", m.discouraged_reason or "discouraged by guidance"
    if m.id in forbidden:
        return "prohibited", forbidden[m.id]
    if m.evidence in EVIDENCE_AGAINST:
        return "weak evidence", EVIDENCE_AGAINST[m.evidence]
    if m.id in larger:
        return "needs more budget", (f"not bought at this budget; bought at {larger[m.id]:g} times the "
                                     f"scenario's local capital (${base * larger[m.id]:,.0f})")
    if m.id in held:
        return held[m.id]
    if m.id in dominated:
        return "dominated", dominated[m.id] + "; the plan does not buy it at any budget tried"
    if m.id in no_prerequisite:
        return "needs a prerequisite", no_prerequisite[m.id]
    if m.id in unreachable:
        return "skips tiers", (f"PASS tier {m.tier} builds on a tier {(m.tier or 1) - 1} measure of its layer, "
                               "and none can be put in place at the schools")
    return "never chosen", (f"other purchases protect more for the money: the plan does not buy it at any "
                            f"budget tried, up to {multiple:g} times the scenario's local capital "
                            f"(${base * multiple:,.0f})")
