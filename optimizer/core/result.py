"""The public planning call: expand, build, solve, read, verify; and the typed result with
the summaries a finance office reads."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from optimizer.core.grant_use import grant_use
from optimizer.core.greedy import greedy_plan
from optimizer.core.model import Model, build_model
from optimizer.core.plan import LOCAL, Plan
from optimizer.core.problem import Problem, expand
from optimizer.core.solve import (
    SolveReport,
    Status,
    check,
    fund_grants_first,
    read_plan,
    relaxation_bound,
    solve_phases,
    start_values,
)
from optimizer.core.tiers import (
    BEYOND,
    OUTSIDE,
    TOWARD,
    WITHIN,
    tier_progress,
    tiers_attained,
)
from optimizer.core.verify import Violation, plan_value, verify
from optimizer.data.inputs import Inputs
from optimizer.defaults import DEFAULT_GAP
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


def apply_overrides(inputs: Inputs, budget: float | None = None, years: int | None = None,
                    objective: str | None = None, stance: str | None = None) -> Inputs:
    """A copy of the inputs with the capital budget per year, the horizon length, the
    objective or the evidence stance changed (the command line's ``--budget``, ``--years``,
    ``--objective``; the stance check)."""
    s = inputs.scenario
    changes = {}
    if years is not None:
        changes["horizon"] = s.horizon.model_copy(update={"years": years})
    if budget is not None:
        changes["budget"] = s.budget.model_copy(update={"capital": float(budget)})
    policy = {k: v for k, v in (("objective", objective), ("evidence_stance", stance)) if v is not None}
    if policy:
        changes["policy"] = s.policy.model_copy(update=policy)
    if not changes:
        return inputs
    data = s.model_dump()
    data.update({k: v.model_dump() for k, v in changes.items()})
    if years is not None:
        fy = list(range(s.horizon.start, s.horizon.start + years))
        for which in ("capital", "operating"):
            value = data["budget"][which]
            if isinstance(value, dict):
                data["budget"][which] = {y: value.get(y, value[max(value)]) for y in fy}
    return Inputs(type(s).model_validate(data), inputs.catalog, inputs.path)


def _greedy_fallback(model, plan, report: SolveReport, baseline: float) -> PlanResult:
    """When the solver stops before it finds a plan, show the starting plan (it keeps every
    rule), clearly marked as not proven optimal."""
    problem = model.problem
    checked = check(model, plan)
    report.status = Status.FEASIBLE
    report.objective = report.gap = None
    if model.objective_kind == "risk_reduction":  # the objective is the gain over nothing bought
        report.objective = checked.value - baseline
        if report.dual_bound is None:
            report.dual_bound = relaxation_bound(model, max(10.0, report.solve_seconds))
        if report.dual_bound is not None:
            # the bound carries the tiny tie-break terms, so it can sit a hair below the value
            report.gap = max(0.0, report.dual_bound - report.objective) / max(abs(report.dual_bound), 1e-9)
    report.notes.append("the solver stopped before it found a plan: this is the starting plan (the "
                        "greedy baseline, or the plan of a nearby budget), verified but not proven optimal")
    return PlanResult(problem.scenario_name, problem, report, plan, checked.value, baseline, model.build_seconds)


def solve_and_check(model: Model, start: Plan | None = None, solver: str = "highs",
                    time_limit: float | None = None, gap: float = DEFAULT_GAP,
                    threads: int | None = None) -> PlanResult:
    """Solve a built model, read the plan and check it independently.

    Parameters
    ----------
    model : Model
        A built model (possibly re-solved at another budget, see ``Model.set_capital_budget``).
    start : Plan, optional
        A known plan; when it keeps every rule of the model's Problem it starts the solver
        and is shown (marked not proven optimal) if the solver finds nothing better in time.
    solver, time_limit, gap, threads
        As for :func:`optimize`.

    Raises
    ------
    InvalidPlan
        When the solver's plan fails the independent verifier.
    """
    problem = model.problem
    if start is not None:
        start = fund_grants_first(model, start.installs) or start
    usable = start is not None and not verify(problem, start)
    report = solve_phases(model, solver=solver, time_limit=time_limit, gap=gap, threads=threads,
                          start=start_values(model, start.installs) if usable else None)
    report.notes[:0] = problem.notes
    baseline = plan_value(problem, {})
    if report.status == Status.NO_SOLUTION and usable:
        return _greedy_fallback(model, start, report, baseline)
    if not report.has_plan:
        return PlanResult(problem.scenario_name, problem, report, None, baseline, baseline, model.build_seconds)
    checked = check(model, read_plan(model))
    if not checked.valid:
        raise InvalidPlan(checked.violations)
    return PlanResult(problem.scenario_name, problem, report, checked.plan, checked.value, baseline,
                      model.build_seconds)


def optimize(inputs: Inputs, solver: str = "highs", time_limit: float | None = None,
             gap: float = DEFAULT_GAP, threads: int | None = None) -> PlanResult:
    """Plan a scenario: the whole pipeline, with the independent check of the plan.

    Parameters
    ----------
    inputs : Inputs
        A checked scenario and catalog (``load_inputs``).
    solver : {"highs", "cbc"}
        MIP solver; falls back to the other one when missing (and says so in the notes).
    time_limit : float, optional
        Seconds for the solver.
    gap : float
        Relative optimality gap tolerance.
    threads : int, optional
        Solver threads.

    Returns
    -------
    PlanResult
        Infeasible scenarios come back with ``status`` infeasible and no plan (see
        ``diagnose`` for the conflicting rules).

    Raises
    ------
    InvalidPlan
        When the solver's plan fails the independent verifier.
    """
    problem = expand(inputs)
    model = build_model(problem)
    return solve_and_check(model, greedy_plan(problem), solver, time_limit, gap, threads)
