"""The typed result of planning: a verified plan with the summaries a finance office reads.
Free of any solver object (see ``optimizer.core.run`` for the call that makes one)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import pandas as pd

from optimizer.core.grant_use import grant_use
from optimizer.core.plan import LOCAL, Plan
from optimizer.core.price_range import KINDS, PlanPrices
from optimizer.core.problem import DISTRICT, Problem
from optimizer.core.risk import RiskLedger
from optimizer.core.status import SolveReport, Status
from optimizer.core.tiers import (
    BEYOND,
    OUTSIDE,
    TOWARD,
    WITHIN,
    tier1_count,
    tier_progress,
    tiers_attained,
)
from optimizer.core.verify import Violation
from optimizer.defaults import DEFAULT_GAP
from optimizer.errors import OptimizerError

if TYPE_CHECKING:
    from optimizer.core.status import LpBasis


class InvalidPlan(OptimizerError):
    """The solver returned a plan that the independent verifier rejects."""

    def __init__(self, violations: list[Violation]):
        self.violations = violations
        super().__init__("the solver's plan breaks rules it must keep; it is not shown as valid:\n"
                         + "\n".join(f"  - {v}" for v in violations[:20]))


@dataclass
class PlanResult:
    """A verified plan and everything reported about it.

    ``value`` is the modelled risk reduced (serious-harm equivalents, measures in place
    included) in the horizon's years and the years after it that what the plan buys still
    serves, each discounted (``verify.plan_value``); ``baseline_value`` is the same with nothing
    bought.
    The headline unit is :attr:`gap_closed`, the share of the risk left by what is in place
    that the plan removes.
    """

    scenario: str
    problem: Problem
    report: SolveReport
    plan: Plan | None
    value: float
    baseline_value: float
    build_seconds: float
    violations: list[Violation] = field(default_factory=list)
    lp_basis: LpBasis | None = None  # the LP relaxation's final basis, that a what-if's starts from

    @property
    def status(self) -> Status:
        """Solution status."""
        return self.report.status

    @property
    def funding(self) -> pd.DataFrame:
        """Dollars by item, year, kind and source."""
        return self.plan.funding

    def totals(self) -> dict[str, float]:
        """Capital over the horizon, the staff time of procuring the projects, annual cost at the
        end of the horizon, and total cost of ownership (capital, procurement and recurring
        costs of every year in place)."""
        items = self.plan.items
        annual = self.plan.funding[self.plan.funding["kind"] == "annual"]["amount"].sum()
        capital = float(items["capital_cost"].sum())
        return {"capital": round(capital, 2), "procurement": round(self.plan.procurement, 2),
                "annual": round(float(items["annual_cost"].sum()), 2),
                "tco": round(capital + self.plan.procurement + annual, 2)}

    def cost_range(self, bounds: bool = False) -> dict[str, tuple[float, float, float]]:
        """Capital, annual cost and total cost of ownership as :meth:`totals` counts them, each
        as (low, typical, high): low and high the likely range (the 10th and 90th percentile
        when each measure's price falls anywhere in its range, see
        :mod:`~optimizer.core.price_range`), or with ``bounds`` every price at the low and at
        the high end of its range. A district's own quote has no range; procurement staff time
        is the same throughout."""
        totals = self.totals()
        if self.plan is None or not len(self.plan.items):
            return {k: (totals[k],) * 3 for k in KINDS}
        ends = self._price_ends[bounds]
        # the likely range may sit above the typical figure: most price ranges reach further up than down
        return {k: (round(ends[k][0], 2), totals[k], round(ends[k][1], 2)) for k in KINDS}

    @cached_property
    def _price_ends(self) -> dict[bool, dict[str, tuple[float, float]]]:
        """The likely range (False) and the bounds (True) of each cost, drawn once per plan."""
        prices = PlanPrices.of(self)
        return {False: prices.likely(), True: prices.bounds()}

    def spend_by(self, column: str) -> pd.Series:
        """Capital spend by ``year`` (a renewal in the year it is bought), ``layer``,
        ``component`` or ``site_id``."""
        if column == "year":
            funding = self.plan.funding
            return funding[funding["kind"] == "capital"].groupby("year")["amount"].sum().sort_index()
        return self.plan.items.groupby(column)["capital_cost"].sum().sort_index()

    def spend_by_source(self) -> pd.DataFrame:
        """Capital and annual dollars by funding source (``local`` for the district's own)."""
        f = self.plan.funding
        table = f.pivot_table(index="source", columns="kind", values="amount", aggfunc="sum", fill_value=0.0)
        for kind in ("capital", "annual"):
            if kind not in table:
                table[kind] = 0.0
        table = table[["capital", "annual"]]
        order = [s.id for s in self.problem.sources if s.id in table.index] + ([LOCAL] if LOCAL in table.index else [])
        return table.loc[order]

    def grant_use(self) -> pd.DataFrame:
        """Grant money used and left per source and award period, with the local match
        counted, the grant's real share, and why money stays unused."""
        return self._grant_use.copy()

    @cached_property
    def _grant_use(self) -> pd.DataFrame:
        return grant_use(self.problem, self.plan)

    def tier_money(self) -> pd.DataFrame:
        """Capital and items of the plan by what they do for PASS tiers (within the tiers
        reached, toward the next tier, beyond it, outside the tiers)."""
        items = self.plan.items.assign(pass_tier=self.pass_tiers())
        return (items.groupby("pass_tier").agg(items=("measure_id", "size"), capital=("capital_cost", "sum"))
                .reindex([WITHIN, TOWARD, BEYOND, OUTSIDE]).dropna().astype({"items": int}))

    def pass_tiers(self) -> pd.Series:
        """For each item of the plan (by ``plan.items``' index), what it does for PASS tiers
        (:func:`~optimizer.core.tiers.tier_progress`)."""
        return self._pass_tiers.copy()

    @cached_property
    def _pass_tiers(self) -> pd.Series:
        return tier_progress(self.plan.items, self._tiers[1])

    def tiers(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """PASS tier per site and layer, before and after the plan."""
        before, after = self._tiers
        return before.copy(), after.copy()

    @cached_property
    def _tiers(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        before = tiers_attained(self.problem)
        return before, before if self.plan is None else tiers_attained(self.problem, self.plan.installs)

    # -- units and words a board understands ------------------------------------------

    @property
    def full_value(self) -> float:
        """Modelled risk with nothing in place (serious-harm equivalents), counted as the risk
        reduced is (each year of the horizon and the years after it, discounted): the risk
        reduced if every threat at every school were removed."""
        time = self.problem.time
        periods = sum(time.year(k) for k in range(len(self.problem.years))) + time.total_after
        return float(self.problem.groups["weight"].sum()) * periods

    @property
    def protection(self) -> float:
        """Share of the modelled risk removed with the plan and what is in place (``value / full_value``)."""
        full = self.full_value
        return min(max(self.value / full, 0.0), 1.0) if full > 0 else 1.0

    @property
    def baseline_protection(self) -> float:
        """Share of the modelled risk removed by what is in place, with nothing bought."""
        full = self.full_value
        return min(max(self.baseline_value / full, 0.0), 1.0) if full > 0 else 1.0

    @property
    def gap_closed(self) -> float:
        """Share (0 to 1) of the modelled risk left by what is in place that the plan removes:
        ``(value - baseline_value) / (full_value - baseline_value)``."""
        return _share(self.value, self.baseline_value, self.full_value)

    @property
    def dollars_per_point(self) -> float | None:
        """Total cost of ownership over the horizon per percentage point of the remaining risk
        removed; None when the plan removes none of it (or there is no plan)."""
        if self.plan is None:
            return None
        points = 100 * (self.value - self.baseline_value) / max(self.full_value - self.baseline_value, 1e-12)
        if points <= 1e-9:
            return None
        return round(self.totals()["tco"] / points, 2)

    def risk_range(self) -> tuple[float, float]:
        """:attr:`gap_closed` with every measure's effectiveness at the low end and at the high
        end of its evidence band (docs/effectiveness-rubric.md)."""
        installs = self.plan.installs if self.plan is not None else {}
        out = []
        for column in ("ell_low", "ell_high"):
            value, base = (RiskLedger(self.problem, i, column).total() for i in (installs, {}))
            out.append(_share(value, base, self.full_value))
        return out[0], out[1]

    def gap_words(self, asked: float) -> str:
        """Why the gap ``asked`` is close enough: what the solver proves, beside how far the
        evidence bands alone move the plan's modelled risk reduction."""
        proven = "" if self.report.gap is None or self.report.gap != self.report.gap else \
            f" (this plan: {self.report.gap:.2%})"
        words = f"The solver stops once a plan is proven within {asked:.2%} of the best plan the model allows{proven}."
        low, high = self.risk_range()
        spread = (high - low) / self.gap_closed if self.plan is not None and self.gap_closed > 0 else 0.0
        if spread > 0 and asked > 0:
            words += (f" The effectiveness bands alone move this plan's modelled risk reduction from {percent(low)} "
                      f"to {percent(high)}, {spread:.0%} of its value and about {spread / asked:,.0f} times the gap: "
                      "a closer proof changes nothing the evidence can tell apart.")
        same = "This gap is the command line's default, so its plans are these." if asked == DEFAULT_GAP else \
            f"The command line gives these plans with --gap {asked:g}."
        return f"{words} {same}"

    def risk_by_threat(self) -> pd.DataFrame:
        """Per threat: modelled risk a year with nothing in place, the share what is in place
        removes, the share of the rest the plan removes, and serious-harm equivalents the plan
        avoids (counted as :attr:`value` is)."""
        p = self.problem
        periods = self.full_value / max(float(p.groups["weight"].sum()), 1e-300)
        total = p.groups.groupby("threat")["weight"].sum() * periods
        before = RiskLedger(p, {}).by_threat()
        after = RiskLedger(p, self.plan.installs if self.plan is not None else {}).by_threat()
        rows = [{"threat": tid, "name": p.threat_names.get(tid, tid), "risk_per_year": total[tid] / periods,
                 "in_place": before[tid] / total[tid] if total[tid] > 0 else 0.0,
                 "plan": _share(after[tid], before[tid], total[tid]), "avoided": after[tid] - before[tid]}
                for tid in total.index]
        return pd.DataFrame(rows).sort_values("risk_per_year", ascending=False, kind="mergesort").reset_index(drop=True)

    def unspent_local(self) -> dict[str, float]:
        """Local capital and operating money the plan leaves unspent over the horizon."""
        f = self.plan.funding if self.plan is not None else None
        out = {}
        for kind, budget in (("capital", self.problem.capital_budget), ("annual", self.problem.operating_budget)):
            limit = sum(budget.values())
            if kind == "capital" and self.problem.total_budget is not None:
                limit = min(limit, self.problem.total_budget)
            spent = 0.0 if f is None else float(f.loc[(f["source"] == LOCAL) & (f["kind"] == kind), "amount"].sum())
            if kind == "annual" and self.plan is not None:
                spent += self.plan.procurement
            out[kind] = max(limit - spent, 0.0)
        return out

    def tier1_reached(self, before: bool = False) -> tuple[int, int]:
        """Site-layer pairs at PASS tier 1 or higher after the plan (before it, with
        ``before``), out of all site-layer pairs."""
        return tier1_count(self._tiers[0 if before else 1])

    def headline_words(self) -> list[str]:
        """The plan in words: the modelled risk it removes (with the evidence bands' range and
        by threat) and what it costs; PASS tier 1 beside it as the roadmap; then the raw numbers
        for analysts and what local money it leaves unspent, and why."""
        return list(self._headline)

    @cached_property
    def _headline(self) -> tuple[str, ...]:
        """:meth:`headline_words`, made once per plan (the summary, the exports and the app each ask)."""
        after, cells = self.tier1_reached()
        start, _ = self.tier1_reached(before=True)
        cost = self.totals()["tco"] if self.plan is not None else 0.0
        tco = self.cost_range()["tco"] if self.plan is not None else (0.0, 0.0, 0.0)
        low, high = self.risk_range()
        threats = self.risk_by_threat()
        shown = threats[threats["avoided"] > 1e-9 * max(self.full_value, 1.0)]
        by_threat = ", ".join(f"{r.name.lower()} {percent(r.plan)}" for r in shown.itertuples())
        avoided = self.value - self.baseline_value
        head = (f"reduces the modelled risk of serious harm at the district's schools by {percent(self.gap_closed)} "
                f"(from {percent(low)} to {percent(high)} across the evidence bands"
                + (f"; by threat: {by_threat}" if by_threat else "") + "); "
                f"{after} of {cells} site-layers at PASS tier 1 or higher (was {start}); "
                f"{money_words(cost)} total cost of ownership"
                + _likely_words(tco)
                + (f", {money_words(cost / avoided)} per serious-harm equivalent avoided" if avoided > 1e-12 else ""))
        time = self.problem.time
        analyst = (f"modelled risk over the plan's {len(self.problem.years)} years and the {time.after} after them "
                   f"(discounted {time.rate:.0%} a year) {self.full_value:,.3f} serious-harm equivalents with nothing "
                   f"in place; what is in place removes {self.baseline_value:,.3f}, the plan {avoided:,.3f} more")
        return (head, analyst, *self.local_left_words())

    def local_left_words(self) -> list[str]:
        """The district's own money the plan leaves unspent, and why, in one sentence (none when
        it spends every dollar)."""
        left = self.unspent_local()
        if self.plan is None or (left["capital"] < 1 and left["annual"] < 1):
            return []
        price = self.problem.least_value_per_1000
        why = (f"what else it could buy avoids less than {price:.3g} serious-harm equivalents per $1,000 "
               f"(one per {money_words(1000 / price)}), the least value local money must buy" if price > 0
               else "nothing else it may buy adds protection within the plan's rules")
        return [f"local money left unspent: {money_words(left['capital'])} capital and "
                f"{money_words(left['annual'])} operating over the horizon; {why}"]

    def keyed_installs(self) -> dict[str, int]:
        """The plan's items as candidate key (``measure@place``) -> fiscal year: how a plan is
        matched to another problem of the same district (a what-if, a saved plan)."""
        keys = self.problem.candidates["key"]
        return {keys[c]: int(t) for c, t in self.plan.installs.items()} if self.plan is not None else {}

    @cached_property
    def _rows(self) -> list[int]:
        """Candidate row of each plan item, in the order of ``plan.items``."""
        cand = self.problem.candidates
        row_of = {(mid, sid): i for i, (mid, sid) in enumerate(zip(cand["measure_id"], cand["site_id"]))}
        return [row_of[k] for k in zip(self.plan.items["measure_id"], self.plan.items["site_id"])]

    def school_names(self) -> dict[str, str]:
        """School name per site id (``district-wide`` for district measures)."""
        return {DISTRICT: DISTRICT_WIDE, **{s.id: s.name for s in self.problem.sites}}

    def source_names(self) -> dict[str, str]:
        """Funding source name per id (``district budget`` for the district's own money)."""
        return {**{s.id: s.name for s in self.problem.sources}, LOCAL: LOCAL_WORDS}

    def _payers(self, keys, grants_only: bool = False) -> dict:
        """Per key, the sources (grants first, in the scenario's order, then the district's own
        unless ``grants_only``) that pay any of the funding rows the key is given to: ``keys``
        holds one key per row of ``plan.funding``. A key nothing pays for is left out."""
        names = self.source_names()
        order = {s: i for i, s in enumerate([s.id for s in self.problem.sources] + ([] if grants_only else [LOCAL]))}
        funding = self.plan.funding
        paid: dict = defaultdict(set)
        for key, source, amount in zip(keys, funding["source"], funding["amount"]):
            if amount > 0 and source in order:
                paid[key].add(source)
        return {key: ", ".join(names[s] for s in sorted(sources, key=order.__getitem__))
                for key, sources in paid.items()}

    def projects(self, max_names: int = 3) -> pd.DataFrame:
        """The plan as a board approves it: one row per project (a PASS component's purchases,
        or an award's project, in one fiscal year, see :mod:`optimizer.core.projects`), with
        what it buys (measure names, the first ``max_names``), at how many places, its capital,
        recurring cost, the local operating money its procurement costs and the sources that
        pay it, in the order it is bought.

        Columns: ``project``, ``buys``, ``places``, ``items``, ``capital``, ``annual``,
        ``procurement``, ``paid_by``, ``key``, ``year``."""
        cand, funding = self.problem.candidates, self.plan.funding
        names = dict(zip(cand["measure_id"], cand["name"]))
        key_of = dict(zip(zip(cand["measure_id"], cand["site_id"]), cand["project"]))
        # each dollar to its item's project: the item's project key and the year it is installed in
        project_of = {(m, s): (key_of[m, s], int(y)) for m, s, y in self.plan.items[["measure_id", "site_id", "year"]]
                      .itertuples(index=False)}
        payers = self._payers([project_of[k] for k in zip(funding["measure_id"], funding["site_id"])])
        rows = []
        for r in self.plan.projects.itertuples(index=False):
            ids = r.measure_ids.split(";")
            buys = [names.get(m, m) for m in ids[:max_names]] + ([f"{len(ids) - max_names} more"]
                                                                 if len(ids) > max_names else [])
            rows.append({"project": r.project, "buys": ", ".join(buys), "places": int(r.places), "items": int(r.items),
                         "capital": round(float(r.capital), 2), "annual": round(float(r.annual), 2),
                         "procurement": round(float(r.procurement), 2), "paid_by": payers.get((r.key, int(r.year)), ""),
                         "key": r.key, "year": int(r.year)})
        return pd.DataFrame(rows, columns=PROJECT_TABLE_COLUMNS)

    def what_to_buy(self) -> pd.DataFrame:
        """One row per measure of the plan: what it is, at how many schools (all of them for a
        district-wide measure; named when at most ``NAMED_SCHOOLS``), how much of it, its capital
        and annual cost, the fiscal years it is bought in and the sources that pay it. Largest
        capital first.

        Columns: ``measure``, ``schools``, ``where``, ``quantity``, ``unit``, ``capital``,
        ``annual``, ``fiscal_years``, ``paid_by``, ``measure_id``."""
        return self._what_to_buy.copy()

    @cached_property
    def _what_to_buy(self) -> pd.DataFrame:
        items = self.plan.items
        names = self.school_names()
        payers = self._payers(self.plan.funding["measure_id"])
        rows = []
        for mid, group in items.groupby("measure_id", sort=True):
            sites = list(dict.fromkeys(group["site_id"]))
            schools = [s for s in sites if s != DISTRICT]
            where = ([DISTRICT_WIDE] if DISTRICT in sites else []) + (
                [names[s] for s in schools] if len(schools) <= NAMED_SCHOOLS else [f"{len(schools)} schools"])
            units = list(dict.fromkeys(group["unit"]))
            rows.append({
                # a district-wide measure serves every school
                "measure": group["name"].iloc[0], "where": ", ".join(where),
                "schools": len(self.problem.sites) if DISTRICT in sites else len(schools),
                "quantity": int(group["quantity"].sum()), "unit": units[0] if len(units) == 1 else "mixed units",
                "capital": round(float(group["capital_cost"].sum()), 2),
                "annual": round(float(group["annual_cost"].sum()), 2),
                "fiscal_years": ", ".join(str(y) for y in sorted(set(group["year"].astype(int)))),
                "paid_by": payers.get(mid, ""),
                "measure_id": mid,
            })
        table = pd.DataFrame(rows, columns=WHAT_TO_BUY_COLUMNS)
        if len(table):
            table = table.sort_values(["capital", "measure", "measure_id"], ascending=[False, True, True],
                                      kind="mergesort").reset_index(drop=True)
        return table

    def item_gains(self) -> pd.Series:
        """Risk reduced by each plan item (aligned with ``plan.items``): the plan's risk reduced
        minus the same without that item."""
        gains = RiskLedger(self.problem, self.plan.installs).gains(list(self._rows))
        return pd.Series(gains, index=self.plan.items.index, name="gain", dtype=float)

    def item_tco(self) -> pd.Series:
        """Total cost of ownership of each plan item over the horizon (capital plus every
        year's recurring cost), aligned with ``plan.items``."""
        f = self.plan.funding
        cost = f.groupby(["measure_id", "site_id"])["amount"].sum().to_dict()
        keys = zip(self.plan.items["measure_id"], self.plan.items["site_id"])
        return pd.Series([float(cost.get(k, 0.0)) for k in keys], index=self.plan.items.index, name="tco")

    def reasons(self) -> pd.Series:
        """A short "why" for each plan item (aligned with ``plan.items``): the mandate it
        meets, the planned item it is a prerequisite or the lower PASS tier for, otherwise its
        value per $1,000 of total cost of ownership; and the grants that pay it."""
        return self._reasons.copy()

    @cached_property
    def _reasons(self) -> pd.Series:
        """:meth:`reasons`, made once per plan (the summary, the tables and the exports each ask)."""
        problem, items = self.problem, self.plan.items
        cand = problem.candidates
        rows = self._rows
        planned = set(self.plan.installs)
        names = self.school_names()
        name, site = cand["name"].to_numpy(), cand["site_id"].to_numpy()
        label = {c: f"{name[c]} ({names.get(site[c], site[c])})" for c in planned}
        mandates: dict[int, list[str]] = defaultdict(list)
        for rule in problem.mandates:
            for _, _, options in rule.requirements():
                for c in set(options) & planned:
                    if rule.title not in mandates[c]:
                        mandates[c].append(rule.title)
        for c in set(problem.musts) & planned:
            mandates[c].append("required by the scenario")
        enables: dict[int, list[str]] = defaultdict(list)
        for kind, links in (("prerequisite", problem.prerequisites), ("lower tier", problem.tier_links)):
            for needer, options in links:
                if needer not in planned:
                    continue
                for c in set(options) & planned:
                    if not any(w.endswith(f" for {label[needer]}") for w in enables[c]):
                        enables[c].append(f"{kind} for {label[needer]}")
        gains, tco = self.item_gains().to_dict(), self.item_tco().to_dict()
        funding = self.plan.funding
        payers = self._payers(zip(funding["measure_id"], funding["site_id"]), grants_only=True)
        out = []
        for i, c, key in zip(items.index, rows, zip(items["measure_id"], items["site_id"])):
            parts = []
            if mandates.get(c):
                parts.append("meets mandate: " + "; ".join(mandates[c]))
            if enables.get(c):
                parts.append(", ".join(enables[c][:3]) + (f" and {len(enables[c]) - 3} more"
                                                          if len(enables[c]) > 3 else ""))
            if not parts:
                cost = tco[i]
                per = gains[i] / (cost / 1000) if cost > 0 else None
                parts.append(f"avoids {per:.3g} serious-harm equivalents per $1,000" if per is not None
                             else f"avoids {gains[i]:.3g} serious-harm equivalents at no cost")
            payer = payers.get(key, "")
            if payer:
                parts.append(f"paid by {payer}")
            out.append("; ".join(parts))
        return pd.Series(out, index=items.index, name="why", dtype=object)


#: Schools named in a row of what to buy; more are counted ("15 schools").
NAMED_SCHOOLS = 3
DISTRICT_WIDE = "district-wide"
LOCAL_WORDS = "district budget"
PROJECT_TABLE_COLUMNS = ["project", "buys", "places", "items", "capital", "annual", "procurement", "paid_by",
                   "key", "year"]
WHAT_TO_BUY_COLUMNS = ["measure", "schools", "where", "quantity", "unit", "capital", "annual",
                       "fiscal_years", "paid_by", "measure_id"]


def _share(value: float, base: float, full: float) -> float:
    """Share of the risk left by ``base`` that ``value`` removes (1 when none is left)."""
    gap = full - base
    if gap <= 1e-9 * max(full, 1e-12):
        return 1.0
    return min(max((value - base) / gap, 0.0), 1.0)


def percent(share: float) -> str:
    """A share as the headline prints it: ``34.2%``."""
    return f"{100 * share:.1f}%"


def money_words(x: float) -> str:
    """Whole dollars with thousands separators: ``$1,250``."""
    return f"{'-' if round(x) < 0 else ''}${abs(x):,.0f}"


def _likely_words(cost: tuple[float, float, float]) -> str:
    """The likely range of a cost in words, and why the typical figure may sit below it."""
    low, typical, high = cost
    if high <= low:
        return ""
    below = (", above the typical prices' sum: most price ranges reach further up than down"
             if typical < low - 0.5 else "")
    return f" (likely {money_words(low)} to {money_words(high)} across the price ranges{below})"
