"""Which purchases hold under every evidence stance, and which depend on opinion: the plan
solved with expert-consensus and no-evidence measures counted in full, reduced and not at
all (see :mod:`optimizer.data.stances`)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from optimizer.core.result import PlanResult
from optimizer.core.run import optimize
from optimizer.core.status import SolveOptions
from optimizer.data.inputs import Inputs
from optimizer.data.overrides import apply_overrides
from optimizer.data.stances import STANCES
from optimizer.errors import NoFeasiblePlan

#: Verdicts, from the firmest to the weakest.
HOLDS = "holds under every stance"
OPINION = "depends on opinion"
EVIDENCE = "chosen when opinion counts less"
STANCE_COLUMNS = ["measure_id", "name", "evidence", *STANCES, "verdict"]


def with_stance(inputs: Inputs, stance: str) -> Inputs:
    """A copy of the inputs planned under another evidence stance."""
    return apply_overrides(inputs, stance=stance)


def verdict(chosen_under: set[str]) -> str:
    """The verdict of a measure from the stances under which the plan buys it."""
    if chosen_under == set(STANCES):
        return HOLDS
    if "full" in chosen_under and "evidence_only" not in chosen_under:
        return OPINION
    return EVIDENCE if chosen_under else ""


@dataclass
class StanceCheck:
    """The plan under each stance and, per measure bought under any, at how many places.

    Attributes
    ----------
    table : DataFrame
        One row per measure bought under at least one stance (``STANCE_COLUMNS``): places
        bought under each stance, and the verdict.
    plans : dict of str to PlanResult
        The verified plan under each stance.
    """

    table: pd.DataFrame
    plans: dict[str, PlanResult]


def stance_check(inputs: Inputs, options: SolveOptions = SolveOptions(),
                 known: PlanResult | None = None) -> StanceCheck:
    """Plan the scenario under each evidence stance and compare what is bought; ``known`` is
    the scenario's own plan (under its own stance), when the caller has it already."""
    plans = {}
    own = inputs.scenario.policy.evidence_stance
    for stance in STANCES:
        result = (known if known is not None and stance == own
                  else optimize(with_stance(inputs, stance), options))
        if result.plan is None:
            raise NoFeasiblePlan(f"the plan under the '{stance}' evidence stance")
        plans[stance] = result
    counts = {stance: r.plan.items["measure_id"].value_counts() for stance, r in plans.items()}
    bought = sorted(set().union(*(set(c.index) for c in counts.values())))
    rows = []
    for mid in bought:
        m = inputs.catalog.measures[mid]
        places = {stance: int(counts[stance].get(mid, 0)) for stance in STANCES}
        rows.append({"measure_id": mid, "name": m.name, "evidence": m.evidence, **places,
                     "verdict": verdict({s for s, n in places.items() if n})})
    return StanceCheck(pd.DataFrame(rows, columns=STANCE_COLUMNS), plans)
