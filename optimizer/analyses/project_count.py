"""What a short list of projects costs: the scenario planned at each limit on the number of
projects, with no limit, and with no limit and nothing to pay for procuring a project, so
that the modelled risk reduction given up for a plan a board can approve and a purchasing
office can bid is shown beside the plan (see :mod:`optimizer.core.projects`)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.core.plan import LOCAL
from optimizer.core.result import PlanResult, money_words, percent
from optimizer.core.run import optimize
from optimizer.core.status import SolveOptions, Status
from optimizer.data.inputs import Inputs
from optimizer.data.overrides import with_projects

PROJECT_COUNT_COLUMNS = ["plan", "max_projects", "procurement_each", "projects", "risk_removed", "avoided",
                         "procurement", "local_money", "status", "gap", "scenario"]
#: The plans beside the limits: no limit, and no limit with procuring a project free.
NO_LIMIT, FREE = "no limit", "no limit, procuring free"
#: Most limits solved when none are asked for (spread from one project to the unlimited plan's count).
MOST_LIMITS = 12


@dataclass
class ProjectCount:
    """Risk reduction against the number of projects.

    Attributes
    ----------
    table : DataFrame
        One row per plan (``PROJECT_COUNT_COLUMNS``): the limit it was planned under
        (``max_projects``, empty for no limit), the cost of procuring a project it paid, the
        projects it has, the share of the modelled risk left by what is in place that it
        removes (``risk_removed``), the serious-harm equivalents it avoids, its procurement
        and local money, status and proven gap; ``scenario`` marks the scenario's own plan.
    plans : list of PlanResult
        The plan of each row.
    limit : int, optional
        The scenario's own limit (None: no limit); when the plan with no limit has no more
        projects than it allows, the limit does not bind and that plan is the scenario's.
    """

    table: pd.DataFrame
    plans: list[PlanResult]
    limit: int | None = None

    def _row(self, label: str | None = None) -> pd.Series | None:
        rows = self.table[self.table["scenario"]] if label is None else self.table[self.table["plan"] == label]
        rows = rows[rows["status"].isin([Status.OPTIMAL.value, Status.FEASIBLE.value])]  # a plan to read
        return None if rows.empty else rows.iloc[0]

    def words(self) -> list[str]:
        """What the limit and the cost of procuring cost, in sentences a board can read."""
        own, unlimited, free = self._row(), self._row(NO_LIMIT), self._row(FREE)
        out = []
        if unlimited is not None and own is not None and own["plan"] != NO_LIMIT:
            out.append(f"The scenario's limit of {own['max_projects']:.0f} projects: its plan ({own['projects']:.0f} "
                       f"projects) removes {percent(own['risk_removed'])} of the modelled risk; with no limit the plan "
                       f"is {unlimited['projects']:.0f} projects and removes {percent(unlimited['risk_removed'])} "
                       f"({_compared(unlimited, own)}).")
        elif unlimited is not None and self.limit is not None:
            out.append(f"The scenario's limit of {self.limit} projects does not bind: the best plan is "
                       f"{unlimited['projects']:.0f} projects.")
        if unlimited is not None and free is not None:
            out.append(f"Procuring a project costs {money_words(unlimited['procurement_each'])} of staff time "
                       f"({money_words(unlimited['procurement'])} in the plan with no limit); were it free, the "
                       f"plan would be {free['projects']:.0f} projects removing {percent(free['risk_removed'])} "
                       f"({_compared(free, unlimited)}).")
        return out


def _compared(a: pd.Series, b: pd.Series) -> str:
    """Plan ``a``'s share of the risk removed against plan ``b``'s, in percentage points; a
    difference inside the two solves' proven gaps is not one."""
    points = 100 * (a["risk_removed"] - b["risk_removed"])
    noise = 100 * ((a["gap"] or 0.0) + (b["gap"] or 0.0)) * max(a["risk_removed"], b["risk_removed"])
    if abs(points) <= max(noise, 0.005):
        return "about the same: the difference is within the solves' proven gaps"
    return f"{abs(points):.2f} points {'more' if points > 0 else 'less'}"


def default_limits(unlimited: int) -> list[int]:
    """From one project to one fewer than the unlimited plan has (at most ``MOST_LIMITS``,
    evenly spread)."""
    top = max(unlimited - 1, 1)
    return sorted({int(round(k)) for k in np.linspace(1, top, min(top, MOST_LIMITS))})


def project_count(inputs: Inputs, limits: list[int] | None = None, options: SolveOptions = SolveOptions(),
                  progress: Callable[[int, int], None] | None = None) -> ProjectCount:
    """Plan the scenario with no limit on the number of projects, at each limit in ``limits``
    (by default :func:`default_limits`; the scenario's own limit too when it binds) and with
    procuring free. The limits are solved from
    the smallest up, each solve starting from the plan of the limit below it (a plan keeps
    every rule under a larger limit), so that no larger limit comes out with a worse plan; the
    plan with no limit is solved again from the best of them when one beats it."""
    policy = inputs.scenario.policy
    unlimited = optimize(with_projects(inputs, None), options)
    count = len(unlimited.plan.projects) if unlimited.plan is not None else 1
    binds = policy.max_projects is not None and policy.max_projects < count
    limits = sorted(set(default_limits(count) if limits is None else limits) | ({policy.max_projects} if binds else set()))
    found, previous = [], None
    for done, limit in enumerate(limits):
        if progress is not None:
            progress(done, len(limits) + 1)
        result = optimize(with_projects(inputs, limit), options, previous=previous)
        found.append((f"at most {limit}", limit, policy.project_cost, result))
        previous = result if result.plan is not None else previous
    if previous is not None and unlimited.report.objective is not None and \
            previous.report.objective is not None and previous.report.objective > unlimited.report.objective:
        unlimited = optimize(with_projects(inputs, None), options, previous=previous)
    if progress is not None:
        progress(len(limits), len(limits) + 1)
    free = optimize(with_projects(inputs, None, 0.0), options, previous=unlimited if unlimited.plan else None)
    found[:0] = [(NO_LIMIT, None, policy.project_cost, unlimited), (FREE, None, 0.0, free)]
    own = policy.max_projects if policy.max_projects in limits else None  # else the limit does not bind
    rows = [_row(label, limit, cost, result, limit == own and cost == policy.project_cost)
            for label, limit, cost, result in found]
    table = pd.DataFrame(rows, columns=PROJECT_COUNT_COLUMNS)
    return ProjectCount(table, [result for *_, result in found], policy.max_projects)


def _row(label: str, limit: int | None, cost: float, result: PlanResult, scenario: bool) -> dict:
    plan = result.plan
    local = 0.0 if plan is None else float(plan.funding.loc[plan.funding["source"] == LOCAL, "amount"].sum())
    return {"plan": label, "max_projects": limit, "procurement_each": cost,
            "projects": None if plan is None else len(plan.projects),
            "risk_removed": None if plan is None else result.gap_closed,
            "avoided": None if plan is None else result.value - result.baseline_value,
            "procurement": None if plan is None else plan.procurement,
            "local_money": None if plan is None else local + plan.procurement,
            "status": result.status.value, "gap": result.report.gap, "scenario": scenario}
