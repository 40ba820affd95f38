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
