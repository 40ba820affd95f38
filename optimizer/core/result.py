"""The typed result of planning: a verified plan with the summaries a finance office reads.
Free of any solver object (see ``optimizer.core.run`` for the call that makes one)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer.core.grant_use import grant_use
from optimizer.core.plan import LOCAL, Plan
from optimizer.core.problem import COVERAGE_SEGMENTS, DISTRICT, Problem
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
from optimizer.errors import OptimizerError

if TYPE_CHECKING:
    from optimizer.core.highs_runner import LpBasis


class InvalidPlan(OptimizerError):
    """The solver returned a plan that the independent verifier rejects."""

    def __init__(self, violations: list[Violation]):
        self.violations = violations
        super().__init__("the solver's plan breaks rules it must keep; it is not shown as valid:\n"
                         + "\n".join(f"  - {v}" for v in violations[:20]))


@dataclass
class PlanResult:
    """A verified plan and everything reported about it.

    ``value`` is the risk reduction (weighted coverage per year, existing measures included);
    ``baseline_value`` is the same with nothing bought. The headline unit is
    :attr:`gap_closed`, the share of the protection gap (from what is in place to full
    coverage everywhere) that the plan closes.
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
        """Capital over the horizon, annual cost at the end of the horizon, and total cost of
        ownership (capital plus recurring costs of every year in place)."""
        items = self.plan.items
        annual = self.plan.funding[self.plan.funding["kind"] == "annual"]["amount"].sum()
        return {"capital": round(float(items["capital_cost"].sum()), 2),
                "annual": round(float(items["annual_cost"].sum()), 2),
                "tco": round(float(items["capital_cost"].sum() + annual), 2)}

    def spend_by(self, column: str) -> pd.Series:
        """Capital spend by ``year``, ``layer``, ``component`` or ``site_id``."""
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
        return grant_use(self.problem, self.plan)

    def tier_money(self) -> pd.DataFrame:
        """Capital and items of the plan by what they do for PASS tiers (within the tiers
        reached, toward the next tier, beyond it, outside the tiers)."""
        items = self.plan.items.assign(pass_tier=tier_progress(self.problem, self.plan.items, self.plan.installs))
        return (items.groupby("pass_tier").agg(items=("measure_id", "size"), capital=("capital_cost", "sum"))
                .reindex([WITHIN, TOWARD, BEYOND, OUTSIDE]).dropna().astype({"items": int}))

    def tiers(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """PASS tier per site and layer, before and after the plan."""
        return tiers_attained(self.problem), tiers_attained(self.problem, self.plan.installs)

    # -- units and words a board understands ------------------------------------------

    @property
    def full_value(self) -> float:
        """The objective with every coverage group at full coverage (value 1 after
        diminishing returns) in every year of the horizon: the most any plan could reach."""
        return float(self.problem.groups["weight"].sum()) * len(self.problem.years)

    @property
    def protection(self) -> float:
        """The plan's modelled protection as a share of full coverage (``value / full_value``)."""
        full = self.full_value
        return min(max(self.value / full, 0.0), 1.0) if full > 0 else 1.0

    @property
    def baseline_protection(self) -> float:
        """Modelled protection of what is in place, with nothing bought, as a share of full
        coverage."""
        full = self.full_value
        return min(max(self.baseline_value / full, 0.0), 1.0) if full > 0 else 1.0

    @property
    def gap_closed(self) -> float:
        """Share (0 to 1) of the district's protection gap the plan closes:
        ``(value - baseline_value) / (full_value - baseline_value)``. 0: the plan adds no
        modelled protection to what is in place; 1: every coverage group is at full coverage in
        every year. A district already at full coverage has no gap left: 1."""
        gap = self.full_value - self.baseline_value
        if gap <= 1e-9 * max(self.full_value, 1.0):
            return 1.0
        return min(max((self.value - self.baseline_value) / gap, 0.0), 1.0)

    @property
    def dollars_per_point(self) -> float | None:
        """Total cost of ownership over the horizon per percentage point of the protection
        gap closed; None when the plan closes none of it (or there is no plan)."""
        if self.plan is None:
            return None
        points = 100 * (self.value - self.baseline_value) / max(self.full_value - self.baseline_value, 1e-12)
        if points <= 1e-9:
            return None
        return round(self.totals()["tco"] / points, 2)

    def tier1_reached(self, before: bool = False) -> tuple[int, int]:
        """Site-layer pairs at PASS tier 1 or higher after the plan (before it, with
        ``before``), out of all site-layer pairs."""
        frame = tiers_attained(self.problem, None if before or self.plan is None else self.plan.installs)
        return tier1_count(frame)

    def headline_words(self) -> list[str]:
        """The plan in two sentences: the share of the protection gap closed and what it
        costs (the headline), then the raw risk reduction for analysts."""
        after, cells = self.tier1_reached()
        start, _ = self.tier1_reached(before=True)
        per_point = self.dollars_per_point
        cost = self.totals()["tco"] if self.plan is not None else 0.0
        head = (f"closes {percent(self.gap_closed)} of the protection gap (modelled protection "
                f"{percent(self.baseline_protection)} of full coverage with what is in place, "
                f"{percent(self.protection)} after the plan); {after} of {cells} site-layers at PASS tier 1 "
                f"or higher (was {start}); {money_words(cost)} total cost of ownership"
                + (f", {money_words(per_point)} per point of the gap closed" if per_point is not None else ""))
        analyst = (f"risk reduction {self.value:,.3f} (with nothing bought {self.baseline_value:,.3f}, "
                   f"at full coverage {self.full_value:,.3f})")
        return [head, analyst]

    # -- what to buy and why -----------------------------------------------------------

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

    def _payers(self, frame: pd.DataFrame, grants_only: bool = False) -> str:
        names = self.source_names()
        paid = set(frame.loc[frame["amount"] > 0, "source"])
        order = [s.id for s in self.problem.sources] + ([] if grants_only else [LOCAL])
        return ", ".join(names[s] for s in order if s in paid)

    def what_to_buy(self, max_names: int = 3) -> pd.DataFrame:
        """One row per measure of the plan: what it is, at how many schools (all of them for a
        district-wide measure; named when at most ``max_names``), how much of it, its capital
        and annual cost, the fiscal years it is bought in and the sources that pay it. Largest
        capital first.

        Columns: ``measure``, ``schools``, ``where``, ``quantity``, ``unit``, ``capital``,
        ``annual``, ``fiscal_years``, ``paid_by``, ``measure_id``."""
        items, funding = self.plan.items, self.plan.funding
        names = self.school_names()
        rows = []
        for mid, group in items.groupby("measure_id", sort=True):
            sites = list(dict.fromkeys(group["site_id"]))
            schools = [s for s in sites if s != DISTRICT]
            where = ([DISTRICT_WIDE] if DISTRICT in sites else []) + (
                [names[s] for s in schools] if len(schools) <= max_names else [f"{len(schools)} schools"])
            units = list(dict.fromkeys(group["unit"]))
            rows.append({
                # a district-wide measure serves every school
                "measure": group["name"].iloc[0], "where": ", ".join(where),
                "schools": len(self.problem.sites) if DISTRICT in sites else len(schools),
                "quantity": int(group["quantity"].sum()), "unit": units[0] if len(units) == 1 else "mixed units",
                "capital": round(float(group["capital_cost"].sum()), 2),
                "annual": round(float(group["annual_cost"].sum()), 2),
                "fiscal_years": ", ".join(str(y) for y in sorted(set(group["year"].astype(int)))),
                "paid_by": self._payers(funding[funding["measure_id"] == mid]),
                "measure_id": mid,
            })
        table = pd.DataFrame(rows, columns=WHAT_TO_BUY_COLUMNS)
        if len(table):
            table = table.sort_values(["capital", "measure", "measure_id"], ascending=[False, True, True],
                                      kind="mergesort").reset_index(drop=True)
        return table

    def item_gains(self) -> pd.Series:
        """Marginal value of each plan item (aligned with ``plan.items``): the plan's value
        minus its value without that item, computed on the item's own coverage groups (the
        only terms of the objective it changes)."""
        problem, installs = self.problem, self.plan.installs
        years = np.asarray(problem.years)
        members = problem.group_members
        members = members[members["candidate"].isin(list(installs))]
        members = members.groupby(["group", "candidate"], as_index=False)["effectiveness"].sum()
        raw = problem.existing_coverage().copy()
        added = {}
        for g, c, e in members.itertuples(index=False):
            delta = np.where(years >= installs[int(c)], float(e), 0.0)
            raw[int(g)] += delta
            added.setdefault(int(c), []).append((int(g), delta))
        weights = problem.groups["weight"].to_numpy(dtype=float)
        gains = []
        for c in self._rows:
            gain = 0.0
            for g, delta in added.get(c, []):
                gain += weights[g] * float((_phi(raw[g]) - _phi(raw[g] - delta)).sum())
            gains.append(gain)
        return pd.Series(gains, index=self.plan.items.index, name="gain", dtype=float)

    def item_tco(self) -> pd.Series:
        """Total cost of ownership of each plan item over the horizon (capital plus every
        year's recurring cost), aligned with ``plan.items``."""
        f = self.plan.funding
        cost = f.groupby(["measure_id", "site_id"])["amount"].sum()
        keys = list(zip(self.plan.items["measure_id"], self.plan.items["site_id"]))
        return pd.Series([float(cost.get(k, 0.0)) for k in keys], index=self.plan.items.index, name="tco")

    def reasons(self) -> pd.Series:
        """A short "why" for each plan item (aligned with ``plan.items``): the mandate it
        meets, the planned item it is a prerequisite or the lower PASS tier for, otherwise its
        value per $1,000 of total cost of ownership; and the grants that pay it."""
        problem, items = self.problem, self.plan.items
        cand = problem.candidates
        rows = self._rows
        planned = set(self.plan.installs)
        names = self.school_names()
        label = {c: f"{cand.at[c, 'name']} ({names.get(cand.at[c, 'site_id'], cand.at[c, 'site_id'])})"
                 for c in planned}
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
        gains, tco = self.item_gains(), self.item_tco()
        funding = self.plan.funding
        payers = {k: self._payers(g, grants_only=True)
                  for k, g in funding[funding["source"] != LOCAL].groupby(["measure_id", "site_id"])}
        out = []
        for i, c in zip(items.index, rows):
            parts = []
            if mandates.get(c):
                parts.append("meets mandate: " + "; ".join(mandates[c]))
            if enables.get(c):
                parts.append(", ".join(enables[c][:3]) + (f" and {len(enables[c]) - 3} more"
                                                          if len(enables[c]) > 3 else ""))
            if not parts:
                cost = tco[i]
                per = gains[i] / (cost / 1000) if cost > 0 else None
                parts.append(f"adds {per:.3f} risk reduction per $1,000" if per is not None
                             else f"adds {gains[i]:.3f} risk reduction at no cost")
            payer = payers.get((items.at[i, "measure_id"], items.at[i, "site_id"]), "")
            if payer:
                parts.append(f"paid by {payer}")
            out.append("; ".join(parts))
        return pd.Series(out, index=items.index, name="why", dtype=object)


DISTRICT_WIDE = "district-wide"
LOCAL_WORDS = "district budget"
WHAT_TO_BUY_COLUMNS = ["measure", "schools", "where", "quantity", "unit", "capital", "annual",
                       "fiscal_years", "paid_by", "measure_id"]


def _phi(raw: np.ndarray) -> np.ndarray:
    """:func:`optimizer.core.problem.coverage_value` on an array."""
    out = np.ones_like(raw, dtype=float)
    for slope, icpt in COVERAGE_SEGMENTS:
        out = np.minimum(out, slope * raw + icpt)
    return out


def percent(share: float) -> str:
    """A share as the headline prints it: ``34.2%``."""
    return f"{100 * share:.1f}%"


def money_words(x: float) -> str:
    """Whole dollars with thousands separators: ``$1,250``."""
    return f"{'-' if round(x) < 0 else ''}${abs(x):,.0f}"
