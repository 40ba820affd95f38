"""Near-optimal alternatives: plans almost as good as the best one that differ from it and
from each other, so a board can choose on grounds the model does not see."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from optimizer.core.greedy import greedy_plan
from optimizer.core.model import build_model
from optimizer.core.problem import expand
from optimizer.core.result import PlanResult
from optimizer.core.run import plan_model, solve_and_check
from optimizer.core.status import SolveOptions
from optimizer.data.inputs import Inputs
from optimizer.errors import NoFeasiblePlan

DIFFERENCE_COLUMNS = ["alternative", "risk_reduced", "shortfall_points", "as_good", "items_added", "items_dropped",
                      "added", "dropped", "value"]


@dataclass
class Alternatives:
    """The best plan and the alternatives found.

    Attributes
    ----------
    best : PlanResult
    plans : list of PlanResult
        Alternatives, best first; each within ``within`` of the best value and differing
        from the best and from every other one in at least ``min_difference`` items.
    differences : DataFrame
        For each alternative: items added and dropped against the best plan, value and its
        shortfall from the best in percent.
    """

    best: PlanResult
    plans: list[PlanResult]
    differences: pd.DataFrame
    within: float


def _keys(result: PlanResult) -> set[tuple[str, str]]:
    return set(zip(result.plan.items["measure_id"], result.plan.items["site_id"]))


def alternatives(inputs: Inputs, within: float = 0.02, count: int = 3, min_difference: int = 1,
                 options: SolveOptions = SolveOptions()) -> Alternatives:
    """Find up to ``count`` plans within ``within`` (a fraction) of the best value.

    Each alternative is the best plan that keeps the value floor and differs in at least
    ``min_difference`` items (measure at a place, in place by the horizon's end) from the
    best and from every alternative before it.
    """
    problem = expand(inputs)
    model = build_model(problem)
    best = plan_model(inputs, model, greedy_plan(problem), options)
    if best.plan is None:
        raise NoFeasiblePlan("alternatives")
    gain = best.value - best.baseline_value
    model.add_value_floor((1 - within) * (best.report.objective or gain))
    found: list[PlanResult] = []
    previous = best
    for k in range(count):
        model.add_no_good_cut(set(previous.plan.installs), min_difference, f"differ_{k}")
        result = solve_and_check(model, None, options)  # whole: the value floor ties every school together
        if result.plan is None:
            break
        found.append(result)
        previous = result
    return Alternatives(best, found, _differences(best, found), within)


def _differences(best: PlanResult, found: list[PlanResult]) -> pd.DataFrame:
    """Each alternative against the best plan, in a board's words: the modelled risk it reduces,
    how many points less than the best (never negative: an alternative the solves cannot tell
    from the best, within their proven gaps, is said to be as good), and the items it adds and
    drops, by measure and school name."""
    names, schools = _measure_names(best, found), best.school_names()
    slack = max(best.report.gap or 0.0, *[r.report.gap or 0.0 for r in found]) * best.gap_closed
    rows = []
    for i, r in enumerate(found, 1):
        added, dropped = _keys(r) - _keys(best), _keys(best) - _keys(r)
        points = 100 * (best.gap_closed - r.gap_closed)
        rows.append({"alternative": i, "risk_reduced": r.gap_closed, "shortfall_points": max(points, 0.0),
                     "as_good": points <= 100 * slack,
                     "items_added": len(added), "items_dropped": len(dropped),
                     "added": "; ".join(f"{names[m]} at {schools.get(s, s)}" for m, s in sorted(added)),
                     "dropped": "; ".join(f"{names[m]} at {schools.get(s, s)}" for m, s in sorted(dropped)),
                     "value": r.value})
    return pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS)


def _measure_names(best: PlanResult, found: list[PlanResult]) -> dict[str, str]:
    items = pd.concat([r.plan.items[["measure_id", "name"]] for r in (best, *found)])
    return dict(zip(items["measure_id"], items["name"]))
