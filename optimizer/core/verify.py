"""Independent check of a plan against every rule, from the Problem data and the Plan alone
(never from solver objects). Every solve runs it; a plan with a violation is never valid."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

from optimizer.core.plan import LOCAL, Plan, match_needed
from optimizer.core.problem import Problem
from optimizer.core.projects import PROCURED
from optimizer.core.risk import RiskLedger

TOLERANCE = 1.0  # dollars: slack on judgements (shares of spending, money left unused)
CENT = 0.005  # dollars: a plan's money is in whole cents, so half a cent settles every sum of it


@dataclass(frozen=True)
class Violation:
    """One rule the plan breaks, in words."""

    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


def plan_value(problem: Problem, installs: dict[int, int]) -> float:
    """Risk reduced by a plan (serious-harm equivalents, measures in place included) in the
    horizon's years and the years after it that what it buys still serves, each discounted,
    computed from the Problem's cells with :class:`~optimizer.core.risk.RiskLedger`."""
    return RiskLedger(problem, installs).total()


def plan_objective(problem: Problem, plan: Plan) -> float:
    """What the optimizer maximises, recomputed from the plan: risk reduced over what is in
    place (:func:`plan_value`), less the price of the local money spent and of keeping what it
    buys in service in the years after the horizon (``Problem.keeping_costs``)."""
    f = plan.funding
    return _objective(problem, plan, float(f.loc[f["source"] == LOCAL, "amount"].sum()))


def objective_ceiling(problem: Problem, plan: Plan) -> float:
    """The most :func:`plan_objective` can be for the plan's items however they are paid: every
    dollar of them is paid by one source, and the grants pay at most their awards, so the local
    money is at least what the awards leave of their cost."""
    awards = sum(src.award_over_horizon for src in problem.sources)
    return _objective(problem, plan, max(0.0, float(plan.funding["amount"].sum()) - awards))


def _objective(problem: Problem, plan: Plan, local_funding: float) -> float:
    """:func:`plan_objective` with the local money paying the plan's items given."""
    gain = plan_value(problem, plan.installs) - plan_value(problem, {})
    local = local_funding + float(_procurement_by_year(problem, plan.items).sum())
    keeping = sum(problem.keeping_costs[c] for c in plan.installs) - upkeep_paid_after(problem, plan.installs)
    return gain - problem.least_value_per_1000 * (local + problem.time.total_after * keeping) / 1000


def upkeep_paid_after(problem: Problem, installs) -> float:
    """Dollars a year of keeping the plan's end state in service after the horizon that the
    sources continuing by law pay (``Problem.continuing_sources``), each up to its yearly amount
    and on what it may pay for: the most money that can flow from them to the items, which by
    max-flow/min-cut is the least, over every set T of them, of the amounts of those outside T
    plus the upkeep that sources in T may pay (read item by item from ``Problem.may_pay``)."""
    continuing = problem.continuing_sources
    if not continuing:
        return 0.0
    cand = problem.candidates
    annual, capital, life = (cand[col].to_numpy(dtype=float) for col in ("annual", "capital", "useful_life"))
    split = {c: (float(annual[c]), float(capital[c] / life[c])) for c in installs}
    payable = {s.id: {c: (problem.may_pay(s, c, "annual").allowed, problem.may_pay(s, c, "capital").allowed)
                      for c in installs} for s in continuing}
    cuts = []
    for mask in range(1 << len(continuing)):
        inside = [s for i, s in enumerate(continuing) if mask >> i & 1]
        outside = sum(s.amount for i, s in enumerate(continuing) if not mask >> i & 1)
        reach = sum(annual * any(payable[s.id][c][0] for s in inside) + renewal * any(payable[s.id][c][1] for s in inside)
                    for c, (annual, renewal) in split.items())
        cuts.append(outside + reach)
    return min(cuts)


