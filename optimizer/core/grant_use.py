"""Grant money used and left, per funding source and period, with the reason in words when
money stays unused, and what each source says about one item (may or may not pay, why)."""
from __future__ import annotations

from collections import Counter

import pandas as pd

from optimizer.core.plan import LOCAL, Plan
from optimizer.core.problem import Problem, Source

GRANT_USE_COLUMNS = ["source", "name", "period", "award", "used", "local_match", "grant_share",
                     "unused", "why_unused"]
TOLERANCE = 1.0  # dollars


def _period(label, years) -> str:
    return f"FY{label}" if label != "all" else f"FY{years[0]}-FY{years[-1]}" if len(years) > 1 else f"FY{years[0]}"


def eligible_rows(problem: Problem, src: Source) -> list[int]:
    """Candidate rows whose capital or recurring cost the source may pay."""
    cand = problem.candidates
    return [c for c, (q, r) in enumerate(zip(cand["cap_class"], cand["op_class"]))
            if src.id in problem.cap_classes[int(q)] or src.id in problem.op_classes[int(r)]]


def _why_unused(problem: Problem, plan: Plan, src: Source, years: tuple[int, ...]) -> str:
    fund = plan.funding
    eligible = eligible_rows(problem, src)
    if not eligible:
        refusals = Counter(r.reason for (sid, mid), r in problem.rulings.items() if sid == src.id and not r.allowed)
        common = "; ".join(reason for reason, _ in refusals.most_common(2))
        return ("no item it may pay for is a candidate at these sites"
                + (f" (most often: {common})" if common else ""))
    reasons = []
    chosen = [c for c in eligible if plan.installs.get(c, 10**6) <= years[-1]]
    for lim in src.limits:
        spent = float(fund[(fund["source"] == src.id) & fund["year"].isin(years)
                           & fund["measure_id"].isin(lim.measures)]["amount"].sum())
        if spent >= lim.share * src.amount - TOLERANCE and any(
                problem.candidates.at[c, "measure_id"] in lim.measures for c in chosen):
            reasons.append(f"its limit is reached: {lim.reason}")
    if problem.compliance.get(src.id):
        reasons.append("it pays for other items only once its compliance items are in place everywhere")
    if src.match_factor > 0:
        local_cap = fund[(fund["source"] == LOCAL) & (fund["kind"] == "capital") & fund["year"].isin(years)]
        budget = sum(problem.capital_budget[t] for t in years)
        if float(local_cap["amount"].sum()) >= budget - TOLERANCE:
            reasons.append(f"the local match ({src.match_rate:.0%}) could not be paid: the local capital "
                           f"budget of {_period('all', years)} is spent")
    paid = {(r.measure_id, r.site_id) for r in fund[fund["source"] != LOCAL].itertuples(index=False)}
    cand = problem.candidates
    measure, site = cand["measure_id"].to_numpy(), cand["site_id"].to_numpy()
    unpaid = [c for c in chosen if (measure[c], site[c]) not in paid]
    not_bought = len(eligible) - len(chosen)
    if problem.max_projects is not None and not_bought and len(plan.projects) >= problem.max_projects:
        reasons.append(f"the scenario's limit of {problem.max_projects} projects is reached (policy.max_projects): "
                       f"the {not_bought} items it may pay for that were not bought would open another")
    if not reasons:
        reasons.append("every planned item it may pay for in these years is paid by grants"
                       + (f"; the {not_bought} other items it may pay for were not bought ("
                          + _why_not_bought(problem, plan, src, [c for c in eligible if c not in chosen]) + ")"
                          if not_bought else "")
                       if not unpaid else f"{len(unpaid)} planned item(s) it may pay for are paid locally: their "
                       "costs fall outside its years, or are recurring costs that would need a local match")
    if years[-1] < problem.years[-1]:
        reasons.append(f"its money can be spent only through FY{years[-1]} (period of performance or spend-by date)")
    return "; ".join(reasons)


def _why_not_bought(problem: Problem, plan: Plan, src: Source, rows: list[int]) -> str:
    """Why items a source may pay for were left out, when no rule of the source holds them out:
    for money that pays one-time costs only, what keeping them would cost the district."""
    if src.recurring_allowed or problem.least_value_per_1000 <= 0:
        return "their value per dollar, recurring costs or local match did not fit the budgets"
    keeping = float(problem.keeping_costs[rows].sum())
    fund = plan.funding
    operating = sum(problem.operating_budget.values())
    spent = float(fund.loc[(fund["source"] == LOCAL) & (fund["kind"] == "annual"), "amount"].sum()) + plan.procurement
    held = ("the local operating budget that would pay their recurring costs is spent" if spent >= operating - TOLERANCE
            else f"the protection they would add is worth less than that upkeep at the least value local money must "
                 f"buy (one serious-harm equivalent avoided per ${1000 / problem.least_value_per_1000:,.0f})")
    return (f"it pays one-time costs only, so keeping them in service, their recurring costs and their renewal "
            f"when their useful life ends, would fall on local money: up to ${keeping:,.0f} a year for all of "
            f"them; {held}")


def _periods(problem: Problem, plan: Plan):
    """Per funding source and award period: (source, label, years, the plan's funding in those
    years, the grant dollars used)."""
    fund = plan.funding
    for src in problem.sources:
        for label, years in src.spans:
            mine = fund[fund["year"].isin(years)]
            yield src, label, years, mine, float(mine[mine["source"] == src.id]["amount"].sum())


def left_unused(problem: Problem, plan: Plan) -> list[Source]:
    """The funding sources with grant money left unused in some award period of the plan."""
    return list({src.id: src for src, _, _, _, used in _periods(problem, plan)
                 if src.amount - used > TOLERANCE}.values())


def grant_use(problem: Problem, plan: Plan) -> pd.DataFrame:
    """One row per funding source and award period: the award, the grant dollars used, the
    local match counted, the grant's share of what it funded, what is left and why."""
    rows = []
    for src, label, years, mine, used in _periods(problem, plan):
        match = float(mine[(mine["source"] == LOCAL) & (mine["match_for"] == src.id)]["amount"].sum())
        unused = max(src.amount - used, 0.0)
        rows.append({"source": src.id, "name": src.name, "period": _period(label, years),
                     "award": src.amount, "used": round(used, 2), "local_match": round(match, 2),
                     "grant_share": round(used / (used + match), 4) if used + match else None,
                     "unused": round(unused, 2),
                     "why_unused": _why_unused(problem, plan, src, years) if unused > TOLERANCE else ""})
    return pd.DataFrame(rows, columns=GRANT_USE_COLUMNS)


def rulings_for(problem: Problem, measure_id: str, site_id: str | None = None) -> list[str]:
    """What every awarded source says about one measure (at one place): may it pay, and why."""
    cand = problem.candidates
    rows = cand.index[(cand["measure_id"] == measure_id) & ((cand["site_id"] == site_id) if site_id else True)]
    out = []
    for src in problem.sources:
        if len(rows):
            c = int(rows[0])
            ruling = problem.may_pay(src, c, "capital" if cand.at[c, "capital"] > 0 else "annual")
        else:
            ruling = problem.rulings[src.id, measure_id]
        out.append(ruling.sentence(src.name))
    return out
