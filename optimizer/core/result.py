"""The typed result of planning: a verified plan with the summaries a finance office reads.
Free of any solver object (see ``optimizer.core.run`` for the call that makes one)."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from optimizer.core.grant_use import grant_use
from optimizer.core.plan import LOCAL, Plan
from optimizer.core.problem import Problem
from optimizer.core.status import SolveReport, Status
from optimizer.core.tiers import (
    BEYOND,
    OUTSIDE,
    TOWARD,
    WITHIN,
    tier_progress,
    tiers_attained,
)
from optimizer.core.verify import Violation
from optimizer.errors import OptimizerError


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
    ``baseline_value`` is the same with nothing bought.
    """

    scenario: str
    problem: Problem
    report: SolveReport
    plan: Plan | None
    value: float
    baseline_value: float
    build_seconds: float
    violations: list[Violation] = field(default_factory=list)

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
