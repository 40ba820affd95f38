"""What-ifs on checked inputs: another capital budget, horizon, objective or evidence stance
(the command line's ``--budget``, ``--years``, ``--objective``; the stance check)."""
from __future__ import annotations

from optimizer.data.inputs import Inputs


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


def with_more_money(inputs: Inputs, factor: float, operating: bool = True,
                    project_limit: bool = True) -> Inputs:
    """A copy of the inputs with every local budget ``factor`` times the scenario's: capital
    (and its total cap), operating unless ``operating`` is False; the project limit lifted
    unless ``project_limit`` is True. Screening asks these to find which limit holds a
    measure out."""
    s = inputs.scenario

    def scaled(value):
        return {year: amount * factor for year, amount in value.items()} if isinstance(value, dict) else value * factor

    budget = s.budget.model_copy(update={
        "capital": scaled(s.budget.capital),
        "operating": scaled(s.budget.operating) if operating else s.budget.operating,
        "total": None if s.budget.total is None else s.budget.total * factor})
    policy = s.policy if project_limit else s.policy.model_copy(update={"max_projects": None})
    return Inputs(s.model_copy(update={"budget": budget, "policy": policy}), inputs.catalog, inputs.path)


def with_projects(inputs: Inputs, max_projects: int | None, project_cost: float | None = None) -> Inputs:
    """A copy of the inputs planned under another limit on the number of projects (None: no
    limit) and, when given, another cost of procuring a project."""
    policy = {"max_projects": max_projects} | ({} if project_cost is None else {"project_cost": project_cost})
    s = inputs.scenario
    return Inputs(s.model_copy(update={"policy": s.policy.model_copy(update=policy)}), inputs.catalog, inputs.path)