def _projects_of(problem: Problem, items) -> pd.DataFrame:
    """Each item's project key (from the Problem's candidates) and year, and whether it is
    bought from vendors."""
    key = dict(zip(zip(problem.candidates["measure_id"], problem.candidates["site_id"]), problem.candidates["project"]))
    return pd.DataFrame({"project": [key.get(k, "") for k in zip(items["measure_id"], items["site_id"])],
                         "year": items["year"].to_numpy(), "procured": items["budget_category"].isin(PROCURED).to_numpy()})


def _procurement_by_year(problem: Problem, items) -> pd.Series:
    """Local operating money (staff time) each fiscal year spends on procuring projects,
    counted from the items: the project cost for each project bought from vendors that year."""
    projects = _projects_of(problem, items)
    count = projects[projects["procured"]][["project", "year"]].drop_duplicates().groupby("year").size()
    return (count * problem.project_cost).astype(float)


def _in_place_by(installs: dict[int, int], rows, year: int) -> bool:
    return any(installs.get(o, 10**6) <= year for o in rows)


class _Checker:
    def __init__(self, problem: Problem, plan: Plan):
        self.p, self.plan = problem, plan
        self.installs = plan.installs
        self.out: list[Violation] = []
        cand = problem.candidates
        self.key = cand["key"].tolist()
        self.src = {s.id: s for s in problem.sources}
        self.row_of = {(m, s): i for i, (m, s) in enumerate(zip(cand["measure_id"], cand["site_id"]))}
        self.col = {name: cand[name].tolist() for name in
                    ("capital", "annual", "cap_class", "op_class", "layer", "tier", "useful_life")}

    def bought_in(self, c: int, year: int) -> list[int]:
        """Years an item installed in ``year`` is bought: then, and each time its life ends
        (worked out here from the useful life, not by ``Problem.purchases``, which the plan
        and the greedy plan use: a mistake there is then caught)."""
        return list(range(year, self.p.years[-1] + 1, max(1, int(self.col["useful_life"][c]))))

    def fail(self, rule: str, detail: str) -> None:
        self.out.append(Violation(rule, detail))

    def structure(self) -> None:
        cand, years = self.p.candidates, self.p.years
        for c, year in self.installs.items():
            if not 0 <= c < len(cand):
                self.fail("once", f"unknown candidate row {c}")
            elif year not in years:
                self.fail("once", f"{self.key[c]} installed in {year}, outside the horizon")
        seen = set()
        for r in self.plan.items.itertuples(index=False):
            k = (r.measure_id, r.site_id)
            if k in seen:
                self.fail("once", f"{r.measure_id} at {r.site_id} appears twice")
            seen.add(k)
        if len(self.plan.items) != len(self.installs):
            self.fail("once", "items table and installations disagree")

    def rules(self) -> None:
        p, inst, key = self.p, self.installs, self.key
        forbidden = p.candidates["forbidden"].to_numpy()
        not_before = p.candidates["not_before"].to_numpy()
        assessment = p.candidates["assessment"].to_numpy()
        for c in inst:
            if forbidden[c]:
                self.fail("forbidden", f"{key[c]} is {forbidden[c]}")
            if inst[c] < not_before[c]:
                self.fail("replacement_timing", f"{key[c]} replaces a measure still in its useful life: "
                          f"installed {inst[c]}, its predecessor serves until {not_before[c]}")
            first = max(p.years[0], int(not_before[c]))
            if assessment[c] and inst[c] != first:
                self.fail("sequencing", f"{key[c]} is an assessment installed in {inst[c]}, after the purchases "
                          f"it informs could start; it belongs in {first}")
        for rule, links in (("prerequisites", p.prerequisites), ("tier_order", p.tier_links)):
            for c, options in links:
                if c in inst and not _in_place_by(inst, options, inst[c]):
                    self.fail(rule, f"{key[c]} in {inst[c]} without {', '.join(key[o] for o in options) or 'an available option'} in place")
        for members, room in p.alternatives:
            chosen = [key[c] for c in members if c in inst]
            if len(chosen) > room:
                self.fail("alternatives", f"{', '.join(chosen)} are alternatives; at most {room} may be added")
        for rule in p.mandates:
            for place, year, options in rule.requirements():
                if not _in_place_by(inst, options, year):
                    self.fail("mandates", f"{rule.title} not met at {place} by {year}")
        for c in p.musts:
            if c not in inst:
                self.fail("must", f"{key[c]} is on the must list but not in the plan")

    def costs(self) -> None:
        for r in self.plan.items.itertuples(index=False):
            c = self.row_of.get((r.measure_id, r.site_id))
            if c is None:
                self.fail("once", f"{r.measure_id} at {r.site_id} is not a candidate")
                continue
            capital = self.col["capital"][c] * len(self.bought_in(c, int(r.year)))
            if abs(r.capital_cost - capital) > CENT or abs(r.annual_cost - self.col["annual"][c]) > CENT:
                self.fail("costs", f"{r.measure_id} at {r.site_id}: costs differ from the problem's")

    def funding(self) -> None:
        p, fund = self.p, self.plan.funding
        paid = defaultdict(float)
        for r in fund.itertuples(index=False):
            c = self.row_of.get((r.measure_id, r.site_id))
            if c is None or c not in self.installs:
                self.fail("funding_balance", f"money paid on {r.measure_id} at {r.site_id}, which is not in the plan")
                continue
            paid[c, r.kind, r.year] += r.amount
            if r.amount < -CENT:
                self.fail("funding_balance", f"negative amount on {self.key[c]}")
            if r.source == LOCAL:
                if r.match_for:
                    src = self.src.get(r.match_for)
                    cls = p.cap_classes[int(self.col["cap_class"][c])]
                    if src is None or r.match_for not in cls or r.year not in src.years or r.kind != "capital":
                        self.fail("match", f"local money on {self.key[c]} in {r.year} counted as match for "
                                  f"{r.match_for}, which may not pay for it then")
                continue
            src = self.src.get(r.source)
            if src is None:
                self.fail("funding_caps", f"unknown source {r.source}")
                continue
            classes = p.cap_classes if r.kind == "capital" else p.op_classes
            cls = classes[int(self.col["cap_class" if r.kind == "capital" else "op_class"][c])]
            if r.source not in cls:
                self.fail("funding_balance", f"{src.name} may not pay the {r.kind} cost of {self.key[c]}")
            if r.year not in src.years:
                self.fail("funding_caps", f"{src.name} used in {r.year}, outside its years {list(src.years)}")
        for c, year in self.installs.items():
            for kind, cost, years in (("capital", self.col["capital"][c], self.bought_in(c, year)),
                                      ("annual", self.col["annual"][c], [t for t in p.years if t >= year])):
                for t in years:
                    got = paid.get((c, kind, t), 0.0)
                    if abs(got - cost) > CENT:
                        self.fail("funding_balance", f"{self.key[c]} {kind} cost in {t} is ${cost:,.2f} "
                                  f"but ${got:,.2f} is paid")

    def budgets(self) -> None:
        p, fund = self.p, self.plan.funding
        # Fixed slack, whatever the plan's size. Grant money is to the half cent: no source is
        # ever shown a cent over its award. Local money gets the dollar of TOLERANCE: grant draws
        # are rounded down to whole cents, which can leave a few cents more to the district
        # than the solver's split (no rounding can hit every budget, award and limit at once).
        tol = TOLERANCE
        local = fund[fund["source"] == LOCAL]
        cap_local = local[local["kind"] == "capital"].groupby("year")["amount"].sum()
        op_local = local[local["kind"] == "annual"].groupby("year")["amount"].sum().add(
            _procurement_by_year(p, self.plan.items), fill_value=0.0)
        carry = 0.0
        for t in p.years:
            available = p.capital_budget[t] + carry
            spent = float(cap_local.get(t, 0.0))
            if spent > available + tol:
                self.fail("capital_budget", f"local capital ${spent:,.2f} in {t} exceeds ${available:,.2f}")
            carry = max(available - spent, 0.0) if p.carry_over else 0.0
            if float(op_local.get(t, 0.0)) > p.operating_budget[t] + tol:
                self.fail("operating_budget", f"local operating ${float(op_local.get(t, 0.0)):,.2f} in {t} "
                          f"exceeds ${p.operating_budget[t]:,.2f}")
        if p.total_budget is not None and float(cap_local.sum()) > p.total_budget + tol:
            self.fail("total_budget", f"local capital ${float(cap_local.sum()):,.2f} exceeds the total ${p.total_budget:,.2f}")
        grants = fund[fund["source"] != LOCAL]
        for src in p.sources:
            used = grants[grants["source"] == src.id]
            spans = [[t] for t in src.years] if src.per_year else [list(src.years)]
            for years in spans:
                amount = float(used[used["year"].isin(years)]["amount"].sum())
                if amount > src.amount + CENT:
                    self.fail("funding_caps", f"{src.name} pays ${amount:,.2f}, over its ${src.amount:,.2f}")
            if src.match_factor > 0:
                match = float(local[local["match_for"] == src.id]["amount"].sum())
                need = match_needed(src.match_factor, round(float(used["amount"].sum()) * 100)) / 100
                if match + CENT < need:
                    self.fail("match", f"{src.name} needs ${need:,.2f} of local match, ${match:,.2f} is counted")

    def grant_rules(self) -> None:
        """Limits inside a program, compliance first, and grants before local money."""
        p, fund = self.p, self.plan.funding
        grants = fund[fund["source"] != LOCAL]
        free_local = fund[(fund["source"] == LOCAL) & (fund["match_for"] == "")]
        for src in p.sources:
            used = grants[grants["source"] == src.id]
            binding = set()
            for lim in src.limits:
                for label, years in src.spans:
                    amount = float(used[used["year"].isin(years) & used["measure_id"].isin(lim.measures)]["amount"].sum())
                    if amount > lim.share * src.amount + CENT:
                        self.fail("funding_limits", f"{src.name} pays ${amount:,.2f} under the limit "
                                  f"'{lim.id}' in {label}, over {lim.share:.0%} of ${src.amount:,.0f}")
                    if amount >= lim.share * src.amount - TOLERANCE:
                        binding |= {(m, y) for m in lim.measures for y in years}
            for r in used.itertuples(index=False):
                missing = self._compliance_missing(src, r.measure_id, r.year)
                if missing:
                    self.fail("compliance_first", f"{src.name} pays {r.measure_id} at {r.site_id} in "
                              f"{r.year} before its compliance items are in place at {missing}")
            self._grants_first(src, used, free_local, binding)

    def _compliance_missing(self, src, measure_id: str, year: int) -> str | None:
        """The first place whose compliance items are not in place by ``year``, when ``src``
        must pay for compliance before ``measure_id``; None otherwise."""
        if measure_id in src.compliance_measures:
            return None
        for place, options in self.p.compliance.get(src.id, ()):
            if not _in_place_by(self.installs, options, year):
                return place
        return None

    def _grants_first(self, src, used, free_local, binding) -> None:
        p = self.p
        if src.match_factor >= 1e5:
            return
        for label, years in src.spans:
            unused = src.amount - float(used[used["year"].isin(years)]["amount"].sum())
            if unused <= TOLERANCE:
                continue
            for r in free_local[free_local["year"].isin(years)].itertuples(index=False):
                c = self.row_of.get((r.measure_id, r.site_id))
                if (c is None or r.amount <= TOLERANCE or (r.measure_id, r.year) in binding
                        or (r.kind == "annual" and src.match_factor > 0)
                        or not p.may_pay(src, c, r.kind).allowed):
                    continue
                if self._compliance_missing(src, r.measure_id, r.year):
                    continue
                self.fail("grants_first", f"{src.name} leaves ${unused:,.0f} unused in {label} while local "
                          f"money pays ${r.amount:,.2f} of the {r.kind} cost of {self.key[c]} in {r.year}, "
                          "which it may pay for")
                return

    def projects(self) -> None:
        """At most the projects allowed, and each project's procurement counted once."""
        p, items = self.p, self.plan.items
        count = len(_projects_of(p, items)[["project", "year"]].drop_duplicates())
        if p.max_projects is not None and count > p.max_projects:
            self.fail("projects", f"{count} projects (a PASS component or an award's project in a fiscal year), more than the "
                      f"{p.max_projects} allowed")
        shown = self.plan.projects.groupby("year")["procurement"].sum()
        counted = _procurement_by_year(p, items)
        for t in p.years:
            cost = float(counted.get(t, 0.0))
            if abs(float(shown.get(t, 0.0)) - cost) > CENT:
                self.fail("projects", f"the plan counts ${float(shown.get(t, 0.0)):,.2f} of procurement in {t}, "
                          f"its projects cost ${cost:,.2f}")

    def shares(self) -> None:
        p = self.p
        capital = self.plan.funding[self.plan.funding["kind"] == "capital"]  # renewals in their own years
        rows = [self.row_of.get(key) for key in zip(capital["measure_id"], capital["site_id"])]
        spent = capital.assign(layer=["" if c is None else self.col["layer"][c] for c in rows])
        for layer, (lo, hi) in p.layer_share.items():
            for t in p.years:
                in_year = spent[spent["year"] == t]
                total = float(in_year["amount"].sum())
                mine = float(in_year[in_year["layer"] == layer]["amount"].sum())
                if mine < lo * total - TOLERANCE or mine > hi * total + TOLERANCE:
                    self.fail("layer_share", f"{layer} is ${mine:,.0f} of ${total:,.0f} in {t}, "
                              f"outside {lo:.0%}-{hi:.0%}")

    def equity_and_target(self) -> None:
        p, cand, inst = self.p, self.p.candidates, self.installs
        have = {(r.site_id, r.layer, r.component, r.tier) for r in p.existing.itertuples()}
        by_tier = defaultdict(list)
        for c, r in enumerate(cand[["site_id", "layer", "component", "tier"]].itertuples(index=False)):
            by_tier[r.site_id, r.layer, r.component, r.tier].append(c)

        def reached(site, layer, comp, tier, year) -> bool:
            """True when the tier is in place, or the catalog offers nothing of it here."""
            places = p.serving(site, layer)
            if any((place, layer, comp, tier) in have for place in places):
                return True
            options = [c for place in places for c in by_tier.get((place, layer, comp, tier), [])]
            return not options or _in_place_by(inst, options, year)

        if p.equity:
            for c, year in inst.items():
                layer, tier = self.col["layer"][c], self.col["tier"][c]
                if tier < 2:
                    continue
                for s in p.sites:
                    for comp in p.components:
                        if not reached(s.id, layer, comp, 1, year):
                            self.fail("equity", f"{self.key[c]} (tier {tier}) in {year} while {s.id} "
                                      f"lacks tier 1 in {layer}/{comp}")
                            break
        if p.objective == "least_cost_tier":
            last = p.last_year
            for s in p.sites:
                for layer in p.layers:
                    for comp in p.components:
                        for tier in range(1, p.target_tier + 1):
                            if not reached(s.id, layer, comp, tier, last):
                                self.fail("target_tier", f"{s.id} lacks tier {tier} in {layer}/{comp}")


def verify(problem: Problem, plan: Plan) -> list[Violation]:
    """Check a plan against every rule of the problem.

    Parameters
    ----------
    problem : Problem
        The expanded problem (the only source of rules).
    plan : Plan
        The plan to check.

    Returns
    -------
    list of Violation
        Empty when the plan keeps every rule.
    """
    checker = _Checker(problem, plan)
    for step in (checker.structure, checker.rules, checker.costs, checker.funding, checker.budgets,
                 checker.grant_rules, checker.projects, checker.shares, checker.equity_and_target):
        step()
    return checker.out
