"""Why an item is in the plan (its value per dollar, the mandate it meets, what needs it), or
what would bring a rejected one in (the rule that blocks it, the budget it needs)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from optimizer.analyses.marginal import (
    added_value,
    cost_of_ownership,
    entry_budget,
    marginal_value_per_dollar,
    removed_value,
)
from optimizer.analyses.screen import EVIDENCE_AGAINST
from optimizer.analyses.stance_check import stance_check, verdict
from optimizer.analyses.sweep import BudgetSweep
from optimizer.core.grant_use import rulings_for
from optimizer.core.result import PlanResult
from optimizer.core.status import SolveOptions
from optimizer.data.inputs import Inputs
from optimizer.errors import InputError, InputProblem, NoFeasiblePlan


@dataclass
class Explanation:
    """The reasons, in plain sentences, with the numbers behind them.

    Attributes
    ----------
    measure_id, site_id : str
        What is explained (``site_id`` None: every place it can go).
    chosen : bool
        Whether the plan includes it (anywhere asked).
    reasons : list of str
        Sentences for a finance officer, most important first.
    places : DataFrame
        One row per place: site, year installed (empty when not chosen), cost of ownership
        over the horizon, the value it adds or would add, and that value per $1,000.
    """

    measure_id: str
    site_id: str | None
    chosen: bool
    reasons: list[str]
    places: pd.DataFrame


def explain(inputs: Inputs, measure_id: str, site_id: str | None = None,
            options: SolveOptions = SolveOptions(), search_budget: bool = True) -> Explanation:
    """Explain one measure's place (or absence) in the scenario's plan.

    Parameters
    ----------
    inputs : Inputs
        A checked scenario and catalog.
    measure_id : str
        A catalog measure id.
    site_id : str, optional
        One site (or ``district``); all places when omitted.
    options : SolveOptions
        Solver, time limit, gap and threads.
    search_budget : bool
        For a rejected item, also search the budget at which it would enter (several solves).
    """
    measure = inputs.catalog.measures.get(measure_id)
    if measure is None:
        raise InputError([InputProblem("command line", "", "measure", measure_id, "a measure id of the catalog")])
    sweep = BudgetSweep(inputs, options)
    problem = sweep.problem
    if site_id is not None and site_id not in {s.id for s in problem.sites} | {"district"}:
        raise InputError([InputProblem("command line", "", "site", site_id, "a site id of the scenario")])
    result = sweep.at(sweep.scenario_budget)
    if result.plan is None:
        raise NoFeasiblePlan(f"explain {measure_id}")
    cand = problem.candidates
    pick = cand["measure_id"] == measure_id
    if site_id is not None:
        pick &= cand["site_id"] == site_id
    rows = [int(c) for c in cand.index[pick]]
    installs = result.plan.installs
    mine = [c for c in rows if c in installs]
    places = _places(result, rows)
    if not rows:
        return Explanation(measure_id, site_id, False, [_absent(inputs, problem, measure_id, site_id)], places)
    context = [_stance_sentence(inputs, result, measure_id, site_id, options)] + _who_pays(result, measure_id, site_id)
    if mine:
        return Explanation(measure_id, site_id, True, _why_in(result, mine, sweep) + context, places)
    return Explanation(measure_id, site_id, False, _why_out(result, rows, measure, sweep, search_budget) + context,
                       places)


def _stance_sentence(inputs: Inputs, result: PlanResult, measure_id: str, site_id: str | None,
                     options: SolveOptions) -> str:
    """Under which evidence stances the plan buys the item, and what that means."""
    check = stance_check(inputs, options, known=result)
    under = [st for st, r in check.plans.items()
             if ((r.plan.items["measure_id"] == measure_id)
                 & ((r.plan.items["site_id"] == site_id) if site_id else True)).any()]
    if not under:
        return "evidence stance: bought under no evidence stance"
    return f"evidence stance: bought under {', '.join(under)} ({verdict(set(under))})"


def _who_pays(result: PlanResult, measure_id: str, site_id: str | None) -> list[str]:
    """What each grant says about the item, and money a grant leaves unused, with why."""
    out = [f"grant rules: {sentence}" for sentence in rulings_for(result.problem, measure_id, site_id)]
    use = result.grant_use()
    for r in use[use["unused"] > 0].itertuples(index=False):
        out.append(f"{r.name} leaves ${r.unused:,.0f} unused in {r.period}: {r.why_unused}")
    return out


def _places(result: PlanResult, rows: list[int]) -> pd.DataFrame:
    problem, installs = result.problem, result.plan.installs
    out = []
    for c in rows:
        tco = cost_of_ownership(problem, [c])
        value = (removed_value(problem, installs, [c]) if c in installs
                 else added_value(problem, installs, [c]))
        out.append({"site_id": problem.candidates.at[c, "site_id"], "year": installs.get(c),
                    "cost_of_ownership": tco, "value": value, "value_per_1000": _per_1000(value, tco)})
    return pd.DataFrame(out, columns=["site_id", "year", "cost_of_ownership", "value", "value_per_1000"])


def _absent(inputs: Inputs, problem, measure_id: str, site_id: str | None) -> str:
    there = problem.existing[problem.existing["measure_id"] == measure_id]
    if site_id is not None:
        there = there[there["site_id"] == site_id]
    if len(there):
        return "already in place: nothing to buy"
    return "nothing to buy: no site has what it is counted by"


def _why_in(result: PlanResult, mine: list[int], sweep: BudgetSweep) -> list[str]:
    p = result.problem
    cand = p.candidates
    reasons = []
    for rule in p.mandates:
        options = [opts for _, opts in rule.places] + [opts for _, _, opts in rule.renewals]
        if any(c in opts for opts in options for c in mine):
            reasons.append(f"meets mandate {rule.id} ({rule.title}), due fiscal year {rule.deadline_year}")
    if any(c in p.musts for c in mine):
        reasons.append("on the scenario's must list")
    needed_by = sorted({cand.at[c, "key"] for c, opts in p.prerequisites + p.tier_links
                        if c in result.plan.installs and set(opts) & set(mine)})
    if needed_by:
        reasons.append(f"needed first (prerequisite or lower tier) by {len(needed_by)} planned item(s): "
                       + ", ".join(needed_by[:8]) + (" ..." if len(needed_by) > 8 else ""))
    reasons.append(_worth("adds", removed_value(p, result.plan.installs, mine), p, mine, sweep,
                          " over the horizon"))
    return reasons


def _why_out(result: PlanResult, rows: list[int], measure, sweep: BudgetSweep, search_budget: bool) -> list[str]:
    p = result.problem
    cand = p.candidates
    installs = result.plan.installs
    reasons = [f"ruled out: {r}" for r in sorted(set(cand.loc[rows, "forbidden"])) if r]
    for members, room in p.alternatives:
        taken = [cand.at[c, "key"] for c in members if c in installs]
        if set(rows) & set(members) and (taken or room == 0):
            reasons.append("only one of its alternative group per place: "
                           + (", ".join(taken) if taken else "one is already in place"))
    lacking = sorted({cand.at[c, "key"] for c, opts in p.prerequisites + p.tier_links
                      if c in rows and not set(opts) & set(installs)})
    if lacking:
        reasons.append(f"its prerequisite or lower tier is not in the plan at: {', '.join(lacking[:8])}")
    if measure.evidence in EVIDENCE_AGAINST:
        reasons.append(EVIDENCE_AGAINST[measure.evidence])
    reasons += _operating_room(result, rows)
    reasons.append(_worth("would add", added_value(p, installs, rows), p, rows, sweep))
    if search_budget and not any(cand.loc[rows, "forbidden"] != ""):
        site = cand.at[rows[0], "site_id"] if len(rows) == 1 else None
        needed = entry_budget(sweep, measure.id, site)
        reasons.append(f"enters the plan at a local capital budget of ${needed:,.0f} "
                       f"(scenario: ${sweep.scenario_budget:,.0f})" if needed is not None else
                       "does not enter the plan at any budget up to 3 times the scenario's")
    return reasons


def _per_1000(value: float, tco: float) -> float:
    return 1000 * value / tco if tco else float("inf")


def _points(x: float) -> str:
    """A risk-reduction figure a person reads: two significant digits, no trailing zeros,
    never scientific notation."""
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    digits = max(2, 1 - math.floor(math.log10(abs(x))))
    return f"{x:,.{digits}f}".rstrip("0").rstrip(".") if abs(x) < 1 else f"{x:,.2f}"


def _compared(own: float, margin: float) -> str:
    """``more than``, ``less than`` or ``about the same as`` (within 5%)."""
    if abs(own - margin) <= 0.05 * max(abs(own), abs(margin)):
        return "about the same as"
    return "more than" if own > margin else "less than"


#: Risk reduced is stated per $1 million, where the figures of a school district read as whole numbers.
MILLION = 1_000_000


def _worth(verb: str, value: float, problem, rows: list[int], sweep: BudgetSweep, span: str = "") -> str:
    """The sentence comparing the serious-harm equivalents the item avoids per $1 million with
    what the plan's last dollars buy: what a somewhat larger local capital budget avoids, per $1 million
    (see :func:`~optimizer.analyses.marginal.marginal_value_per_dollar`)."""
    tco = cost_of_ownership(problem, rows)
    margin = MILLION * marginal_value_per_dollar(sweep, sweep.scenario_budget)
    head = f"{verb} {_points(value)} serious-harm equivalents"
    if not tco:
        return f"{head} at no cost{span}"
    own = _per_1000(value, tco) * MILLION / 1000
    said = f"{head} for ${tco:,.0f}{span}, that is {_points(own)} per $1 million"
    if not math.isfinite(margin):
        return f"{said} (what the plan's last dollars buy cannot be measured: no plan at a larger budget)"
    return (f"{said}, {_compared(own, margin)} the {_points(margin)} per $1 million that the last "
            "items the plan buys avoid")


def _operating_room(result: PlanResult, rows: list[int]) -> list[str]:
    """A sentence when the item's recurring cost does not fit the operating budget left in
    the horizon's last year (recurring costs build up, so the last year is the tightest)."""
    p = result.problem
    annual = float(p.candidates.loc[rows, "annual"].min())
    if annual <= 0:
        return []
    last = p.years[-1]
    f = result.plan.funding
    used = float(f[(f["kind"] == "annual") & (f["source"] == "local") & (f["year"] == last)]["amount"].sum())
    room = p.operating_budget[last] - used
    if annual <= room:
        return []
    return [f"its recurring cost (${annual:,.0f} a year) does not fit: the plan already uses ${used:,.0f} "
            f"of the ${p.operating_budget[last]:,.0f} local operating budget in fiscal year {last}"]
